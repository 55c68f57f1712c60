"""Object dumps (apiserver/management/objectdump.py): what an export writes, what an import refuses, and that a
round trip between stores keeps every stored byte, with Secrets decrypted and encrypted again."""
from __future__ import annotations

import asyncio
import base64
import importlib
import io
import json
from pathlib import Path

import orjson
import pytest

from apiserver.management.objectdump import DumpError, export_objects, import_objects, read_dump
from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.encryption import EncryptedStorage
from apiserver.storage.encryption_config import parse_encryption_config, transformers_from_config
from apiserver.storage.interface import Storage
from apiserver.storage.memory.backend import MemoryStorage

PREFIX = "/registry"
UID = "7d3c1f9e-0b1a-4c1e-9d55-3f1f6d0a2b11"
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "demo", "uid": UID, "creationTimestamp": "2024-01-02T03:04:05Z"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "demo"},
          "data": {"password": "aHVudGVyMg=="}}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget",
          "metadata": {"name": "w", "namespace": "demo", "generation": 3,
                       "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": UID}],
                       "managedFields": [{"manager": "kubectl", "operation": "Apply"}]}}
SERVICE_IPS = {"kind": "RangeAllocation", "apiVersion": "v1", "metadata": {}, "range": "10.96.0.0/12",
               "data": "Aw=="}
ENCRYPTION = """
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: %s
      - identity: {}
"""


def encrypted(storage: Storage, key: bytes) -> EncryptedStorage:
    config = parse_encryption_config(ENCRYPTION % base64.b64encode(key).decode())
    return EncryptedStorage(storage, transformers_from_config(config), prefix=PREFIX)


async def filled(storage: Storage, prefix: str = PREFIX) -> Storage:
    for key, obj in [("namespaces/demo", NAMESPACE), ("secrets/demo/s", SECRET),
                     ("example.com/widgets/demo/w", WIDGET), ("ranges/serviceips", SERVICE_IPS)]:
        await storage.create(f"{prefix}/{key}", orjson.dumps(obj))
    await storage.create(f"{prefix}/ranges/odd", b"\x00not json")
    await storage.create(f"{prefix}/masterleases/10.0.0.1", b'{"kind":"Endpoints"}')
    return storage


async def dump_of(storage: Storage, path: Path, prefix: str = PREFIX) -> list[dict[str, object]]:
    out = io.BytesIO()
    await export_objects(storage, prefix, out)
    path.write_bytes(out.getvalue())
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def stored(storage: Storage, prefix: str = PREFIX) -> dict[str, bytes]:
    page = await storage.list(prefix.rstrip("/") + "/")
    return {kv.key[len(prefix):]: kv.value for kv in page.items}


async def test_export_writes_header_records_in_key_order_and_trailer(tmp_path: Path) -> None:
    lines = await dump_of(await filled(MemoryStorage()), tmp_path / "dump")
    assert lines[0] == {"kind": "ObjectDump", "apiVersion": "pilothouse.dev/v1", "prefix": "/registry",
                        "revision": 6}
    assert [line["key"] for line in lines[1:-1]] == [
        "example.com/widgets/demo/w", "namespaces/demo", "ranges/odd", "ranges/serviceips", "secrets/demo/s"]
    assert lines[-1] == {"kind": "ObjectDumpEnd", "apiVersion": "pilothouse.dev/v1", "count": 5}


async def test_export_keeps_objects_readable_and_other_values_as_base64(tmp_path: Path) -> None:
    records = {line["key"]: line for line in (await dump_of(await filled(MemoryStorage()), tmp_path / "d"))[1:-1]}
    assert records["namespaces/demo"] == {"key": "namespaces/demo", "object": NAMESPACE}
    assert records["ranges/odd"] == {"key": "ranges/odd", "data": base64.b64encode(b"\x00not json").decode()}


async def test_export_writes_as_base64_a_json_value_that_would_not_reencode_identically(tmp_path: Path) -> None:
    storage = MemoryStorage()
    await storage.create("/registry/configmaps/demo/c", b'{"kind": "ConfigMap"}')  # orjson writes no spaces
    lines = await dump_of(storage, tmp_path / "d")
    assert lines[1] == {"key": "configmaps/demo/c", "data": base64.b64encode(b'{"kind": "ConfigMap"}').decode()}


async def test_export_leaves_master_leases_out(tmp_path: Path) -> None:
    lines = await dump_of(await filled(MemoryStorage()), tmp_path / "d")
    assert all(not str(line.get("key", "")).startswith("masterleases/") for line in lines)


