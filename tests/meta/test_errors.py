"""ApiError → Status: codes, reasons and message formats of k8s.io/apimachinery/pkg/api/errors."""
from __future__ import annotations

import pytest

from apiserver.meta.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Expired,
    Forbidden,
    Gone,
    InternalError,
    Invalid,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    RequestEntityTooLarge,
    ServerTimeout,
    ServiceUnavailable,
    StatusCause,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    go_quote,
    path_not_found,
    route_error,
)

FAILURE = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotFound("pods", "nope"),
         {"message": 'pods "nope" not found', "reason": "NotFound",
          "details": {"name": "nope", "kind": "pods"}, "code": 404}),
        (NotFound("deployments", "web", group="apps"),
         {"message": 'deployments.apps "web" not found', "reason": "NotFound",
          "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 404}),
        (AlreadyExists("configmaps", "x"),
         {"message": 'configmaps "x" already exists', "reason": "AlreadyExists",
          "details": {"name": "x", "kind": "configmaps"}, "code": 409}),
        (Conflict("configmaps", "x", "the object has been modified; please apply your changes to the latest "
                  "version and try again"),
         {"message": 'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply '
                     "your changes to the latest version and try again",
          "reason": "Conflict", "details": {"name": "x", "kind": "configmaps"}, "code": 409}),
        (Forbidden("pods", "", 'User "bob" cannot list resource "pods" in API group "" in the namespace "default"'),
         {"message": 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace '
                     '"default"',
          "reason": "Forbidden", "details": {"kind": "pods"}, "code": 403}),
        (Forbidden("secrets", "s", "no", group=""),
         {"message": 'secrets "s" is forbidden: no', "reason": "Forbidden",
          "details": {"name": "s", "kind": "secrets"}, "code": 403}),
        (Forbidden("", "", 'User "system:anonymous" cannot get path "/foo"'),
         {"message": 'forbidden: User "system:anonymous" cannot get path "/foo"', "reason": "Forbidden",
          "details": {}, "code": 403}),
        (Unauthorized(), {"message": "not authorized", "reason": "Unauthorized", "code": 401}),
        (Unauthorized("Unauthorized"), {"message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
        (BadRequest("bad"), {"message": "bad", "reason": "BadRequest", "code": 400}),
        (MethodNotAllowed("tokenreviews", "list", group="authentication.k8s.io"),
         {"message": 'list is not supported on resources of kind "tokenreviews.authentication.k8s.io"',
          "reason": "MethodNotAllowed", "details": {"group": "authentication.k8s.io", "kind": "tokenreviews"},
          "code": 405}),
        (NotAcceptable(["application/json", "application/yaml"]),
         {"message": "only the following media types are accepted: application/json, application/yaml",
          "reason": "NotAcceptable", "code": 406}),
        (UnsupportedMediaType(["application/json", "application/yaml"]),
         {"message": "the body of the request was in an unknown format - accepted media types include: "
                     "application/json, application/yaml",
          "reason": "UnsupportedMediaType", "code": 415}),
        (Gone("gone"), {"message": "gone", "reason": "Gone", "code": 410}),
        (Expired.too_old(1, 50), {"message": "too old resource version: 1 (50)", "reason": "Expired", "code": 410}),
        (RequestEntityTooLarge("limit is 3145728"),
         {"message": "Request entity too large: limit is 3145728", "reason": "RequestEntityTooLarge", "code": 413}),
        (TooManyRequests("slow down", retry_after_seconds=1),
         {"message": "slow down", "reason": "TooManyRequests", "details": {"retryAfterSeconds": 1}, "code": 429}),
        (InternalError("boom"),
         {"message": "Internal error occurred: boom", "reason": "InternalError",
          "details": {"causes": [{"message": "boom"}]}, "code": 500}),
        (ServerTimeout("pods", "create", retry_after_seconds=2),
         {"message": "The create operation against pods could not be completed at this time, please try again.",
          "reason": "ServerTimeout", "details": {"name": "create", "kind": "pods", "retryAfterSeconds": 2},
          "code": 500}),
        (ServiceUnavailable("etcd is down"), {"message": "etcd is down", "reason": "ServiceUnavailable", "code": 503}),
        (Timeout("request did not complete within the allotted timeout"),
         {"message": "Timeout: request did not complete within the allotted timeout", "reason": "Timeout",
          "details": {}, "code": 504}),
        (ApiError("etcdserver: no leader"), {"message": "etcdserver: no leader", "code": 500}),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, ApiError) else "",
)
def test_error_renders_upstream_status(error: ApiError, expected: dict[str, object]) -> None:
    assert error.to_status() == {**FAILURE, **expected}
    assert list(error.to_status()) == [*FAILURE, *expected]


def test_invalid_aggregates_distinct_field_errors_in_brackets() -> None:
    causes = [
        StatusCause("FieldValueRequired", "Required value", "metadata.name"),
        StatusCause("FieldValueInvalid", 'Invalid value: "x": must be a number', "data.size"),
        StatusCause("FieldValueRequired", "Required value", "metadata.name"),
    ]
    status = Invalid("ConfigMap", "cm", causes).to_status()
    assert status["message"] == (
        'ConfigMap "cm" is invalid: [metadata.name: Required value, data.size: Invalid value: "x": must be a number]'
    )
    assert status["details"] == {
        "name": "cm", "kind": "ConfigMap",
        "causes": [
            {"reason": "FieldValueRequired", "message": "Required value", "field": "metadata.name"},
            {"reason": "FieldValueInvalid", "message": 'Invalid value: "x": must be a number', "field": "data.size"},
            {"reason": "FieldValueRequired", "message": "Required value", "field": "metadata.name"},
        ],
    }
    assert (status["code"], status["reason"]) == (422, "Invalid")


def test_invalid_with_one_error_has_no_brackets_and_keeps_the_group() -> None:
    error = Invalid("Deployment", "web", [StatusCause("FieldValueRequired", "Required value", "spec.selector")],
                    group="apps")
    assert error.message == 'Deployment.apps "web" is invalid: spec.selector: Required value'
    assert Invalid("Deployment", "web", []).message == 'Deployment "web" is invalid'


def test_route_errors_carry_empty_details() -> None:
    assert route_error(404).to_status() == {
        **FAILURE, "message": "the server could not find the requested resource", "reason": "NotFound",
        "details": {}, "code": 404,
    }
    assert route_error(405).message == "the server does not allow this method on the requested resource"
    assert route_error(406, "406: Not Acceptable").message == "406: Not Acceptable"
    assert route_error(406).message == "the server was unable to respond with a content type that the client supports"
    assert route_error(415, "415: Unsupported Media Type").to_status()["reason"] == "UnsupportedMediaType"


def test_path_not_found_has_no_details() -> None:
    assert path_not_found().to_status() == {
        **FAILURE, "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404,
    }
    assert isinstance(path_not_found(), NotFound)


def test_retry_after_seconds_comes_from_details() -> None:
    assert TooManyRequests("x", retry_after_seconds=3).retry_after_seconds == 3
    assert NotFound("pods", "x").retry_after_seconds == 0


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("tab\tnew\nline", '"tab\\tnew\\nline"'),
        ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'),
        ("héllo 世界", '"héllo 世界"'),
        ("\u00a0\u200b", '"\\u00a0\\u200b"'),
        ("\U000e0001", '"\\U000e0001"'),
        (b"\xff".decode("utf-8", "surrogateescape"), '"\\xff"'),
    ],
    ids=["ascii", "quote-backslash", "c-escapes", "control-bytes", "unicode-printable", "unicode-unprintable",
         "astral-unprintable", "invalid-utf8-byte"],
)
def test_go_quote_matches_strconv_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted
