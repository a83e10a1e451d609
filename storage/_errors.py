"""The one exception the storage package raises for stores it cannot use."""


class StorageError(ValueError):
    """A store that is missing, corrupt, or made for another dataset identity.

    A ValueError so that the CLI can report it as bad input (one line, exit 2).
    """
