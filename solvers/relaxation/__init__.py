"""SOR whose relaxation factor is learned across a sequence (Khodak et al., ICLR 2024).

Red-black SOR/SSOR sweeps on the batched lanes (``solvers.batched``), a lexicographic CSR
fallback, SSOR-preconditioned CG, and the bandits (Tsallis-INF, ChebCB, Thompson sampling on
a Gaussian process) that choose omega per system from the iterations it cost.
"""

from ._bandits import (
    BANDITS,
    DEFAULT_ARMS,
    ChebCB,
    GPThompson,
    Pull,
    TsallisINF,
    load_bandit,
)
from ._kernels import check_omega, colours, sor_sweep, sor_sweep_csr, ssor_apply
from ._solvers import (
    SOR,
    SSORPCG,
    SORBandit,
    SORBanditContextual,
    SORBanditSmooth,
    SSORPCGBandit,
    SSORPCGBanditContextual,
    SSORPCGBanditSmooth,
    dominance_decades,
    golden_section,
    optimal_omega,
    young_omega,
)

__all__ = [
    "BANDITS",
    "DEFAULT_ARMS",
    "SOR",
    "SSORPCG",
    "ChebCB",
    "GPThompson",
    "Pull",
    "SORBandit",
    "SORBanditContextual",
    "SORBanditSmooth",
    "SSORPCGBandit",
    "SSORPCGBanditContextual",
    "SSORPCGBanditSmooth",
    "TsallisINF",
    "check_omega",
    "colours",
    "dominance_decades",
    "golden_section",
    "load_bandit",
    "optimal_omega",
    "sor_sweep",
    "sor_sweep_csr",
    "ssor_apply",
    "young_omega",
]
