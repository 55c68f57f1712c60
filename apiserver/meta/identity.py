"""The authenticated user as every layer reads it: upstream's user.Info, as a read-only protocol.

Authentication (auth/user.py) produces the concrete type; authorization and audit only read it. The protocol
lives here, below both, because sibling packages of one layer may not import each other.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class UserInfo(Protocol):
    """Name, uid, groups and extra of the user a request runs as. Read-only."""

    @property
    def name(self) -> str: ...

    @property
    def uid(self) -> str: ...

    @property
    def groups(self) -> Sequence[str]: ...

    @property
    def extra(self) -> Mapping[str, Sequence[str]]: ...
