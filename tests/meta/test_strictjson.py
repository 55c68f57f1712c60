"""Duplicate keys: the cheap check never misses one, and the reports use upstream's paths and wording."""
from __future__ import annotations

import time

import orjson
import pytest

from apiserver.meta.strictjson import (
    Pairs,
    decode_strict,
    duplicate_json_fields,
    has_duplicate_keys,
    yaml_duplicate_keys,
)

NO_DUPLICATES = [
    b'{}',
    b'{"a":1,"b":{"a":2}}',
    b'{"time":"2024-01-02T03:04:05Z","url":"http://x:80/a","image":"nginx:1.25"}',
    b'{"k:ey": "v:a:l", "list": ["a:b", {"c": "d:e"}]}',
    b'{"annotation": "{\\"a\\":1,\\"b\\":2}"}',
    b'  {  "a" :  1 , "b" :  [ 1 , 2 ] }  ',
]
DUPLICATES = [
    b'{"a":1,"a":2}',
    b'{"spec":{"x":1,"y":2,"x":3}}',
    b'{"list":[{"name":"a","name":"b"}]}',
    b'{"a":"x:y","b":1,"a":"z"}',
    b'{"a\\u003a":1,"a:":2}',
]


@pytest.mark.parametrize("body", NO_DUPLICATES)
def test_documents_without_repeated_keys_decode_as_plain_dicts(body: bytes) -> None:
    document = decode_strict(body)
    assert not has_duplicate_keys(document)
    assert document == orjson.loads(body)


@pytest.mark.parametrize("body", DUPLICATES)
def test_repeated_keys_are_always_found(body: bytes) -> None:
    assert has_duplicate_keys(decode_strict(body))


def test_only_objects_that_repeat_a_key_keep_their_pairs_in_order() -> None:
    document = decode_strict(b'{"a":1,"b":{"c":2},"a":3}')
    assert isinstance(document, Pairs)
    assert [key for key, _ in document] == ["a", "b", "a"]
    assert type(document[1][1]) is dict


def test_untyped_duplicates_are_reported_with_their_paths() -> None:
    body = b'{"metadata":{"name":"a","name":"b"},"items":[{"x":1,"x":2}],"metadata":{}}'
    assert duplicate_json_fields(body) == [
        'duplicate field "metadata.name"', 'duplicate field "items[0].x"', 'duplicate field "metadata"',
    ]


def test_yaml_duplicate_keys_use_go_yaml_wording_and_value_lines() -> None:
    body = b"metadata:\n  name: a\n  name: b\nspec:\n  x: 1\nspec:\n  y: 2\n1: a\n1: b\n"
    assert yaml_duplicate_keys(body) == (
        "error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 3: key "name" already set in map\n'
        '  line 7: key "spec" already set in map\n'
        "  line 9: key 1 already set in map"
    )


def test_yaml_without_duplicates_and_non_yaml_report_nothing() -> None:
    assert yaml_duplicate_keys(b"a: 1\nb:\n  a: 2\n") is None
    assert yaml_duplicate_keys(b"a: [1\n") is None


def test_strict_decode_of_a_large_manifest_stays_cheap() -> None:
    containers = [{"name": f"c{i}", "image": f"registry.example:5000/app:{i}", "args": ["--a=b:c"] * 5}
                  for i in range(200)]
    body = orjson.dumps({"metadata": {"annotations": {"last-applied": "x:" * 500}}, "spec": {"containers": containers}})
    started = time.perf_counter()
    for _ in range(20):
        assert not has_duplicate_keys(decode_strict(body))
    # About 0.15 ms each on one core; the bound only catches a pathological slowdown.
    assert (time.perf_counter() - started) / 20 < 0.02
