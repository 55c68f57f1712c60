"""resourceVersion parsing, list-option rules, read plans, continue tokens and the 410/504 errors.

Expected texts follow kube-apiserver v1.32: apimachinery's metainternalversion/validation (ListOptions),
apiserver/pkg/storage/continue.go (tokens), the etcd3 store (ValidateListOptions, expiry texts), the
APIObjectVersioner (strconv.ParseUint errors) and the watch cache (`too old resource version`).
"""
from __future__ import annotations

import base64
import json

import pytest

from apiserver.meta.errors import ApiError, BadRequest
from apiserver.meta.resourceversion import (
    CONTINUE_EXPIRED_MESSAGE,
    INCONSISTENT_CONTINUE_MESSAGE,
    ContinueExpired,
    InvalidContinueToken,
    InvalidResourceVersion,
    ListRead,
    ReadMode,
    UnparseableResourceVersion,
    continue_after,
    continue_expired,
    decode_continue,
    encode_continue,
    format_resource_version,
    list_options_invalid,
    parse_cached_resource_version,
    parse_resource_version,
    plan_list_read,
    too_large_resource_version,
    too_old_resource_version,
    validate_list_options,
)

PREFIX = "/registry/pods/"


def _token(document: bytes) -> str:
    return base64.urlsafe_b64encode(document).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("text", "revision"),
    [("", 0), ("0", 0), ("1", 1), ("007", 7), ("18446744073709551615", 2**64 - 1)],
    ids=["empty", "zero", "one", "leading-zeros", "max-uint64"],
)
def test_parse_resource_version(text: str, revision: int) -> None:
    assert parse_resource_version(text) == revision
    assert parse_cached_resource_version(text) == revision


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", 'strconv.ParseUint: parsing "abc": invalid syntax'),
        ("-1", 'strconv.ParseUint: parsing "-1": invalid syntax'),
        ("+1", 'strconv.ParseUint: parsing "+1": invalid syntax'),
        (" 1", 'strconv.ParseUint: parsing " 1": invalid syntax'),
        ("1.0", 'strconv.ParseUint: parsing "1.0": invalid syntax'),
        ("\u0661", 'strconv.ParseUint: parsing "\u0661": invalid syntax'),
        ("18446744073709551616", 'strconv.ParseUint: parsing "18446744073709551616": value out of range'),
        ("99999999999999999999x", 'strconv.ParseUint: parsing "99999999999999999999x": value out of range'),
    ],
    ids=["word", "negative", "plus-sign", "leading-space", "decimal", "arabic-digit", "overflow",
         "overflow-before-bad-char"],
)
def test_invalid_resource_version_messages(text: str, reason: str) -> None:
    field_error = f"resourceVersion: Invalid value: {json.dumps(text, ensure_ascii=False)}: {reason}"
    with pytest.raises(InvalidResourceVersion) as listed:
        parse_resource_version(text)
    assert listed.value.to_status()["code"] == 400
    assert listed.value.message == f"invalid resource version: {field_error}"
    with pytest.raises(UnparseableResourceVersion) as cached:
        parse_cached_resource_version(text)
    # The watch cache's answer: a 500 with no reason at all.
    assert cached.value.to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Failure", "message": field_error, "code": 500}


def test_format_resource_version() -> None:
    assert format_resource_version(42) == "42"


FORBIDDEN_UNLESS_RV = (
    "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
)
FORBIDDEN_WITH_CONTINUE = "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"


@pytest.mark.parametrize(
    ("resource_version", "match", "continue_token", "messages"),
    [
        ("", "", "", []),
        ("5", "Exact", "", []),
        ("0", "NotOlderThan", "", []),
        ("", "NotOlderThan", "", [FORBIDDEN_UNLESS_RV]),
        ("", "Exact", "tok", [FORBIDDEN_UNLESS_RV, FORBIDDEN_WITH_CONTINUE]),
        ("5", "Newest", "", ['resourceVersionMatch: Unsupported value: "Newest": supported values: '
                             '"Exact", "NotOlderThan", ""']),
        ("0", "Exact", "", ['resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for '
                            'resourceVersion "0"']),
        ("5", "", "tok", []),
    ],
    ids=["nothing", "exact", "not-older-than-zero", "match-without-rv", "match-with-continue", "unknown-match",
         "exact-zero", "continue-with-rv-is-checked-later"],
)
def test_list_options_validation(resource_version: str, match: str, continue_token: str, messages: list[str]) -> None:
    errors = validate_list_options(resource_version, match, continue_token)
    assert [error.error_message() for error in errors] == messages


