"""A JSON list goes out in pieces that together are exactly the joined, Go-escaped list."""
from __future__ import annotations

import orjson

from apiserver.endpoints.answers import LIST_CHUNK_BYTES, go_escape, list_json, list_json_chunks
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.context import StoredObject
from apiserver.registry.listing import ListResult

CONFIGMAPS = ResourceCatalog(builtin_specs()).lookup("", "v1", "configmaps")


def _items(count: int, payload: str) -> list[StoredObject]:
    return [StoredObject.of({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": f"c{index}"},
                             "data": {"text": payload}}) for index in range(count)]


def test_pieces_join_to_the_whole_list_with_escapes_and_newline() -> None:
    assert CONFIGMAPS is not None
    payload = "a<b>&c\u2028d\u2029" + "x" * 4000
    result = ListResult(_items(200, payload), "42", continue_token="tok", remaining_item_count=3)
    chunks = list_json_chunks(CONFIGMAPS, result)
    assert len(chunks) > 2  # 200 items of ~4 KB are more than one piece
    assert all(len(chunk) < 2 * LIST_CHUNK_BYTES for chunk in chunks)
    body = b"".join(chunks)
    assert body == go_escape(list_json(CONFIGMAPS, result)) + b"\n"
    assert b"<" not in body and "\u2028".encode() not in body
    document = orjson.loads(body)
    assert [item["metadata"]["name"] for item in document["items"]] == [f"c{index}" for index in range(200)]
    assert document["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3}


def test_an_empty_list_is_one_document() -> None:
    assert CONFIGMAPS is not None
    body = b"".join(list_json_chunks(CONFIGMAPS, ListResult([], "7")))
    assert body == b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}\n'
