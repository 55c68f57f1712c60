"""Whole (non-streaming) responses: bytes, JSON, `Status` errors and Go-style plain-text errors.

JSON is written as kube-apiserver writes it: Go's encoding/json escapes `<`, `>`, `&`, U+2028 and U+2029
inside strings, and its serializer ends every document with a newline.
"""
from __future__ import annotations

from collections.abc import Sequence

import orjson

from apiserver.http.asgi import Send
from apiserver.meta.errors import ApiError

APPLICATION_JSON = b"application/json"
TEXT_PLAIN = b"text/plain; charset=utf-8"
NOSNIFF = (b"x-content-type-options", b"nosniff")

Headers = Sequence[tuple[bytes, bytes]]

_GO_ESCAPES = (
    (b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"),
)


def encode_json(value: object, *, indent: bool = False) -> bytes:
    """JSON bytes as Go's encoding/json would write them (compact, or MarshalIndent with two spaces).

    The escaped characters can only occur inside JSON strings, so replacing their bytes is exact.
    """
    data = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    for raw, escaped in _GO_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


async def send_bytes(send: Send, status: int, body: bytes, *, content_type: bytes, headers: Headers = ()) -> None:
    """Send a complete response with a Content-Length."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body)), *headers],
    })
    await send({"type": "http.response.body", "body": body})


async def send_chunks(
    send: Send, status: int, chunks: Sequence[bytes], *, content_type: bytes, headers: Headers = ()
) -> None:
    """Send a response whose body is `chunks` in order, with the Content-Length of them all.

    Large bodies (lists) go out piece by piece, so none is copied into one buffer first."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", b"%d" % sum(map(len, chunks))), *headers],
    })
    last = len(chunks) - 1
    for index, chunk in enumerate(chunks):
        await send({"type": "http.response.body", "body": chunk, "more_body": index < last})
    if not chunks:
        await send({"type": "http.response.body", "body": b""})


async def send_json(send: Send, status: int, value: object, *, headers: Headers = ()) -> None:
    """Send `value` as upstream's JSON serializer does: compact, newline-terminated, `application/json`."""
    await send_bytes(send, status, encode_json(value) + b"\n", content_type=APPLICATION_JSON, headers=headers)


async def send_status(send: Send, error: ApiError) -> None:
    """Send `error` as its `Status` body with its code, and `Retry-After` when it asks for one."""
    headers = [(b"retry-after", b"%d" % error.retry_after_seconds)] if error.retry_after_seconds > 0 else []
    await send_json(send, error.code, error.to_status(), headers=headers)


async def send_plain_error(send: Send, status: int, text: str, *, headers: Headers = ()) -> None:
    """Send `text` the way Go's http.Error does: plain text, `nosniff`, and a trailing newline."""
    body = text.encode("utf-8", "surrogateescape") + b"\n"
    await send_bytes(send, status, body, content_type=TEXT_PLAIN, headers=[NOSNIFF, *headers])
