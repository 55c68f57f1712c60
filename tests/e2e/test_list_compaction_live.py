"""Lists at a compacted resourceVersion on a live server: 410 Expired as kube-apiserver 1.32 answers them.

The storage is compacted from outside the server (etcd's Compact, or the SQLite file opened by this process), so
the server's watch cache still holds the compacted revisions: exact lists and continue tokens must answer 410 all
the same (upstream reads them from etcd), while lists the cache serves are unaffected.
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from typing import Any

import pytest

from apiserver.storage.backends import StorageOptions, open_storage
from tests.e2e.conftest import ROOT_CA_CONFIGMAP
from tests.registry.test_store_lists_compacted import CONTINUE_EXPIRED_MESSAGE, LIST_EXPIRED
from tests.support.server import ServerProcess


def call(server: ServerProcess, method: str, path: str, body: dict[str, Any] | None = None,
         **params: str) -> tuple[int, dict[str, Any]]:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    payload = json.dumps(body).encode() if body is not None else None
    status, _, raw = server.request(method, path + query, client_cert=True, body=payload,
                                    headers={"Content-Type": "application/json"} if payload else None)
    return status, json.loads(raw)


def configmaps_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps"


def make(server: ServerProcess, namespace: str, name: str) -> str:
    status, created = call(server, "POST", configmaps_path(namespace), {"metadata": {"name": name}})
    assert status == 201, created
    return str(created["metadata"]["resourceVersion"])


def names(listed: dict[str, Any]) -> list[str]:
    """The names listed, without the namespace's root CA ConfigMap (published by its controller)."""
    return [item["metadata"]["name"] for item in listed["items"] if item["metadata"]["name"] != ROOT_CA_CONFIGMAP]


def storage_options(server: ServerProcess) -> StorageOptions:
    if server.storage_backend == "etcd3":
        return StorageOptions(backend="etcd3", etcd_servers=(server.etcd_servers,))
    return StorageOptions(backend="sqlite", sqlite_path=str(server.data_dir / "state.db"), sqlite_synchronous="NORMAL")


async def compact_storage(options: StorageOptions) -> int:
    storage = await open_storage(options)
    try:
        revision = await storage.current_revision()
        await storage.compact(revision)
        return revision
    finally:
        await storage.close()


def compact_past(server: ServerProcess, namespace: str, revision: str) -> int:
    """Write once more, let the server's cache take every change, then compact the storage at its head."""
    latest = make(server, namespace, f"later-{revision}")
    status, _ = call(server, "GET", configmaps_path(namespace), resourceVersion=latest,
                     resourceVersionMatch="NotOlderThan")
    assert status == 200
    compacted = asyncio.run(compact_storage(storage_options(server)))
    assert compacted > int(revision)
    return compacted


def watched_types(server: ServerProcess, namespace: str, revision: str) -> list[str]:
    """The event types of a one-second watch from `revision` (ADDED... while the cache's window holds it)."""
    status, _, raw = server.request("GET", f"{configmaps_path(namespace)}?watch=1&resourceVersion={revision}"
                                           "&timeoutSeconds=1", client_cert=True, timeout=15)
    assert status == 200
    return [json.loads(line)["type"] for line in raw.splitlines() if line.strip()]


def test_an_exact_list_at_a_compacted_resource_version_is_gone(server: ServerProcess, namespace: str) -> None:
    version = make(server, namespace, "a")
    make(server, namespace, "b")
    status, listed = call(server, "GET", configmaps_path(namespace), resourceVersion=version,
                          resourceVersionMatch="Exact")
    assert (status, names(listed)) == (200, ["a"])
    compact_past(server, namespace, version)
    assert watched_types(server, namespace, version) == ["ADDED", "ADDED"]  # the cache still holds the revision
    assert call(server, "GET", configmaps_path(namespace), resourceVersion=version,
                resourceVersionMatch="Exact") == (410, LIST_EXPIRED)
    assert call(server, "GET", configmaps_path(namespace), resourceVersion=version, limit="1") == (410, LIST_EXPIRED)


def test_a_continue_token_at_a_compacted_resource_version_is_gone(server: ServerProcess, namespace: str) -> None:
    for name in "abc":
        make(server, namespace, name)
    status, first = call(server, "GET", configmaps_path(namespace), limit="1")
    assert status == 200 and names(first) == ["a"]
    compact_past(server, namespace, first["metadata"]["resourceVersion"])
    status, expired = call(server, "GET", configmaps_path(namespace), limit="1",
                           **{"continue": first["metadata"]["continue"]})
    assert status == 410
    token = expired["metadata"].pop("continue")
    assert expired == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": CONTINUE_EXPIRED_MESSAGE, "reason": "Expired", "code": 410}
    status, rest = call(server, "GET", configmaps_path(namespace), **{"continue": token})
    assert status == 200 and names(rest)[:2] == ["b", "c"]


@pytest.mark.parametrize(
    "params",
    [{"resourceVersionMatch": "NotOlderThan"}, {"resourceVersion": "0"}, {}],
    ids=["not-older-than", "any", "consistent"],
)
def test_lists_the_cache_serves_are_unaffected_by_compaction(server: ServerProcess, namespace: str,
                                                             params: dict[str, str]) -> None:
    version = make(server, namespace, "a")
    compact_past(server, namespace, version)
    query = {"resourceVersion": version, **params} if "resourceVersionMatch" in params else params
    deadline = time.monotonic() + 10
    while True:  # "0" may be served a moment before the cache has the latest write
        status, listed = call(server, "GET", configmaps_path(namespace), **query)
        assert status == 200, listed
        if names(listed) == ["a", f"later-{version}"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert names(listed) == ["a", f"later-{version}"]