async def test_round_trip_keeps_every_value_byte_for_byte_under_another_prefix(tmp_path: Path) -> None:
    source = await filled(MemoryStorage())
    await dump_of(source, tmp_path / "dump")
    target = MemoryStorage()
    result = await import_objects(target, "/other", tmp_path / "dump")
    assert (result.count, result.replaced, result.verified) == (5, 0, 5)
    expected = {key: value for key, value in (await stored(source)).items() if not key.startswith("/masterleases")}
    assert await stored(target, "/other") == expected


async def test_secrets_are_plain_in_the_dump_and_encrypted_with_the_targets_key(tmp_path: Path) -> None:
    source_inner = MemoryStorage()
    await filled(encrypted(source_inner, bytes(32)))
    assert (await source_inner.get("/registry/secrets/demo/s")).value.startswith(b"k8s:enc:aescbc:v1:key1:")
    lines = await dump_of(encrypted(source_inner, bytes(32)), tmp_path / "dump")
    assert {"key": "secrets/demo/s", "object": SECRET} in lines
    target_inner = MemoryStorage()
    await import_objects(encrypted(target_inner, bytes(range(32))), PREFIX, tmp_path / "dump")
    raw = (await target_inner.get("/registry/secrets/demo/s")).value
    assert raw.startswith(b"k8s:enc:aescbc:v1:key1:") and b"aHVudGVyMg" not in raw
    decrypted = await encrypted(target_inner, bytes(range(32))).get("/registry/secrets/demo/s")
    assert orjson.loads(decrypted.value) == SECRET
    assert (await target_inner.get("/registry/namespaces/demo")).value == orjson.dumps(NAMESPACE)


async def test_export_refuses_values_still_encrypted(tmp_path: Path) -> None:
    inner = MemoryStorage()
    await filled(encrypted(inner, bytes(32)))
    with pytest.raises(DumpError) as caught:
        await export_objects(inner, PREFIX, io.BytesIO())
    assert str(caught.value) == ("/registry/secrets/demo/s is encrypted at rest: pass the "
                                 "--encryption-provider-config the servers use")


async def test_import_refuses_a_target_with_objects_and_changes_nothing(tmp_path: Path) -> None:
    await dump_of(await filled(MemoryStorage()), tmp_path / "dump")
    target = MemoryStorage()
    await target.create("/registry/namespaces/default", b"{}")
    with pytest.raises(DumpError) as caught:
        await import_objects(target, PREFIX, tmp_path / "dump")
    assert str(caught.value) == (
        "the target storage is not empty: 1 keys under /registry/ (the first is /registry/namespaces/default); "
        "import into an empty store, or pass --force to overwrite the dump's keys")
    assert list(await stored(target)) == ["/namespaces/default"]


async def test_import_ignores_master_leases_when_checking_the_target_is_empty(tmp_path: Path) -> None:
    await dump_of(await filled(MemoryStorage()), tmp_path / "dump")
    target = MemoryStorage()
    await target.create("/registry/masterleases/10.0.0.2", b"{}")
    assert (await import_objects(target, PREFIX, tmp_path / "dump")).count == 5


