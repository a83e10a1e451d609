"""Zarr storage of pdeforge datasets: schema, create/open/resume, block writes.

Knows only arrays: no solver, PDE or Prefect imports.
"""

from ._dataset import Dataset, create_dataset, existing_dataset, open_dataset
from ._errors import StorageError
from ._schema import DONE, FAILED, PENDING

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "Dataset",
    "StorageError",
    "create_dataset",
    "existing_dataset",
    "open_dataset",
]
