"""The surrogates package's bad-input error (the CLI maps it to exit code 2)."""

__all__ = ["SurrogateError"]


class SurrogateError(ValueError):
    """Bad input: an unknown model or option, a store the model cannot read, a bad recipe."""
