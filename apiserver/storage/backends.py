"""The table of storage backends and `open_storage`, the one way to get a `Storage`.

A new backend is one line in STORAGE_BACKENDS; the dotted path is imported lazily, so the etcd client is
never loaded by a server running on SQLite. A backend that reads over the network may also have a line in
STARTUP_READERS: `begin_startup_read` then starts its read of the whole prefix while the process starts
(storage/startup.py), and `open_storage` hands it to the backend through `StorageOptions.startup_snapshot`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from apiserver.storage.interface import Storage
from apiserver.storage.startup import StartupSnapshot

STORAGE_BACKENDS: dict[str, str] = {
    "sqlite": "apiserver.storage.sqlite.backend.SQLiteStorage",
    "etcd3": "apiserver.storage.etcd.backend.EtcdStorage",
    "memory": "apiserver.storage.memory.backend.MemoryStorage",
}

# SQLite reads are local (a range of 10k pods takes what decoding them takes): it has no start-up read.
STARTUP_READERS: dict[str, str] = {
    "etcd3": "apiserver.storage.etcd.startup.begin_startup_read",
}


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """What any backend may need; each backend reads only its own fields."""

    backend: str = "sqlite"
    sqlite_path: str = "var/state.db"
    sqlite_synchronous: str = "FULL"
    etcd_servers: tuple[str, ...] = ("http://127.0.0.1:2379",)
    etcd_cafile: str = ""
    etcd_certfile: str = ""
    etcd_keyfile: str = ""
    request_timeout: float = 5.0
    extra: dict[str, str] = field(default_factory=dict)
    # The read `begin_startup_read` began; the backend answers lists at its revision from it until it is released.
    startup_snapshot: StartupSnapshot | None = field(default=None, compare=False)


async def open_storage(options: StorageOptions) -> Storage:
    """Instantiate and connect the backend named by `options.backend`.

    Raises ValueError for an unknown backend name.
    """
    try:
        dotted = STORAGE_BACKENDS[options.backend]
    except KeyError:
        raise ValueError(f"unknown storage backend {options.backend!r}") from None
    module_name, _, class_name = dotted.rpartition(".")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    storage: Storage = await backend_class.open(options)
    return storage


def begin_startup_read(options: StorageOptions, prefix: str) -> StartupSnapshot | None:
    """Begin the backend's read of every key under `prefix` on a thread; None for a backend without one."""
    dotted = STARTUP_READERS.get(options.backend)
    if dotted is None:
        return None
    module_name, _, function_name = dotted.rpartition(".")
    begin = getattr(importlib.import_module(module_name), function_name)
    snapshot: StartupSnapshot = begin(options, prefix)
    return snapshot
