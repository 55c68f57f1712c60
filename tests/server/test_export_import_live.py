"""The migration the README describes, for real: a server on SQLite with Secrets encrypted at rest is exported,
imported into etcd (under another encryption key), served from there with the same UIDs and allocations, then
exported again and imported into a fresh SQLite store without losing a byte."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.etcd import EtcdProcess
from tests.support.server import ROOT, VENV_PYTHON, ServerProcess

NAMESPACE = "migrated"
ENCRYPTION_CONFIG = """\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aescbc:
      keys: [{name: %s, secret: %s}]
  - identity: {}
"""
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object", "properties": {
                     "size": {"type": "integer"}}}}}}}]},
}
OBJECTS = [  # (collection path, body), created in order
    ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
    (f"/api/v1/namespaces/{NAMESPACE}/configmaps",
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "blue"}}),
    (f"/api/v1/namespaces/{NAMESPACE}/secrets",
     {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "credentials"},
      "stringData": {"password": "correct horse battery staple"}}),
    (f"/api/v1/namespaces/{NAMESPACE}/services",
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
      "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    (f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments",
     {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
      "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
          "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}),
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD),
    (f"/apis/example.com/v1/namespaces/{NAMESPACE}/widgets",
     {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}),
]
KEPT = ("uid", "creationTimestamp", "generation", "managedFields")


def encryption_file(directory: Path, key_name: str, key: bytes) -> Path:
    path = directory / f"encryption-{key_name}.yaml"
    path.write_text(ENCRYPTION_CONFIG % (key_name, base64.b64encode(key).decode()))
    return path


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "apiserver.settings",
           "PILOTHOUSE_SECRET_KEY": "tests-only-not-a-secret"}
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else "python")
    return subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def call(server: ServerProcess, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    status, _, raw = server.request(method, path, client_cert=True, body=data,
                                    headers={"Content-Type": "application/json"} if data else {})
    return status, json.loads(raw) if raw else None


def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert result, "condition not met in time"
    return result


def object_path(collection: str, body: dict[str, Any]) -> str:
    return f"{collection}/{body['metadata']['name']}"


def create_all(server: ServerProcess) -> dict[str, dict[str, Any]]:
    created = {}
    for collection, body in OBJECTS:
        if body["kind"] == "Widget":  # served once the CRD is established
            eventually(lambda path=collection: call(server, "GET", path)[0] == 200)
        status, obj = call(server, "POST", collection, body)
        assert status == 201, obj
        created[object_path(collection, body)] = obj
    return created


def records(dump: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in dump.read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def migration(tmp_path_factory: pytest.TempPathFactory, etcd: EtcdProcess) -> Iterator[dict[str, Any]]:
    """SQLite server → dump → etcd; yields what the tests compare, with a server running on the imported etcd."""
    base = tmp_path_factory.mktemp("migration")
    sqlite_key = encryption_file(base, "sqlitekey", b"0123456789abcdef0123456789abcdef")
    etcd_key = encryption_file(base, "etcdkey", b"fedcba9876543210fedcba9876543210")
    with ServerProcess(base / "sqlite", extra_args=["--encryption-provider-config", str(sqlite_key)]) as source:
        created = create_all(source)
    exported = manage("exportobjects", "--data-dir", str(base / "sqlite"), "--encryption-provider-config",
                      str(sqlite_key), "--output", str(base / "sqlite.jsonl"))
    assert exported.returncode == 0, exported.stderr
    prefix = f"/migrated-{uuid.uuid4().hex[:8]}"
    etcd_flags = ["--storage-backend", "etcd3", "--etcd-servers", etcd.url, "--etcd-prefix", prefix,
                  "--encryption-provider-config", str(etcd_key)]
    imported = manage("importobjects", "--data-dir", str(base / "etcd"), *etcd_flags,
                      "--input", str(base / "sqlite.jsonl"))
    assert imported.returncode == 0, imported.stderr
    again = manage("importobjects", "--data-dir", str(base / "etcd"), *etcd_flags,
                   "--input", str(base / "sqlite.jsonl"))
    target = ServerProcess(base / "etcd", storage_backend="etcd3", etcd_servers=etcd.url,
                           extra_args=etcd_flags[4:])
    with target:
        yield {"base": base, "created": created, "server": target, "etcd": etcd, "prefix": prefix,
               "etcd_flags": etcd_flags, "export": exported, "import": imported, "again": again}


def test_export_reports_what_it_wrote_and_keeps_secrets_in_clear(migration: dict[str, Any]) -> None:
    assert migration["export"].stderr.splitlines()[-1].startswith("exported ")
    dump = migration["base"] / "sqlite.jsonl"
    assert dump.stat().st_mode & 0o777 == 0o600
    secret = next(r for r in records(dump) if r.get("key") == f"secrets/{NAMESPACE}/credentials")
    assert base64.b64decode(secret["object"]["data"]["password"]) == b"correct horse battery staple"


def test_import_verifies_every_object_it_wrote(migration: dict[str, Any]) -> None:
    count = len(records(migration["base"] / "sqlite.jsonl")) - 1
    assert migration["import"].stderr.splitlines()[-1] == (
        f"imported {count} objects from {migration['base'] / 'sqlite.jsonl'}; {count} verified")


def test_second_import_into_the_filled_etcd_is_refused(migration: dict[str, Any]) -> None:
    assert migration["again"].returncode == 1
    assert migration["again"].stderr.splitlines()[-1].startswith(
        f"Error: the target storage is not empty: {len(records(migration['base'] / 'sqlite.jsonl')) - 1} keys "
        f"under {migration['prefix']}/")


def test_secret_is_encrypted_in_etcd_with_the_targets_key(migration: dict[str, Any]) -> None:
    key = base64.b64encode(f"{migration['prefix']}/secrets/{NAMESPACE}/credentials".encode()).decode()
    answer = httpx.post(f"{migration['etcd'].url}/v3/kv/range", json={"key": key}, timeout=5).json()
    raw = base64.b64decode(answer["kvs"][0]["value"])
    assert raw.startswith(b"k8s:enc:aescbc:v1:etcdkey:") and b"horse" not in raw


def test_server_on_imported_etcd_serves_objects_with_their_identity(migration: dict[str, Any]) -> None:
    server = migration["server"]
    for path, before in migration["created"].items():
        status, after = call(server, "GET", path)
        assert status == 200, (path, after)
        assert {k: after["metadata"].get(k) for k in KEPT} == {k: before["metadata"].get(k) for k in KEPT}, path
        assert after.get("spec") == before.get("spec") and after.get("data") == before.get("data"), path


def test_allocations_continue_without_collisions(migration: dict[str, Any]) -> None:
    server = migration["server"]
    old = migration["created"][f"/api/v1/namespaces/{NAMESPACE}/services/web"]["spec"]
    collection = f"/api/v1/namespaces/{NAMESPACE}/services"
    status, taken = call(server, "POST", collection, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "same-ip"},
        "spec": {"clusterIP": old["clusterIP"], "ports": [{"port": 80}]}})
    assert (status, taken["message"]) == (422, f'Service "same-ip" is invalid: spec.clusterIPs: Invalid value: '
                                               f'[]string{{"{old["clusterIP"]}"}}: failed to allocate IP '
                                               f'{old["clusterIP"]}: provided IP is already allocated')
    status, fresh = call(server, "POST", collection, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "next"},
        "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert status == 201, fresh
    assert fresh["spec"]["clusterIP"] != old["clusterIP"]
    assert fresh["spec"]["ports"][0]["nodePort"] != old["ports"][0]["nodePort"]


def test_etcd_to_sqlite_round_trip_keeps_every_record(migration: dict[str, Any]) -> None:
    base, flags = migration["base"], migration["etcd_flags"]
    exported = manage("exportobjects", "--data-dir", str(base / "etcd"), *flags, "--output", str(base / "etcd.jsonl"))
    assert exported.returncode == 0, exported.stderr
    sqlite_flags = ["--data-dir", str(base / "back"), "--encryption-provider-config",
                    str(base / "encryption-sqlitekey.yaml")]
    imported = manage("importobjects", *sqlite_flags, "--input", str(base / "etcd.jsonl"))
    assert imported.returncode == 0, imported.stderr
    again = manage("exportobjects", *sqlite_flags, "--output", str(base / "back.jsonl"))
    assert again.returncode == 0, again.stderr
    assert records(base / "back.jsonl") == records(base / "etcd.jsonl")
    widget = next(r for r in records(base / "back.jsonl") if r.get("key") == f"example.com/widgets/{NAMESPACE}/w1")
    created = migration["created"][f"/apis/example.com/v1/namespaces/{NAMESPACE}/widgets/w1"]
    assert widget["object"]["metadata"]["uid"] == created["metadata"]["uid"]
