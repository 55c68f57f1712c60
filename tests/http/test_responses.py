"""Responses are written the way kube-apiserver (Go's encoding/json and net/http) writes them."""
from __future__ import annotations

from apiserver.http.responses import encode_json, send_json, send_plain_error, send_status
from apiserver.meta.errors import NotFound, TooManyRequests
from tests.http.asgi_harness import Response


def test_encode_json_escapes_like_go() -> None:
    assert encode_json({"m": "<a> & b\u2028\u2029é"}) == b'{"m":"\\u003ca\\u003e \\u0026 b\\u2028\\u2029\xc3\xa9"}'


def test_encode_json_indented_like_marshal_indent() -> None:
    assert encode_json({"a": "1", "b": {}}, indent=True) == b'{\n  "a": "1",\n  "b": {}\n}'


async def test_send_json_is_compact_and_newline_terminated() -> None:
    response = Response()
    await send_json(response.send, 201, {"kind": "ConfigMap"})
    assert (response.status, response.body, response.complete) == (201, b'{"kind":"ConfigMap"}\n', True)
    assert response.headers == [(b"content-type", b"application/json"), (b"content-length", b"21")]


async def test_send_status_writes_the_status_and_its_code() -> None:
    response = Response()
    await send_status(response.send, NotFound("pods", "a<b"))
    assert response.status == 404
    assert response.body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"pods \\"a\\u003cb\\" not found","reason":"NotFound",'
        b'"details":{"name":"a\\u003cb","kind":"pods"},"code":404}\n'
    )
    assert (b"retry-after", b"1") not in response.headers


async def test_send_status_sets_retry_after() -> None:
    response = Response()
    await send_status(response.send, TooManyRequests("wait", retry_after_seconds=1))
    assert response.status == 429
    assert (b"retry-after", b"1") in response.headers


async def test_send_plain_error_is_go_http_error() -> None:
    response = Response()
    await send_plain_error(response.send, 500, "boom")
    assert (response.status, response.body) == (500, b"boom\n")
    assert response.headers == [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"5"),
        (b"x-content-type-options", b"nosniff"),
    ]
