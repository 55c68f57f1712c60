"""The table of storage backends and `open_storage`, the one way to get a `Storage`.

A new backend is one line in STORAGE_BACKENDS; the dotted path is imported lazily, so the etcd client is
never loaded by a server running on SQLite.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from apiserver.storage.interface import Storage

STORAGE_BACKENDS: dict[str, str] = {
    "sqlite": "apiserver.storage.sqlite.backend.SQLiteStorage",
    "etcd3": "apiserver.storage.etcd.backend.EtcdStorage",
    "memory": "apiserver.storage.memory.backend.MemoryStorage",
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
