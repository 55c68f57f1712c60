"""Request: Go-compatible query parsing, headers, the request URI and the capped body."""
from __future__ import annotations

import pytest

from apiserver.http.request import ClientDisconnected, Request, parse_query, request_info_of, set_request_info
from apiserver.meta.errors import RequestEntityTooLarge
from apiserver.meta.requestinfo import RequestInfo
from tests.http.asgi_harness import Client, http_scope


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", {}),
        (b"verbose", {"verbose": [""]}),
        (b"verbose=", {"verbose": [""]}),
        (b"exclude=etcd&exclude=log", {"exclude": ["etcd", "log"]}),
        (b"fieldSelector=metadata.name%3Dx&limit=500", {"fieldSelector": ["metadata.name=x"], "limit": ["500"]}),
        (b"a=b+c%20d", {"a": ["b c d"]}),
        (b"a=1;b=2&c=3", {"c": ["3"]}),
        (b"a=%zz&b=%4", {}),
        (b"&&a=1&", {"a": ["1"]}),
        (b"=x", {"": ["x"]}),
        (b"k=%E4%B8%96", {"k": ["世"]}),
    ],
    ids=["empty", "bare-key", "empty-value", "repeated", "escaped", "plus-is-space", "semicolon-pair-dropped",
         "bad-escapes-dropped", "empty-pairs", "empty-key", "utf8"],
)
def test_parse_query_like_go(raw: bytes, expected: dict[str, list[str]]) -> None:
    assert parse_query(raw) == expected


def test_request_reads_method_path_query_and_headers() -> None:
    scope = http_scope("PATCH", "/api/v1/namespaces/a b/pods", query=b"dryRun=All&x=1&x=2",
                       headers=[(b"content-type", b"application/merge-patch+json"), (b"X-Custom", b"1"),
                                (b"x-custom", b"2")],
                       raw_path=b"/api/v1/namespaces/a%20b/pods")
    request = Request(scope, Client().receive)
    assert (request.method, request.path) == ("PATCH", "/api/v1/namespaces/a b/pods")
    assert request.query == {"dryRun": ["All"], "x": ["1", "2"]}
    assert (request.query_value("x"), request.query_value("missing")) == ("1", None)
    assert request.header("Content-Type") == "application/merge-patch+json"
    assert request.headers["x-custom"] == ["1", "2"]
    assert request.header("x-custom") == "1"
    assert request.request_uri == "/api/v1/namespaces/a%20b/pods?dryRun=All&x=1&x=2"


def test_request_uri_without_query_or_raw_path() -> None:
    scope = http_scope("GET", "/healthz")
    del scope["raw_path"]
    assert Request(scope, Client().receive).request_uri == "/healthz"


async def test_body_joins_parts_and_is_read_once() -> None:
    client = Client([b'{"a":', b"1}"])
    request = Request(http_scope("POST", "/api/v1/namespaces"), client.receive)
    assert await request.body() == b'{"a":1}'
    assert await request.body() == b'{"a":1}'


async def test_body_over_the_limit_is_rejected_while_reading() -> None:
    request = Request(http_scope("POST", "/x"), Client([b"12345", b"67"]).receive, max_body_bytes=6)
    with pytest.raises(RequestEntityTooLarge) as raised:
        await request.body()
    assert raised.value.message == "Request entity too large: limit is 6"


async def test_body_over_the_limit_is_rejected_from_its_content_length() -> None:
    scope = http_scope("POST", "/x", headers=[(b"content-length", b"7")])
    request = Request(scope, Client([b"1234567"]).receive, max_body_bytes=6)
    with pytest.raises(RequestEntityTooLarge):
        await request.body()


async def test_body_at_the_limit_is_accepted() -> None:
    request = Request(http_scope("POST", "/x"), Client([b"123", b"456"]).receive, max_body_bytes=6)
    assert await request.body() == b"123456"


async def test_disconnect_while_reading_the_body_raises() -> None:
    client = Client(body_parts=())
    client.disconnect()
    with pytest.raises(ClientDisconnected):
        await Request(http_scope("POST", "/x"), client.receive).body()


def test_request_info_round_trips_through_the_scope() -> None:
    scope = http_scope()
    with pytest.raises(LookupError):
        request_info_of(scope)
    info = RequestInfo(path="/", verb="get")
    set_request_info(scope, info)
    assert request_info_of(scope) is info
    assert Request(scope, Client().receive).request_info is info
