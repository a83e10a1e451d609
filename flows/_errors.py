"""The bad-input error of the flows package (the CLI prints it on one line, exit 2)."""

__all__ = ["SpecError"]


class SpecError(ValueError):
    """Bad input found before the run: the CLI prints it on one line and exits 2."""
