"""The watch cache's compact objects: the stored bytes stamped on demand must equal the full decode, byte for byte,
for any object `encode` writes, and anything else must take the full decode."""
from __future__ import annotations

import logging
import random
import string
from typing import Any

import orjson
import pytest

from apiserver.meta.selectors import FieldSelector, LabelSelector
from apiserver.registry import codec
from apiserver.registry.context import StoredObject
from apiserver.registry.selection import Selects
from apiserver.storage.interface import KeyValue

AWKWARD = ['"', "\\", "}", "{", ",", ":", "é", "\u2028", "<&>", "\\\"", "resourceVersion", '"resourceVersion":"1"']


def kv(value: bytes, revision: int = 7) -> KeyValue:
    return KeyValue("/registry/things/ns/a", value, 3, revision)


def _text(rng: random.Random) -> str:
    parts = [rng.choice(string.ascii_letters + string.digits + "-./") for _ in range(rng.randint(0, 12))]
    if rng.random() < 0.3:
        parts.insert(rng.randint(0, len(parts)), rng.choice(AWKWARD))
    return "".join(parts)


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        return rng.choice([_text(rng), rng.randint(-5, 10**12), True, None, 1.5])
    if roll < 0.7:
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def random_object(rng: random.Random) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for key in ("name", "generateName", "namespace", "selfLink", "uid", "generation", "creationTimestamp",
                "labels", "annotations", "finalizers", "managedFields", "zzUnknown"):
        if rng.random() < 0.5:
            metadata[key] = (_text(rng) if key not in ("labels", "annotations", "generation", "finalizers",
                                                        "managedFields")
                             else {_text(rng): _text(rng)} if key in ("labels", "annotations")
                             else rng.randint(1, 9) if key == "generation" else [_value(rng)])
    obj: dict[str, Any] = {}
    if rng.random() < 0.9:
        obj["apiVersion"] = rng.choice(["v1", "apps/v1", "example.com/v1", _text(rng)])
    if rng.random() < 0.9:
        obj["kind"] = rng.choice(["Pod", "Deployment", _text(rng)])
    if rng.random() < 0.95:
        obj["metadata"] = metadata
    for _ in range(rng.randint(0, 3)):
        obj[rng.choice(["spec", "data", "status", "rules", _text(rng)])] = _value(rng)
    return obj


@pytest.mark.parametrize("seed", range(4))
def test_compact_objects_serialise_and_decode_exactly_as_the_full_decode(seed: int) -> None:
    rng = random.Random(seed)
    for index in range(500):
        obj = random_object(rng)
        revision = rng.randint(1, 10**15)
        value = codec.encode(obj)
        full = codec.decode(kv(value, revision))
        compact = codec.decode_compact(kv(value, revision))
        assert full is not None and compact is not None, obj
        assert compact.json == full.json, (index, obj)
        assert compact.read() == full.obj
        assert compact.resource_version == str(revision) == full.resource_version
        assert (compact.api_version, compact.kind) == (full.api_version, full.kind)


def test_a_cached_pod_holds_only_its_stored_bytes_until_decoded() -> None:
    value = codec.encode({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": "ns", "uid": "u", "creationTimestamp": "t", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1"}})
    stored = codec.decode_compact(kv(value, 42))
    assert stored is not None and not stored.is_decoded
    assert orjson.loads(stored.json)["metadata"]["resourceVersion"] == "42"
    read = stored.read()
    assert read["metadata"]["resourceVersion"] == "42" and not stored.is_decoded
    assert stored.read() is not read  # a fresh dict every time: callers on serving paths may keep it
    assert stored.labels == {"app": "web"} and not stored.is_decoded
    assert stored.obj == read and stored.is_decoded
    assert stored.obj is stored.obj


def test_selectors_read_kept_labels_and_fields_without_decoding_the_object() -> None:
    value = codec.encode({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}},
                          "spec": {"nodeName": "n1"}})
    stored = codec.decode_compact(kv(value))
    assert stored is not None

    def node_name(obj: dict[str, Any]) -> str:
        return str(obj.get("spec", {}).get("nodeName", ""))

    selects = Selects(LabelSelector.parse("app=web"), FieldSelector.parse("spec.nodeName=n1"),
                      {"spec.nodeName": node_name})
    assert selects.stored(stored) and selects(stored.read())
    assert not Selects(LabelSelector.parse("app=db"), FieldSelector.parse(""), {}).stored(stored)
    assert not Selects(LabelSelector.parse(""), FieldSelector.parse("spec.nodeName=n2"),
                       {"spec.nodeName": node_name}).stored(stored)
    assert not stored.is_decoded


@pytest.mark.parametrize("value", [
    b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n"},"data":{"a":"b',  # truncated
    b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n"}}trailing',
    b"not json", b"[1,2]", b'{"metadata":[]}', b"\xff\xfe",
], ids=["truncated", "trailing", "garbage", "array", "bad-metadata", "binary"])
def test_values_not_written_by_encode_take_the_full_decode(value: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert codec.decode_compact(kv(value)) is None
    assert any(record.message == "codec_decode_failed" for record in caplog.records)


@pytest.mark.parametrize("value", [
    b'{"kind":"Thing","apiVersion":"v1","metadata":{"name":"n"}}',  # another writer's key order
    b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n","resourceVersion":"3"}}',  # a stored version
    b'{"apiVersion":"v1","kind":"Thing","metadata":{}}',
    b'{"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "n"}}',  # not compact
    b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":1}}',
], ids=["key-order", "stored-resource-version", "empty-metadata", "spaced", "number-name"])
def test_foreign_but_valid_values_decode_as_before(value: bytes) -> None:
    full = codec.decode(kv(value))
    compact = codec.decode_compact(kv(value))
    assert full is not None and compact is not None
    assert compact.json == full.json and compact.obj == full.obj


def test_read_only_compact_objects_refuse_changes() -> None:
    stored = codec.decode_compact(kv(b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n"},"data":{}}'),
                                  read_only=True)
    assert stored is not None
    with pytest.raises(TypeError):
        stored.read()["data"]["a"] = "b"
    with pytest.raises(TypeError):
        stored.obj["data"]["a"] = "b"


def test_eager_and_compact_objects_compare_by_their_json() -> None:
    value = b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n"}}'
    compact = codec.decode_compact(kv(value))
    full = codec.decode(kv(value))
    assert compact == full and hash(compact) == hash(full)
    assert compact != StoredObject.of({"apiVersion": "v1"})
