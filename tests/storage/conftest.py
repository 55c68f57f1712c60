"""The storage backends every conformance test runs against, each isolated by its own key prefix."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.interface import Storage

BACKENDS = ("memory", "sqlite", "etcd3")


def options_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> StorageOptions:
    """Options for one backend; etcd3 starts (once per session) the real etcd it needs."""
    if backend == "sqlite":
        return StorageOptions(backend="sqlite", sqlite_path=str(tmp_path / "storage" / "state.db"))
    if backend == "etcd3":
        etcd = request.getfixturevalue("etcd")
        return StorageOptions(backend="etcd3", etcd_servers=(etcd.url,))
    return StorageOptions(backend=backend)


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_storage(options_for(request.param, request, tmp_path))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses: the etcd is shared by the whole session."""
    return f"/t{uuid.uuid4().hex}/"


@pytest.fixture
def sqlite_options(tmp_path: Path) -> StorageOptions:
    """Options for a SQLite file of this test's own (tests of what is specific to SQLite)."""
    return StorageOptions(backend="sqlite", sqlite_path=str(tmp_path / "sqlite" / "state.db"))
