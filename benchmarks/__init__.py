"""The benchmark suite behind ``pdeforge bench`` (protocol in docs/benchmarks.md)."""

from .cases import CASES, Case
from .measure import SolverRun
from .runner import KINDS, run_case, run_suite

__all__ = ["CASES", "KINDS", "Case", "SolverRun", "run_case", "run_suite"]
