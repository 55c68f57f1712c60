"""Object dumps: every stored key of one backend written to a file, and loaded into another backend.

This is how a cluster moves from the embedded SQLite store to etcd (or back): `manage.py exportobjects` on the
old store, `manage.py importobjects` on the new, empty one. It works on stored values, below the registry, so
everything a key holds travels unchanged: UIDs, creationTimestamps, generations, managedFields,
ownerReferences, finalizers, custom resources in their stored versions, and the service IP and node-port
allocation bitmaps at `<prefix>/ranges/...`. Only resourceVersions change: they are the new store's revisions
(stored values carry none; see registry/codec.py).

The dump is JSON lines, in key order:

    {"kind": "ObjectDump", "apiVersion": "pilothouse.dev/v1", "prefix": "/registry", "revision": 812}
    {"key": "namespaces/default", "object": {...}}
    {"key": "ranges/serviceips", "object": {...}}
    {"key": "some/foreign/key", "data": "<base64>"}
    {"kind": "ObjectDumpEnd", "count": 2}

Keys are relative to the storage prefix, so a dump loads under any `--etcd-prefix`. A value is written as
`object` when it is a JSON object that re-encodes to exactly its stored bytes, otherwise as `data` (base64), so
an import writes back byte-identical values. Values are plain text in the dump: Secrets are decrypted through
the exporting server's encryption providers and encrypted again through the importing server's. Master leases
(`<prefix>/masterleases/`) are left out: each names a running server and expires within seconds.

An import reads the whole file once before writing anything (a truncated or malformed dump changes nothing),
refuses a target holding any key under its prefix unless forced, and reads every key back afterwards.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from apiserver.storage.errors import KeyExists
from apiserver.storage.interface import KeyValue, Storage

API_VERSION = "pilothouse.dev/v1"
HEADER_KIND = "ObjectDump"
TRAILER_KIND = "ObjectDumpEnd"
SKIPPED_PATHS = ("masterleases/",)
ENCRYPTED_PREFIX = b"k8s:enc:"
PAGE_SIZE = 500
WRITE_BATCH = 64  # concurrent writes: the SQLite writer commits them together, etcd pipelines them


class DumpError(Exception):
    """The dump or the target is unusable; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Record:
    """One stored key: `key` relative to the prefix, `value` the plain stored bytes."""

    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class ExportResult:
    count: int
    revision: int
    skipped: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    count: int
    replaced: int
    verified: int


def root_of(prefix: str) -> str:
    return prefix.rstrip("/") + "/"


# --- export ---------------------------------------------------------------------------------------------------


async def pages_of(storage: Storage, prefix: str) -> AsyncIterator[tuple[int, list[Record], int]]:
    """(revision, records, skipped) per page: every key under `prefix` at one revision, in key order.

    Raises DumpError for a value that is still encrypted (the store was written with encryption at rest and no
    provider configuration was given to read it).
    """
    root = root_of(prefix)
    revision, start = 0, ""
    while True:
        page = await storage.list(root, revision=revision, limit=PAGE_SIZE, start=start)
        revision = page.revision
        records: list[Record] = []
        for kv in page.items:
            _refuse_encrypted(kv)
            records.append(Record(kv.key[len(root):], kv.value))
        kept = [record for record in records if not record.key.startswith(SKIPPED_PATHS)]
        yield revision, kept, len(records) - len(kept)
        if not page.more or not page.items:
            return
        start = page.items[-1].key + "\x00"


def _refuse_encrypted(kv: KeyValue) -> None:
    if kv.value.startswith(ENCRYPTED_PREFIX):
        raise DumpError(f"{kv.key} is encrypted at rest: pass the --encryption-provider-config the servers use")


async def export_objects(storage: Storage, prefix: str, out: IO[bytes]) -> ExportResult:
    """Write the dump of every key under `prefix` to `out`, one page at a time."""
    count = skipped = revision = 0
    started = False
    async for revision, records, page_skipped in pages_of(storage, prefix):
        if not started:
            header = {"kind": HEADER_KIND, "apiVersion": API_VERSION, "prefix": prefix, "revision": revision}
            out.write(_line(header))
            started = True
        for record in records:
            out.write(_line(encode_record(record)))
        count += len(records)
        skipped += page_skipped
    out.write(_line({"kind": TRAILER_KIND, "apiVersion": API_VERSION, "count": count}))
    return ExportResult(count, revision, skipped)


def encode_record(record: Record) -> dict[str, Any]:
    """`object` when the value is a JSON object that re-encodes byte for byte, `data` otherwise."""
    try:
        decoded = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and orjson.dumps(decoded) == record.value:
        return {"key": record.key, "object": decoded}
    return {"key": record.key, "data": base64.b64encode(record.value).decode()}


def _line(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document) + b"\n"


# --- reading a dump -------------------------------------------------------------------------------------------


