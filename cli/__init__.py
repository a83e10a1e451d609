"""``pdeforge``: the command line of the pipeline, above the flows (and beside the
benchmarks it runs). ``main`` is the console script."""

from .app import app, main

__all__ = ["app", "main"]
