"""Zarr storage of pdeforge datasets: schema, create/open/resume, block writes, readers.

Knows only arrays: no solver, PDE or Prefect imports. The torch reader is imported on
first use, so generating data never loads torch.
"""

from importlib import import_module

from ._atomic import atomic_path
from ._checked import DamagedChunk, DamagedMetadata, WriteFailed
from ._dataset import Dataset, create_dataset, existing_dataset, open_dataset
from ._errors import InterruptedGrowth, StorageError
from ._grow import grow_dataset
from ._ladder import create_ladder, ladder_rung, ladder_rungs, rung_name
from ._lock import lock_path, writer_lock
from ._repair import (
    contiguous_runs,
    finish_repair,
    mark_pending,
    rebuild_metadata,
    rewrite_broken_chunks,
)
from ._schema import DONE, FAILED, IDENTITY_KEYS, PENDING, to_json
from ._stores import remove_partial_writes
from ._systems import SYSTEM_FORMATS, ExternalSystem, read_systems, systems_digest, write_system
from ._verify import Finding, VerifyReport, verify_store

__all__ = [
    "DONE",
    "FAILED",
    "IDENTITY_KEYS",
    "PENDING",
    "SPLITS",
    "SYSTEM_FORMATS",
    "ChunkShuffleSampler",
    "DamagedChunk",
    "DamagedMetadata",
    "Dataset",
    "ExternalSystem",
    "Finding",
    "InterruptedGrowth",
    "StorageError",
    "VerifyReport",
    "WriteFailed",
    "ZarrFieldDataset",
    "atomic_path",
    "contiguous_runs",
    "create_dataset",
    "create_ladder",
    "existing_dataset",
    "finish_repair",
    "grow_dataset",
    "ladder_rung",
    "ladder_rungs",
    "lock_path",
    "mark_pending",
    "open_dataset",
    "read_systems",
    "rebuild_metadata",
    "remove_partial_writes",
    "rewrite_broken_chunks",
    "rung_name",
    "split_indices",
    "split_positions",
    "to_json",
    "systems_digest",
    "verify_store",
    "write_system",
    "writer_lock",
]

_TORCH = ("SPLITS", "ChunkShuffleSampler", "ZarrFieldDataset", "split_indices",
          "split_positions")


def __getattr__(name: str):
    if name in _TORCH:
        return getattr(import_module("._torch", __name__), name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
