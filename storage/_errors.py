"""The exceptions the storage package raises for stores it cannot use."""


class StorageError(ValueError):
    """A store that is missing, corrupt, or made for another dataset identity.

    A ValueError so that the CLI can report it as bad input (one line, exit 2).
    """


class InterruptedGrowth(StorageError):
    """A growth along ``sample`` cut short: growing again to ``target`` finishes it."""

    def __init__(self, url: str, n: int, target: int, chunk: int) -> None:
        super().__init__(f"{url}: growing it from {n} to {target} samples was interrupted; "
                         f"extend it to {target} again to finish")
        self.n, self.target, self.chunk = n, target, chunk
