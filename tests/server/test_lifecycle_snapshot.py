"""A server assembled on etcd with a start-up snapshot (storage/startup.py): its watch caches fill from the snapshot
and then show every change made after it, and the snapshot is released once they have."""
from __future__ import annotations

import base64
import uuid
from pathlib import Path

import orjson

from apiserver.server.assembly import begin_startup_read, build_server
from apiserver.server.config import ServerConfig
from apiserver.storage.backends import StorageOptions
from apiserver.storage.encryption import EncryptedStorage
from apiserver.storage.encryption_config import parse_encryption_config, transformers_from_config
from apiserver.storage.errors import StorageUnavailable
from apiserver.storage.etcd.backend import EtcdStorage
from apiserver.storage.startup import StartupSnapshot
from tests.support.etcd import EtcdProcess


def config_map(name: str, value: str) -> bytes:
    return orjson.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4()),
                     "creationTimestamp": "2026-11-22T00:00:00Z"},
        "data": {"value": value},
    })


async def test_caches_fill_from_the_snapshot_and_follow_changes_made_after_it(etcd: EtcdProcess,
                                                                               tmp_path: Path) -> None:
    prefix = f"/t{uuid.uuid4().hex}/registry"
    raw = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(etcd.url,)))
    keys = {name: f"{prefix}/configmaps/default/{name}" for name in ("kept", "changed", "deleted", "added")}
    server = None
    try:
        for name in ("kept", "changed", "deleted"):
            await raw.create(keys[name], config_map(name, "before"))
        config = ServerConfig(data_dir=tmp_path, storage_backend="etcd3", etcd_servers=(etcd.url,),
                              etcd_prefix=prefix, etcd_compaction_interval=0)
        snapshot = begin_startup_read(config)
        assert snapshot is not None
        revision = await snapshot.wait(10.0)
        assert revision == await raw.current_revision()
        changed = await raw.get(keys["changed"])
        assert changed is not None
        await raw.update(keys["changed"], config_map("changed", "after"), expected=changed.mod_revision)
        await raw.delete(keys["deleted"])
        await raw.create(keys["added"], config_map("added", "after"))

        server = build_server(config, startup_snapshot=snapshot)
        await server.lifecycle.start()
        registry = server.lifecycle.registry
        cache = registry.cache_for("configmaps")  # type: ignore[attr-defined]
        assert cache is not None
        await cache.wait_until(await raw.current_revision(), 5.0)
        cached = {entry.kv.key.rsplit("/", 1)[1]: orjson.loads(entry.kv.value)["data"]["value"]
                  for entry in cache.list(start=f"{prefix}/configmaps/default/", end=f"{prefix}/configmaps/default0")
                  .items}
        assert cached == {"kept": "before", "changed": "after", "added": "after"}
        # Every cache listed from the snapshot (none asked etcd for its first list), and it is dropped now.
        assert snapshot.lists_served >= len({spec.storage_path for spec in server.catalog.specs  # type: ignore[union-attr]
                                             if not spec.virtual})
        assert snapshot.page(f"{prefix}/configmaps/", revision=revision) is None
    finally:
        if server is not None:
            await server.lifecycle.stop()
        await raw.close()


async def test_a_failed_snapshot_leaves_the_caches_to_list_from_etcd(etcd: EtcdProcess, tmp_path: Path) -> None:
    prefix = f"/t{uuid.uuid4().hex}/registry"
    raw = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(etcd.url,)))
    server = None
    try:
        await raw.create(f"{prefix}/configmaps/default/kept", config_map("kept", "before"))
        snapshot = StartupSnapshot(prefix + "/")
        snapshot.fail(StorageUnavailable("etcd http://127.0.0.1:1: UNAVAILABLE"))
        config = ServerConfig(data_dir=tmp_path, storage_backend="etcd3", etcd_servers=(etcd.url,),
                              etcd_prefix=prefix, etcd_compaction_interval=0)
        server = build_server(config, startup_snapshot=snapshot)
        await server.lifecycle.start()
        cache = server.lifecycle.registry.cache_for("configmaps")  # type: ignore[attr-defined]
        assert cache is not None and cache.get(f"{prefix}/configmaps/default/kept") is not None
        assert snapshot.lists_served == 0
    finally:
        if server is not None:
            await server.lifecycle.stop()
        await raw.close()


ENCRYPTION = """apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [configmaps]
  providers:
  - aescbc:
      keys:
      - name: key1
        secret: {secret}
"""


async def test_encrypted_objects_reach_the_caches_decrypted(etcd: EtcdProcess, tmp_path: Path) -> None:
    """The snapshot holds what etcd stores; the encryption layer above the backend decrypts what it answers."""
    prefix = f"/t{uuid.uuid4().hex}/registry"
    key = f"{prefix}/configmaps/default/sealed"
    text = ENCRYPTION.format(secret=base64.b64encode(bytes(range(32))).decode())
    (tmp_path / "encryption.yaml").write_text(text)
    raw = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(etcd.url,)))
    server = None
    try:
        sealed = EncryptedStorage(raw, transformers_from_config(parse_encryption_config(text)),
                                  resource_of=lambda key: "configmaps")
        await sealed.create(key, config_map("sealed", "secret value"))
        stored = await raw.get(key)
        assert stored is not None and stored.value.startswith(b"k8s:enc:aescbc:v1:key1:")
        config = ServerConfig(data_dir=tmp_path, storage_backend="etcd3", etcd_servers=(etcd.url,),
                              etcd_prefix=prefix, etcd_compaction_interval=0,
                              encryption_provider_config=str(tmp_path / "encryption.yaml"))
        snapshot = begin_startup_read(config)
        server = build_server(config, startup_snapshot=snapshot)
        await server.lifecycle.start()
        cache = server.lifecycle.registry.cache_for("configmaps")  # type: ignore[attr-defined]
        entry = cache.get(key) if cache is not None else None
        assert entry is not None and orjson.loads(entry.kv.value)["data"] == {"value": "secret value"}
        assert snapshot is not None and snapshot.lists_served > 0
    finally:
        if server is not None:
            await server.lifecycle.stop()
        await raw.close()
