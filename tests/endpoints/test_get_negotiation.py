"""Content negotiation as kube-apiserver does it: Accept parsing and matching, input media types, decode errors."""
from __future__ import annotations

import pytest

from apiserver.http.jsonsyntax import go_syntax_error
from apiserver.http.negotiation import (
    JSON,
    PROTOBUF,
    YAML,
    Conversion,
    DecodeError,
    Restrictions,
    decode_document,
    negotiate_input,
    negotiate_output,
    negotiate_stream,
    parse_accept,
    parse_media_type,
)
from apiserver.http.request import Request
from apiserver.meta.errors import NotAcceptable, UnsupportedMediaType
from tests.http.asgi_harness import http_scope

KUBECTL_TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


def request(headers: dict[str, str] | None = None, query: bytes = b"") -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return Request(http_scope(headers=raw, query=query), receive=_never)


async def _never() -> dict[str, str]:
    raise AssertionError("the body is not read")


def test_parse_accept_orders_by_q_then_specificity_keeping_header_order_otherwise() -> None:
    clauses = parse_accept("text/*;q=0.5, application/yaml, */*;q=0.1, application/json;q=0.9")
    assert [(c.type, c.subtype, c.q) for c in clauses] == [
        ("application", "yaml", 1.0), ("application", "json", 0.9), ("text", "*", 0.5), ("*", "*", 0.1),
    ]


def test_parse_accept_keeps_parameters_and_drops_malformed_clauses() -> None:
    clauses = parse_accept("application/json;as=Table;v=v1;g=meta.k8s.io, bogus, a/b/c, *")
    assert [(c.type, c.subtype, c.params) for c in clauses] == [
        ("application", "json", (("as", "Table"), ("v", "v1"), ("g", "meta.k8s.io"))), ("*", "*", ()),
    ]


@pytest.mark.parametrize(
    ("accept", "media", "conversion"),
    [
        ("", JSON, None),
        ("application/json", JSON, None),
        ("application/yaml", YAML, None),
        ("*/*", JSON, None),
        ("application/*", JSON, None),
        (KUBECTL_TABLE, JSON, Conversion("meta.k8s.io", "v1", "Table")),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", JSON, Conversion("meta.k8s.io", "v1beta1", "Table")),
        ("application/yaml;as=Table;v=v1;g=meta.k8s.io", YAML, Conversion("meta.k8s.io", "v1", "Table")),
        ("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", JSON,
         Conversion("meta.k8s.io", "v1", "PartialObjectMetadata")),
        ("application/json;as=Table;v=v2;g=meta.k8s.io, application/yaml", YAML, None),
        ("application/json;as=Foo, application/json", JSON, None),
        ("text/html, application/json;q=0.1", JSON, None),
    ],
    ids=["none", "json", "yaml", "any", "application-any", "kubectl-table", "table-v1beta1", "yaml-table",
         "partial", "unknown-table-version-falls-through", "unknown-conversion-falls-through", "q-value"],
)
def test_negotiate_output_picks_the_first_acceptable_clause(
    accept: str, media: object, conversion: Conversion | None
) -> None:
    output = negotiate_output(request({"Accept": accept} if accept else {}), available=(JSON, YAML))
    assert (output.media, output.conversion) == (media, conversion)


def test_protobuf_is_chosen_when_preferred_and_offered() -> None:
    accept = {"Accept": "application/vnd.kubernetes.protobuf,application/json"}
    assert negotiate_output(request(accept), available=(JSON, YAML, PROTOBUF)).media == PROTOBUF
    assert negotiate_output(request(accept), available=(JSON, YAML)).media == JSON


def test_a_table_as_protobuf_is_not_acceptable() -> None:
    accept = {"Accept": "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io"}
    with pytest.raises(NotAcceptable) as raised:
        negotiate_output(request(accept), available=(JSON, YAML, PROTOBUF))
    assert raised.value.message == (
        "only the following media types are accepted: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf"
    )


