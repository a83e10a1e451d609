"""The benchmark suite behind ``pdeforge bench`` (protocol in docs/benchmarks.md)."""

from .cases import CASES, Case
from .runner import SolverRun, run_case, run_suite

__all__ = ["CASES", "Case", "SolverRun", "run_case", "run_suite"]