def read_dump(path: Path) -> tuple[dict[str, Any], int]:
    """(header, count) of a complete, well-formed dump; DumpError naming the first problem otherwise."""
    header: dict[str, Any] | None = None
    count = 0
    for number, document in _documents(path):
        if header is None:
            header = _header(document, path)
        elif document.get("kind") == TRAILER_KIND:
            if document.get("count") != count:
                raise DumpError(f"{path}: the dump ends after {count} objects but its trailer says "
                                f"{document.get('count')}")
            return header, count
        else:
            decode_record(document, path, number)
            count += 1
    raise DumpError(f"{path}: the dump is incomplete (no {TRAILER_KIND} line after {count} objects)")


def _header(document: dict[str, Any], path: Path) -> dict[str, Any]:
    if document.get("kind") != HEADER_KIND or document.get("apiVersion") != API_VERSION:
        raise DumpError(f"{path}: not an object dump (the first line is not kind {HEADER_KIND}, "
                        f"apiVersion {API_VERSION})")
    return document


def records_of(path: Path) -> Iterator[Record]:
    """The records of a dump already checked by `read_dump`, in file order."""
    documents = _documents(path)
    next(documents, None)  # the header
    for number, document in documents:
        if document.get("kind") == TRAILER_KIND:
            return
        yield decode_record(document, path, number)


def decode_record(document: dict[str, Any], path: Path, number: int) -> Record:
    key = document.get("key")
    if not isinstance(key, str) or not key or key.startswith("/"):
        raise DumpError(f"{path}:{number}: a record needs a relative key")
    if isinstance(document.get("object"), dict):
        return Record(key, orjson.dumps(document["object"]))
    try:
        return Record(key, base64.b64decode(document["data"], validate=True))
    except (KeyError, TypeError, binascii.Error):
        raise DumpError(f"{path}:{number}: {key} has neither an object nor base64 data") from None


def _documents(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise DumpError(f"{path}:{number}: not JSON ({error})") from None
            if not isinstance(document, dict):
                raise DumpError(f"{path}:{number}: not a JSON object")
            yield number, document


# --- import ---------------------------------------------------------------------------------------------------


async def count_keys(storage: Storage, prefix: str) -> tuple[int, str]:
    """How many keys the target holds under `prefix` (master leases aside), and the first of them."""
    root = root_of(prefix)
    count, first, start = 0, "", ""
    while True:
        page = await storage.list(root, limit=PAGE_SIZE, start=start)
        for kv in page.items:
            if not kv.key[len(root):].startswith(SKIPPED_PATHS):
                count += 1
                first = first or kv.key
        if not page.more or not page.items:
            return count, first
        start = page.items[-1].key + "\x00"


async def import_objects(storage: Storage, prefix: str, path: Path, *, force: bool = False) -> ImportResult:
    """Load the dump at `path` under `prefix`, then read every key back.

    Raises DumpError before writing anything when the dump is incomplete or malformed, or when the target holds
    keys and `force` is False; after writing, when a key reads back different from the dump.
    """
    _, count = read_dump(path)
    existing, first = await count_keys(storage, prefix)
    if existing and not force:
        raise DumpError(f"the target storage is not empty: {existing} keys under {root_of(prefix)} (the first is "
                        f"{first}); import into an empty store, or pass --force to overwrite the dump's keys")
    root = root_of(prefix)
    replaced = 0
    batch: list[Record] = []
    for record in records_of(path):
        batch.append(record)
        if len(batch) == WRITE_BATCH:
            replaced += await _write_batch(storage, root, batch)
            batch = []
    replaced += await _write_batch(storage, root, batch)
    verified = await verify_import(storage, prefix, path)
    if verified != count:
        raise DumpError(f"imported {count} objects but {verified} read back")
    return ImportResult(count, replaced, verified)


async def _write_batch(storage: Storage, root: str, batch: list[Record]) -> int:
    replaced = await asyncio.gather(*(_write(storage, root + record.key, record.value) for record in batch))
    return sum(replaced)


async def _write(storage: Storage, key: str, value: bytes) -> bool:
    """Create `key`; overwrite it when it exists (only reachable with --force). True when it replaced a value."""
    try:
        await storage.create(key, value)
        return False
    except KeyExists:
        pass
    while True:
        current = await storage.get(key)
        if current is None:
            try:
                await storage.create(key, value)
                return True
            except KeyExists:
                continue
        await storage.update(key, value, expected=current.mod_revision)
        return True


async def verify_import(storage: Storage, prefix: str, path: Path) -> int:
    """How many records of the dump read back from `storage` with exactly their dumped value."""
    stored: dict[str, bytes] = {}
    async for _, records, _ in pages_of(storage, prefix):
        stored.update((record.key, _digest(record.value)) for record in records)
    verified = 0
    for record in records_of(path):
        if stored.get(record.key) != _digest(record.value):
            raise DumpError(f"{root_of(prefix)}{record.key} does not read back as it was imported")
        verified += 1
    return verified


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()
