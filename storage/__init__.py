"""Zarr storage of pdeforge datasets: schema, create/open/resume, block writes, readers.

Knows only arrays: no solver, PDE or Prefect imports. The torch reader is imported on
first use, so generating data never loads torch.
"""

from importlib import import_module

from ._atomic import atomic_path
from ._dataset import Dataset, create_dataset, existing_dataset, open_dataset
from ._errors import InterruptedGrowth, StorageError
from ._grow import grow_dataset
from ._ladder import create_ladder, ladder_rung, ladder_rungs, rung_name
from ._lock import lock_path, writer_lock
from ._schema import DONE, FAILED, PENDING
from ._stores import remove_partial_writes
from ._systems import SYSTEM_FORMATS, ExternalSystem, read_systems, systems_digest, write_system

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "SYSTEM_FORMATS",
    "ChunkShuffleSampler",
    "Dataset",
    "ExternalSystem",
    "InterruptedGrowth",
    "StorageError",
    "ZarrFieldDataset",
    "atomic_path",
    "create_dataset",
    "create_ladder",
    "existing_dataset",
    "grow_dataset",
    "ladder_rung",
    "ladder_rungs",
    "lock_path",
    "open_dataset",
    "read_systems",
    "remove_partial_writes",
    "rung_name",
    "split_indices",
    "systems_digest",
    "write_system",
    "writer_lock",
]

_TORCH = ("ChunkShuffleSampler", "ZarrFieldDataset", "split_indices")


def __getattr__(name: str):
    if name in _TORCH:
        return getattr(import_module("._torch", __name__), name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