def test_errors_cannot_be_converted_so_a_table_only_accept_is_not_acceptable_for_them() -> None:
    with pytest.raises(NotAcceptable):
        negotiate_output(request({"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}), Restrictions.NONE)


def test_text_html_is_not_acceptable_with_upstream_message() -> None:
    with pytest.raises(NotAcceptable) as raised:
        negotiate_output(request({"Accept": "text/html"}), available=(JSON, YAML))
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "only the following media types are accepted: application/json, application/yaml",
        "reason": "NotAcceptable", "code": 406,
    }


def test_yaml_cannot_stream_a_watch() -> None:
    with pytest.raises(NotAcceptable) as raised:
        negotiate_stream(request({"Accept": "application/yaml"}), available=(JSON, YAML, PROTOBUF))
    assert raised.value.message == (
        "only the following media types are accepted: application/json;stream=watch, "
        "application/vnd.kubernetes.protobuf;stream=watch"
    )


@pytest.mark.parametrize(
    ("headers", "query", "pretty"),
    [
        ({}, b"", False),
        ({"User-Agent": "curl/8.5.0"}, b"", True),
        ({"User-Agent": "Mozilla/5.0 (X11)"}, b"", True),
        ({"User-Agent": "kubectl/v1.32.5"}, b"pretty=true", True),
        ({"User-Agent": "curl/8.5.0"}, b"pretty=false", False),
        ({"Accept": "application/json;pretty=1"}, b"", True),
    ],
    ids=["default", "curl", "browser", "query", "query-wins", "accept-parameter"],
)
def test_pretty_json_for_curl_browsers_and_when_asked(headers: dict[str, str], query: bytes, pretty: bool) -> None:
    assert negotiate_output(request(headers, query), available=(JSON, YAML)).pretty is pretty


@pytest.mark.parametrize(
    ("content_type", "media"),
    [(None, JSON), ("application/json", JSON), ("application/json; charset=utf-8", JSON),
     ("APPLICATION/YAML", YAML)],
    ids=["missing-is-json", "json", "json-charset", "case-insensitive"],
)
def test_negotiate_input_reads_the_content_type(content_type: str | None, media: object) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert negotiate_input(request(headers), (JSON, YAML)) == media


@pytest.mark.parametrize("content_type", ["text/plain", "application/json;;x", "json", "application/protobuf"])
def test_negotiate_input_refuses_other_media_types_with_upstream_message(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        negotiate_input(request({"Content-Type": content_type}), (JSON, YAML))
    assert raised.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )


def test_parse_media_type_follows_go_mime_rules() -> None:
    assert parse_media_type("application/JSON ; charset=utf-8") == "application/json"
    assert parse_media_type('application/json; charset="utf-8"') == "application/json"
    assert parse_media_type("application/json; charset") is None
    assert parse_media_type("application") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "unexpected end of JSON input"),
        (b"{bad", "invalid character 'b' looking for beginning of object key string"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"{} x", "invalid character 'x' after top-level value"),
        (b"nul", "invalid character ' ' in literal null (expecting 'l')"),
        (b'"\\x"', "invalid character 'x' in string escape code"),
        (b"'a'", "invalid character '\\'' looking for beginning of value"),
        (b"01", "invalid character '1' after top-level value"),
        (b"1.e", "invalid character 'e' after decimal point in numeric literal"),
    ],
    ids=["empty", "key", "trailing-comma", "colon", "comma", "array", "top-level", "literal", "escape", "quote",
         "leading-zero", "decimal"],
)
def test_json_syntax_errors_use_go_wording(body: bytes, message: str) -> None:
    assert go_syntax_error(body) == message
    with pytest.raises(DecodeError) as raised:
        decode_document(body, JSON)
    assert str(raised.value) == f"couldn't get version/kind; json parse error: {message}"


def test_yaml_bodies_decode_without_turning_dates_into_timestamps() -> None:
    document = decode_document(b"metadata:\n  name: a\ndata:\n  day: 2024-01-02\n  flag: true\n", YAML)
    assert document == {"metadata": {"name": "a"}, "data": {"day": "2024-01-02", "flag": True}}


def test_malformed_yaml_is_a_decode_error_with_the_line() -> None:
    with pytest.raises(DecodeError) as raised:
        decode_document(b"metadata:\n  name: a\n b: [\n", YAML)
    assert str(raised.value).startswith("error converting YAML to JSON: yaml: line ")
