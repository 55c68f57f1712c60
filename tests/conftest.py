"""Fixtures shared by every test package: a real etcd for the whole session."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.etcd import EtcdProcess


@pytest.fixture(scope="session")
def etcd() -> Iterator[EtcdProcess]:
    """A real single-member etcd, shared by the session; tests isolate themselves by key prefix."""
    process = EtcdProcess()
    process.start()
    yield process
    process.destroy()
