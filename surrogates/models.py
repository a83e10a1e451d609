"""Neural-operator architectures by name, wrapped so they work in physical units.

Every registered model takes a regular grid of any resolution (FNO, TFNO and U-NO from
neuraloperator): a model trained at 64x64 evaluates at 128x128 zero-shot. Options are
neuraloperator's keyword arguments, plus ``padding`` (= ``domain_padding``, the fraction
of the grid added on each side so the FFT does not see the Dirichlet boundary as periodic)
and ``non_linearity`` by name. Note that ``n_modes`` counts positive and negative
frequencies: ``n_modes=24`` keeps the FNO paper's 12 modes.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from neuralop.layers.spectral_convolution import SpectralConv
from neuralop.models import FNO, TFNO, UNO
from torch import nn

from .errors import SurrogateError
from .normalization import ChannelNormalizer

__all__ = ["MODELS", "NormalizedOperator", "build_model", "parameter_count", "register_model"]

Builder = Callable[..., nn.Module]
MODELS: dict[str, Builder] = {}
ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu, "tanh": torch.tanh}
_SET_BY_PDEFORGE = {"in_channels", "out_channels", "conv_module", "integral_operator"}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register ``builder(grid, in_channels, out_channels, **options)`` under ``name``."""

    def decorate(builder: Builder) -> Builder:
        MODELS[name] = builder
        return builder

    return decorate


class FullPrecisionSpectralConv(SpectralConv):
    """neuraloperator's spectral convolution, always in float32 (FFTs reject bfloat16), so
    mixed precision (``amp``) speeds up the pointwise layers without touching the spectrum."""

    def forward(self, x: torch.Tensor, output_shape: Any = None) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float(), output_shape=output_shape)


@register_model("fno")
def build_fno(grid: tuple[int, ...], in_channels: int, out_channels: int,
              **options: Any) -> nn.Module:
    """neuraloperator's FNO; the dimension (2-D or 3-D) follows the grid."""
    return _fno_family(FNO, grid, in_channels, out_channels, options)


@register_model("tfno")
def build_tfno(grid: tuple[int, ...], in_channels: int, out_channels: int,
               **options: Any) -> nn.Module:
    """FNO with Tucker-factorised spectral weights (neuraloperator's TFNO, rank 0.1 default)."""
    return _fno_family(TFNO, grid, in_channels, out_channels, options)