@pytest.mark.parametrize(
    ("match", "send_initial_events", "watch_list_enabled", "messages"),
    [
        ("", None, True, []),
        ("NotOlderThan", True, True, []),
        ("NotOlderThan", None, True, ["resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch "
                                      "unless sendInitialEvents is provided"]),
        ("", True, True, ["resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch "
                          "to NotOlderThan"]),
        ("Exact", False, True, ["resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
                                "resourceVersionMatch to NotOlderThan",
                                'resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"']),
        ("NotOlderThan", True, False, ["sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless "
                                       "the WatchList feature gate is enabled"]),
    ],
    ids=["plain-watch", "watch-list", "match-without-initial-events", "initial-events-without-match",
         "exact-on-watch", "watch-list-disabled"],
)
def test_watch_options_validation(
    match: str, send_initial_events: bool | None, watch_list_enabled: bool, messages: list[str]
) -> None:
    errors = validate_list_options("", match, "", watch=True, send_initial_events=send_initial_events,
                                   watch_list_enabled=watch_list_enabled)
    assert [error.error_message() for error in errors] == messages


def test_send_initial_events_is_forbidden_for_list() -> None:
    errors = validate_list_options("", "", "", send_initial_events=False)
    assert [error.error_message() for error in errors] == [
        "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"
    ]


def test_list_options_errors_become_an_invalid_status() -> None:
    status = list_options_invalid(validate_list_options("", "Exact", "")).to_status()
    assert status["code"] == 422
    assert status["message"] == f'ListOptions.meta.k8s.io "" is invalid: {FORBIDDEN_UNLESS_RV}'
    assert status["details"] == {
        "group": "meta.k8s.io", "kind": "ListOptions",
        "causes": [{"reason": "FieldValueForbidden", "field": "resourceVersionMatch",
                    "message": "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"}],
    }


TOKEN_AT_7 = continue_after(PREFIX + "ns/web", PREFIX, 7)


@pytest.mark.parametrize(
    ("resource_version", "match", "continue_token", "limit", "read"),
    [
        ("", "", "", 0, ListRead(ReadMode.CONSISTENT)),
        ("", "", "", 500, ListRead(ReadMode.CONSISTENT)),
        ("0", "", "", 500, ListRead(ReadMode.ANY)),
        ("0", "NotOlderThan", "", 0, ListRead(ReadMode.ANY)),
        ("12", "", "", 0, ListRead(ReadMode.NOT_OLDER_THAN, 12)),
        ("12", "NotOlderThan", "", 500, ListRead(ReadMode.NOT_OLDER_THAN, 12)),
        ("12", "", "", 500, ListRead(ReadMode.EXACT, 12)),
        ("12", "Exact", "", 0, ListRead(ReadMode.EXACT, 12)),
        ("", "", TOKEN_AT_7, 500, ListRead(ReadMode.EXACT, 7, PREFIX + "ns/web\0")),
        ("0", "", TOKEN_AT_7, 500, ListRead(ReadMode.EXACT, 7, PREFIX + "ns/web\0")),
        ("", "", continue_after(PREFIX + "a", PREFIX, -1), 500, ListRead(ReadMode.CONSISTENT, 0, PREFIX + "a\0")),
        ("00", "", "", 0, ListRead(ReadMode.ANY)),
        ("00", "", "", 500, ListRead(ReadMode.CONSISTENT)),
        ("00", "Exact", "", 0, ListRead(ReadMode.CONSISTENT)),
    ],
    ids=["consistent", "consistent-paged", "any", "not-older-than-zero", "legacy-not-older-than",
         "not-older-than-paged", "legacy-paged-is-exact", "exact", "continue", "continue-with-rv-zero",
         "inconsistent-continue", "zero-spelt-00-cached", "zero-spelt-00-paged", "zero-spelt-00-exact"],
)
def test_plan_list_read(resource_version: str, match: str, continue_token: str, limit: int, read: ListRead) -> None:
    assert plan_list_read(resource_version, match, continue_token, limit=limit, key_prefix=PREFIX) == read


def test_continue_with_a_resource_version_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as raised:
        plan_list_read("12", "", TOKEN_AT_7, limit=1, key_prefix=PREFIX)
    assert raised.value.message == "specifying resource version is not allowed when using continue"


def test_plan_rejects_a_bad_resource_version_as_bad_request() -> None:
    with pytest.raises(InvalidResourceVersion):
        plan_list_read("x", "", "", limit=0, key_prefix=PREFIX)


def test_continue_token_is_upstream_encoding() -> None:
    token = continue_after(PREFIX + "ns/a<b&c>", PREFIX, 42)
    assert "=" not in token
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert decoded == b'{"v":"meta.k8s.io/v1","rv":42,"start":"ns/a\\u003cb\\u0026c\\u003e\\u0000"}'


@pytest.mark.parametrize(
    "key",
    [PREFIX + "ns/web", PREFIX + "ns/web\0", PREFIX + "ns/ünï", PREFIX + "ns/a\u2028b", PREFIX + 'ns/"q"\\'],
    ids=["plain", "after-a-key", "unicode", "line-separator", "quotes-and-backslash"],
)
def test_continue_token_round_trips(key: str) -> None:
    assert decode_continue(encode_continue(key, PREFIX, 9), PREFIX) == (key, 9)


def test_encode_continue_needs_a_key_under_the_prefix() -> None:
    with pytest.raises(ValueError, match="the key and key prefix do not match /registry/pods/ /registry/x"):
        encode_continue("/registry/x", PREFIX, 1)


