"""The storage codec: key order, resourceVersion left out of stored bytes and stamped on decode, corrupt values."""
from __future__ import annotations

import logging

import orjson
import pytest

from apiserver.registry import codec
from apiserver.storage.interface import KeyValue


def kv(value: bytes, revision: int = 7) -> KeyValue:
    return KeyValue("/registry/things/ns/a", value, 3, revision)


def test_encode_orders_keys_as_upstream_and_leaves_out_the_resource_version() -> None:
    obj = {
        "status": {"phase": "Active"},
        "spec": {"b": 1},
        "metadata": {"labels": {"z": "1", "a": "2"}, "resourceVersion": "5", "uid": "u", "name": "n",
                     "custom": True, "creationTimestamp": "2024-01-01T00:00:00Z", "namespace": "ns"},
        "kind": "Thing",
        "apiVersion": "v1",
        "data": {},
    }
    encoded = codec.encode(obj)
    assert encoded == (
        b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n","namespace":"ns","uid":"u",'
        b'"creationTimestamp":"2024-01-01T00:00:00Z","labels":{"a":"2","z":"1"},"custom":true},'
        b'"spec":{"b":1},"data":{},"status":{"phase":"Active"}}'
    )
    assert obj["metadata"]["resourceVersion"] == "5"  # the input is not changed


def test_decode_stamps_the_revision_in_its_place_and_serialises_once() -> None:
    stored = codec.decode(kv(b'{"apiVersion":"v1","kind":"Thing","metadata":{"name":"n","uid":"u",'
                             b'"creationTimestamp":"t"}}'))
    assert stored is not None
    assert list(stored.obj["metadata"]) == ["name", "uid", "resourceVersion", "creationTimestamp"]
    assert stored.obj["metadata"]["resourceVersion"] == "7"
    assert stored.json == orjson.dumps(stored.obj)


def test_decode_of_an_object_without_metadata_still_gets_a_resource_version() -> None:
    stored = codec.decode(kv(b'{"apiVersion":"v1","kind":"Thing"}'))
    assert stored is not None and stored.obj["metadata"] == {"resourceVersion": "7"}


@pytest.mark.parametrize("value", [b"not json", b"[1,2]", b'{"metadata":[]}', b"\xff\xfe"],
                         ids=["garbage", "array", "bad-metadata", "binary"])
def test_decode_never_raises_on_corrupt_values(value: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert codec.decode(kv(value)) is None
    assert any(record.message == "codec_decode_failed" for record in caplog.records)


def test_encoding_twice_gives_identical_bytes() -> None:
    obj = {"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "n", "annotations": {"b": "1", "a": "2"}}}
    once = codec.encode(obj)
    stored = codec.decode(kv(once))
    assert stored is not None
    assert codec.encode(stored.copy()) == once


def test_stored_object_copies_are_independent() -> None:
    stored = codec.decode(kv(b'{"metadata":{"name":"n"},"data":{"a":"b"}}'))
    assert stored is not None
    copied = stored.copy()
    copied["data"]["a"] = "changed"
    assert stored.obj["data"] == {"a": "b"}


def test_read_only_objects_refuse_changes_and_serialise_alike() -> None:
    value = b'{"metadata":{"name":"n","finalizers":["a"]},"data":{"a":"b"}}'
    frozen = codec.decode(kv(value), read_only=True)
    plain = codec.decode(kv(value))
    assert frozen is not None and plain is not None
    assert frozen.json == plain.json and orjson.dumps(frozen.obj) == plain.json
    with pytest.raises(TypeError):
        frozen.obj["data"]["a"] = "c"
    with pytest.raises(TypeError):
        frozen.obj["metadata"]["finalizers"].append("b")
    copied = frozen.copy()
    copied["data"]["a"] = "c"  # copies are ordinary, mutable dicts