async def test_forced_import_overwrites_the_dumps_keys_and_keeps_the_others(tmp_path: Path) -> None:
    await dump_of(await filled(MemoryStorage()), tmp_path / "dump")
    target = MemoryStorage()
    await target.create("/registry/namespaces/demo", b'{"stale":true}')
    await target.create("/registry/namespaces/kept", b"{}")
    result = await import_objects(target, PREFIX, tmp_path / "dump", force=True)
    assert (result.count, result.replaced, result.verified) == (5, 1, 5)
    contents = await stored(target)
    assert contents["/namespaces/demo"] == orjson.dumps(NAMESPACE) and contents["/namespaces/kept"] == b"{}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind":"Namespace"}\n', "not an object dump (the first line is not kind ObjectDump, apiVersion "
                                   "pilothouse.dev/v1)"),
        ('{"kind":"ObjectDump","apiVersion":"pilothouse.dev/v1"}\n{"key":"a","object":{}}\n',
         "the dump is incomplete (no ObjectDumpEnd line after 1 objects)"),
        ('{"kind":"ObjectDump","apiVersion":"pilothouse.dev/v1"}\n{"key":"a","object":{}}\n'
         '{"kind":"ObjectDumpEnd","count":2}\n', "the dump ends after 1 objects but its trailer says 2"),
        ('{"kind":"ObjectDump","apiVersion":"pilothouse.dev/v1"}\n{"key":"a","obj',
         "2: not JSON (unexpected end of data: line 1 column 16 (char 15))"),
        ('{"kind":"ObjectDump","apiVersion":"pilothouse.dev/v1"}\n{"key":"/abs","object":{}}\n',
         "2: a record needs a relative key"),
        ('{"kind":"ObjectDump","apiVersion":"pilothouse.dev/v1"}\n{"key":"a","data":"!!"}\n',
         "2: a has neither an object nor base64 data"),
        ('{"kind":"ObjectDump","apiVersion":"pilothouse.dev/v1"}\n[1]\n', "2: not a JSON object"),
    ],
    ids=["not-a-dump", "truncated", "count-mismatch", "broken-line", "absolute-key", "bad-base64", "not-object"],
)
async def test_import_of_a_bad_dump_fails_before_writing_anything(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "dump"
    path.write_text(text)
    target = MemoryStorage()
    with pytest.raises(DumpError) as caught:
        await import_objects(target, PREFIX, path)
    separator = "" if message[0].isdigit() else " "
    assert str(caught.value) == f"{path}:{separator}{message}"
    assert await stored(target) == {}


async def test_blank_lines_in_a_dump_are_ignored(tmp_path: Path) -> None:
    await dump_of(await filled(MemoryStorage()), tmp_path / "dump")
    spaced = tmp_path / "spaced"
    spaced.write_bytes(b"\n" + (tmp_path / "dump").read_bytes().replace(b"\n", b"\n\n"))
    assert (await import_objects(MemoryStorage(), PREFIX, spaced)).verified == 5


async def test_read_dump_counts_the_records(tmp_path: Path) -> None:
    await dump_of(await filled(MemoryStorage()), tmp_path / "dump")
    header, count = read_dump(tmp_path / "dump")
    assert (header["prefix"], count) == ("/registry", 5)


def run_command(name: str, *args: str) -> int:
    module = importlib.import_module(f"apiserver.management.commands.{name}")
    with pytest.raises(SystemExit) as exited:
        module.Command().run_from_argv(["manage.py", name, *args])
    return int(exited.value.code or 0)


def test_help_lists_the_commands_own_flags_and_the_storage_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command("importobjects", "--help") == 0
    text = capsys.readouterr().out
    assert "Usage:\n  manage.py importobjects [flags]" in text and "help for importobjects" in text
    flags = [line.split()[0] for line in text.splitlines() if line.startswith("      --")]
    assert flags == ["--input", "--force", "--data-dir", "--encryption-provider-config", "--etcd-cafile",
                     "--etcd-certfile", "--etcd-keyfile", "--etcd-prefix", "--etcd-servers", "--storage-backend"]


def test_serve_flags_are_accepted_and_a_missing_input_is_a_flag_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command("importobjects", "--secure-port", "7443", "--data-dir", "unused") == 2
    assert capsys.readouterr().err == "Error: --input is required\n"


def test_unknown_flag_is_reported_as_pflag_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command("exportobjects", "--bogus") == 2
    assert capsys.readouterr().err == "Error: unknown flag: --bogus\n"


def test_export_of_a_data_dir_without_a_store_fails_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_command("exportobjects", "--data-dir", str(tmp_path / "none"), "--output", str(tmp_path / "d")) == 1
    assert capsys.readouterr().err == f"Error: {tmp_path / 'none' / 'state.db'}: no such store (check --data-dir)\n"
    assert list(tmp_path.iterdir()) == []


def test_sqlite_round_trip_through_the_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "source"
    asyncio.run(_fill_sqlite(source / "state.db"))
    assert run_command("exportobjects", "--data-dir", str(source), "--output", str(tmp_path / "dump")) == 0
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"exported 5 objects at revision 6 to {tmp_path / 'dump'} (1 master leases left out)")
    assert run_command("importobjects", "--data-dir", str(tmp_path / "target"), "--input", str(tmp_path / "dump")) == 0
    assert capsys.readouterr().err.splitlines()[-1] == f"imported 5 objects from {tmp_path / 'dump'}; 5 verified"
    assert run_command("importobjects", "--data-dir", str(tmp_path / "target"), "--input", str(tmp_path / "dump"),
                       "--force") == 0
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"imported 5 objects from {tmp_path / 'dump'}, 5 replaced; 5 verified")


async def _fill_sqlite(path: Path) -> None:
    storage = await open_storage(StorageOptions(backend="sqlite", sqlite_path=str(path)))
    try:
        await filled(storage)
    finally:
        await storage.close()
