"""The one exception type the pdes package raises for bad input."""

__all__ = ["PDEError"]


class PDEError(ValueError):
    """Bad family name, grid, option or field; the message is one line a CLI can print as is."""