@register_model("uno")
def build_uno(grid: tuple[int, ...], in_channels: int, out_channels: int,
              **options: Any) -> nn.Module:
    """neuraloperator's U-NO: five layers at full, half, half, half and full resolution
    (widths w, 2w, 2w, 2w, w; modes m, m/2, m/2, m/2, m) with skips 0->4 and 1->3, unless
    ``uno_out_channels``/``uno_n_modes``/``uno_scalings`` give another U."""
    o = _translate(options)
    width = int(o.pop("hidden_channels", 32))
    modes = _modes(o.pop("n_modes", 16), grid)
    half = [max(1, m // 2) for m in modes]
    dim = len(grid)
    o.setdefault("uno_out_channels", [width, 2 * width, 2 * width, 2 * width, width])
    o.setdefault("uno_n_modes", [modes, half, half, half, modes])
    o.setdefault("uno_scalings", [[1.0] * dim, [0.5] * dim, [1.0] * dim, [2.0] * dim, [1.0] * dim])
    layers = len(o["uno_out_channels"])
    if int(o.setdefault("n_layers", layers)) != layers:
        raise SurrogateError(f"uno: n_layers={o['n_layers']} needs uno_out_channels, "
                             "uno_n_modes and uno_scalings of that length")
    o.setdefault("channel_mlp_skip", "linear")  # soft-gating needs equal widths in and out
    o.setdefault("lifting_channels", 2 * width)
    o.setdefault("projection_channels", 2 * width)
    return _construct(UNO, dict(in_channels=in_channels, out_channels=out_channels,
                                hidden_channels=width,
                                integral_operator=FullPrecisionSpectralConv), o)


def _fno_family(cls: type[nn.Module], grid: tuple[int, ...], in_channels: int,
                out_channels: int, options: dict[str, Any]) -> nn.Module:
    o = _translate(options)
    fixed = dict(n_modes=tuple(_modes(o.pop("n_modes", 16), grid)), in_channels=in_channels,
                 out_channels=out_channels, hidden_channels=int(o.pop("hidden_channels", 32)),
                 conv_module=FullPrecisionSpectralConv)
    return _construct(cls, fixed, o)


def _translate(options: dict[str, Any]) -> dict[str, Any]:
    """pdeforge's option names and values -> neuraloperator's."""
    o = dict(options)
    if "padding" in o:
        o["domain_padding"] = o.pop("padding") or None
    if isinstance(o.get("non_linearity"), str):
        name = o["non_linearity"]
        if name not in ACTIVATIONS:
            raise SurrogateError(f"unknown non_linearity {name!r}; known: {sorted(ACTIVATIONS)}")
        o["non_linearity"] = ACTIVATIONS[name]
    return o


def _modes(n_modes: int | list[int] | tuple[int, ...], grid: tuple[int, ...]) -> list[int]:
    """Per-axis modes, capped at the grid: more modes than grid points do not exist."""
    modes = [int(n_modes)] * len(grid) if isinstance(n_modes, int | float) else list(n_modes)
    if len(modes) != len(grid) or min(modes) < 1:
        raise SurrogateError(f"n_modes must be a positive int or one per axis of {grid}")
    return [min(m, s) for m, s in zip(modes, grid, strict=True)]


def _construct(cls: type[nn.Module], fixed: dict[str, Any], options: dict[str, Any]) -> nn.Module:
    """``cls(**fixed, **options)``; an option ``cls`` does not take is bad input, not a crash."""
    accepted = _keywords(cls) - _SET_BY_PDEFORGE - set(fixed)
    unknown = sorted(set(options) - accepted)
    if unknown:
        known = sorted(accepted | {"n_modes", "hidden_channels", "padding"})
        close = difflib.get_close_matches(unknown[0], known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"it takes {known}"
        raise SurrogateError(f"unknown option {unknown[0]!r} for model {cls.__name__}; {hint}")
    try:
        return cls(**fixed, **options)
    except (TypeError, ValueError, AssertionError) as exc:
        raise SurrogateError(f"{cls.__name__}: {exc}") from None


def _keywords(cls: type) -> set[str]:
    """Keyword names of ``cls``'s constructor; a ``*args, **kwargs`` subclass (TFNO) takes its
    parent's."""
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__).parameters.values()
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return {p.name for p in parameters} - {"self"}
    return set()


def build_model(
    name: str, grid: tuple[int, ...], in_channels: int, out_channels: int, **options: Any
) -> nn.Module:
    """Build a registered architecture; unknown names fail with the list of known ones."""
    if name not in MODELS:
        raise SurrogateError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](tuple(grid), in_channels, out_channels, **options)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


class NormalizedOperator(nn.Module):
    """Maps physical inputs to physical outputs: encode -> network -> decode.

    The network sees unit-scale data; losses and predictions are in physical units,
    and the normalisers travel in the state dict with the weights.
    """

    def __init__(
        self, net: nn.Module, in_normalizer: ChannelNormalizer, out_normalizer: ChannelNormalizer
    ) -> None:
        super().__init__()
        self.net = net
        self.in_normalizer = in_normalizer
        self.out_normalizer = out_normalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_normalizer.decode(self.net(self.in_normalizer.encode(x)).float())

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Tensors only: neuraloperator adds a "_metadata" entry of init kwargs (functions
        among them) that would stop checkpoints loading with ``weights_only=True``."""
        state = super().state_dict(*args, **kwargs)
        state.pop("_metadata", None)
        return state