INVALID = "invalid continue token: continue key is not valid"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("a", f"{INVALID}: illegal base64 data at input byte 0"),
        ("abcde", f"{INVALID}: illegal base64 data at input byte 4"),
        ("eyJ9=", f"{INVALID}: illegal base64 data at input byte 4"),
        ("ab*d", f"{INVALID}: illegal base64 data at input byte 2"),
        ("abc", f"{INVALID}: invalid character 'i' looking for beginning of value"),
        (_token(b"{}x"), f"{INVALID}: invalid character 'x' after top-level value"),
        (_token(b'{"v":'), f"{INVALID}: unexpected end of JSON input"),
        (_token(b"[1]"), f"{INVALID}: json: cannot unmarshal array into Go value of type storage.continueToken"),
        (_token(b'{"v":1}'),
         f"{INVALID}: json: cannot unmarshal number into Go struct field continueToken.v of type string"),
        (_token(b'{"v":"meta.k8s.io/v1","rv":"1"}'),
         f"{INVALID}: json: cannot unmarshal string into Go struct field continueToken.rv of type int64"),
        (_token(b'{"v":"meta.k8s.io/v1","rv":1.5}'),
         f"{INVALID}: json: cannot unmarshal number 1.5 into Go struct field continueToken.rv of type int64"),
        (_token(b'{"v":"meta.k8s.io/v2","rv":1,"start":"a"}'),
         f"{INVALID}: server does not recognize this encoded version meta.k8s.io/v2"),
        (_token(b"null"), f"{INVALID}: server does not recognize this encoded version "),
        (_token(b'{"v":"meta.k8s.io/v1","rv":0,"start":"a"}'),
         f"{INVALID}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
        (_token(b'{"v":"meta.k8s.io/v1","rv":3,"start":""}'),
         f"{INVALID}: encoded start key empty (version meta.k8s.io/v1)"),
        (_token(b'{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}'), f"{INVALID}: ../secrets/x"),
        (_token(b'{"v":"meta.k8s.io/v1","rv":3,"start":"ns//x"}'), f"{INVALID}: ns//x"),
        (_token(b'{"v":"meta.k8s.io/v1","rv":3,"start":"ns/x/"}'), f"{INVALID}: ns/x/"),
    ],
    ids=["one-char", "five-chars", "padding", "bad-char", "not-json", "trailing-data", "truncated-json", "array",
         "version-number", "revision-string", "revision-fraction", "unknown-version", "null", "zero-revision",
         "empty-start", "path-traversal", "double-slash", "trailing-slash"],
)
def test_invalid_continue_tokens(token: str, message: str) -> None:
    with pytest.raises(InvalidContinueToken) as raised:
        decode_continue(token, PREFIX)
    assert raised.value.message == message
    assert raised.value.to_status()["code"] == 400


def test_continue_token_fields_match_case_insensitively_like_go() -> None:
    token = _token(b'{"V":"meta.k8s.io/v1","RV":5,"Start":"ns/a","extra":true}')
    assert decode_continue(token, PREFIX) == (PREFIX + "ns/a", 5)


def test_expired_continue_offers_an_inconsistent_token() -> None:
    error = continue_expired(PREFIX + "ns/web\0", PREFIX)
    status = error.to_status()
    assert status["code"] == 410
    assert status["reason"] == "Expired"
    assert status["message"] == INCONSISTENT_CONTINUE_MESSAGE
    token = status["metadata"]["continue"]  # type: ignore[index]
    assert decode_continue(token, PREFIX) == (PREFIX + "ns/web\0", -1)
    assert plan_list_read("", "", token, limit=5, key_prefix=PREFIX) == ListRead(
        ReadMode.CONSISTENT, 0, PREFIX + "ns/web\0"
    )


def test_expired_continue_without_a_token() -> None:
    status = ContinueExpired().to_status()
    assert status["message"] == CONTINUE_EXPIRED_MESSAGE
    assert status["metadata"] == {}


def test_inconsistent_continue_wording_is_upstreams() -> None:
    assert INCONSISTENT_CONTINUE_MESSAGE == (
        "The provided continue parameter is too old to display a consistent list result. You can start a new "
        "list without the continue parameter, or use the continue token in this response to retrieve the "
        "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
        "that were created, modified, or deleted between the time the first chunk was returned and now may show "
        "up in the list."
    )


def test_too_old_resource_version_is_410_expired() -> None:
    status = too_old_resource_version(5, 10).to_status()
    assert (status["code"], status["reason"], status["message"]) == (410, "Expired", "too old resource version: 5 (10)")


def test_too_large_resource_version_is_504_with_cause() -> None:
    error = too_large_resource_version(20, 12)
    assert isinstance(error, ApiError)
    assert error.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Timeout: Too large resource version: 20, current: 12", "reason": "Timeout",
        "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                    "retryAfterSeconds": 1},
        "code": 504,
    }
