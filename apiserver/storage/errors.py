"""Storage errors: the only exceptions a `Storage` implementation raises to its callers.

`ResourceStore` translates them into API errors; nothing below the registry layer knows about Status.
"""
from __future__ import annotations


class StorageError(Exception):
    """Base of every storage error."""


class KeyExists(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFound(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionConflict(StorageError):
    """The key's current mod revision is not the expected one."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"revision conflict on {key}: expected {expected}, actual {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(StorageError):
    """The requested revision is older than the compacted revision."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"required revision {requested} has been compacted (compacted revision {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevision(StorageError):
    """The requested revision is newer than the store's current revision."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"required revision {requested} is a future revision (current revision {current})")
        self.requested = requested
        self.current = current


class StorageUnavailable(StorageError):
    """The backend cannot be reached or did not answer in time. Callers may retry later."""
