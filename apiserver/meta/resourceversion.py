"""resourceVersion rules: parsing, list-option validation, what a list must read, continue tokens, and 410s.

A resourceVersion is a storage revision written in decimal and opaque to clients. This module holds the
pure part of kube-apiserver's rules (apimachinery's metainternalversion validation, apiserver's
storage/continue.go, the etcd3 store's ValidateListOptions and its expiry texts, the watch cache's
`too old resource version`); `ResourceStore` and `WatchCache` apply them. Errors are raised as the
`ApiError` kube-apiserver answers with, message for message.
"""
from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass
from typing import Any, Final

from apiserver.meta.errors import ApiError, BadRequest, Expired, Invalid, StatusCause, StatusDetails, Timeout, go_quote
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

_UINT64_LIMIT: Final = 2**64


class InvalidResourceVersion(BadRequest):
    """400 for a resourceVersion that is not a decimal uint64, as the storage layer answers a list."""


class UnparseableResourceVersion(ApiError):
    """500 with no reason: what the watch cache answers for an unparseable resourceVersion.

    Upstream's cacher returns its storage.InvalidError unconverted (a long-standing upstream bug that
    clients can observe: watches and cache-served lists get this, not a 400).
    """


def _resource_version_error(value: str) -> FieldError:
    """Upstream's versioner error: the field error wrapping strconv.ParseUint's message."""
    reason = "invalid syntax"
    number = 0
    for char in value:
        if not "0" <= char <= "9":
            break
        number = number * 10 + ord(char) - ord("0")
        if number >= _UINT64_LIMIT:
            # ParseUint checks each digit in turn, so an overflow is reported before a later bad character.
            reason = "value out of range"
            break
    detail = f"strconv.ParseUint: parsing {go_quote(value)}: {reason}"
    return FieldError.invalid(FieldPath("resourceVersion"), value, detail)


def _parse(value: str) -> int | None:
    if value in ("", "0"):
        return 0
    if value.isascii() and value.isdigit() and int(value) < _UINT64_LIMIT:
        return int(value)
    return None


def parse_resource_version(value: str) -> int:
    """The revision a resourceVersion names; "" and "0" give 0.

    Raises InvalidResourceVersion (400, `invalid resource version: resourceVersion: Invalid value: "abc":
    strconv.ParseUint: parsing "abc": invalid syntax`), the answer of a list served by storage.
    """
    revision = _parse(value)
    if revision is None:
        raise InvalidResourceVersion(f"invalid resource version: {_resource_version_error(value).error_message()}")
    return revision


def parse_cached_resource_version(value: str) -> int:
    """Like `parse_resource_version`, but raises the 500 UnparseableResourceVersion the watch cache answers
    for a watch or a cache-served list: `resourceVersion: Invalid value: "abc": strconv.ParseUint: ...`."""
    revision = _parse(value)
    if revision is None:
        raise UnparseableResourceVersion(_resource_version_error(value).error_message())
    return revision


def format_resource_version(revision: int) -> str:
    return str(revision)


# --- ListOptions validation (apimachinery/pkg/apis/meta/internalversion/validation) -------------------------

class ResourceVersionMatch(enum.StrEnum):
    NOT_OLDER_THAN = "NotOlderThan"
    EXACT = "Exact"


_MATCH = FieldPath("resourceVersionMatch")
_MATCH_NEEDS_RESOURCE_VERSION: Final = "resourceVersionMatch is forbidden unless resourceVersion is provided"
_MATCH_WITH_CONTINUE: Final = "resourceVersionMatch is forbidden when continue is provided"
_EXACT_AT_ZERO: Final = 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'


def validate_list_options(
    resource_version: str,
    resource_version_match: str,
    continue_token: str,
    *,
    watch: bool = False,
    send_initial_events: bool | None = None,
    watch_list_enabled: bool = True,
) -> FieldErrors:
    """The combinations upstream rejects before reading anything; report them with `list_options_invalid`."""
    if watch:
        return _validate_watch_options(resource_version_match, continue_token, send_initial_events, watch_list_enabled)
    errors: FieldErrors = []
    if resource_version_match:
        if not resource_version:
            errors.append(FieldError.forbidden(_MATCH, _MATCH_NEEDS_RESOURCE_VERSION))
        if continue_token:
            errors.append(FieldError.forbidden(_MATCH, _MATCH_WITH_CONTINUE))
        if resource_version_match not in tuple(ResourceVersionMatch):
            errors.append(FieldError.not_supported(_MATCH, resource_version_match, ["Exact", "NotOlderThan", ""]))
        if resource_version_match == ResourceVersionMatch.EXACT and resource_version == "0":
            errors.append(FieldError.forbidden(_MATCH, _EXACT_AT_ZERO))
    if send_initial_events is not None:
        errors.append(FieldError.forbidden(FieldPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
    return errors


def _validate_watch_options(
    match: str, continue_token: str, send_initial_events: bool | None, watch_list_enabled: bool
) -> FieldErrors:
    errors: FieldErrors = []
    if send_initial_events is not None:
        if match != ResourceVersionMatch.NOT_OLDER_THAN:
            detail = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            errors.append(FieldError.forbidden(_MATCH, detail))
        if not watch_list_enabled:
            detail = "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
            errors.append(FieldError.forbidden(FieldPath("sendInitialEvents"), detail))
    if match:
        if send_initial_events is None:
            detail = "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
            errors.append(FieldError.forbidden(_MATCH, detail))
        if match != ResourceVersionMatch.NOT_OLDER_THAN:
            errors.append(FieldError.not_supported(_MATCH, match, ["NotOlderThan"]))
        if continue_token:
            errors.append(FieldError.forbidden(_MATCH, _MATCH_WITH_CONTINUE))
    return errors


def list_options_invalid(errors: FieldErrors) -> Invalid:
    """The 422 for rejected list options: `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: ...`."""
    return Invalid("ListOptions", "", [error.to_cause() for error in errors], group="meta.k8s.io")


# --- What a list reads ----------------------------------------------------------------------------------------

class ReadMode(enum.Enum):
    CONSISTENT = "Consistent"  # the latest state: storage, or the cache once it caught up with storage
    ANY = "Any"  # resourceVersion "0": whatever the cache holds, possibly stale
    NOT_OLDER_THAN = "NotOlderThan"  # at `revision` or later: wait for the cache to reach it
    EXACT = "Exact"  # storage at exactly `revision`; 410 when it was compacted


@dataclass(frozen=True, slots=True)
class ListRead:
    """What a list must read: a mode, the revision it refers to, and the key to start from (continue)."""

    mode: ReadMode
    revision: int = 0
    start_key: str = ""


def plan_list_read(
    resource_version: str, resource_version_match: str, continue_token: str, *, limit: int, key_prefix: str
) -> ListRead:
    """Resolve validated list options into a `ListRead`, as kube-apiserver 1.32 serves them.

    A continue token carries its revision (EXACT) or -1 (CONSISTENT, after an expired token) and its start
    key. Without one: "" is CONSISTENT; "0" is ANY; `N` with NotOlderThan, or without a match and without a
    limit, is NOT_OLDER_THAN; `N` with Exact, or without a match but with a limit (the legacy paginated
    case), is EXACT. Raises BadRequest for a bad token, a bad resourceVersion, or both given together.
    """
    if continue_token:
        start_key, revision = decode_continue(continue_token, key_prefix)
        if resource_version not in ("", "0"):
            raise BadRequest("specifying resource version is not allowed when using continue")
        if revision > 0:
            return ListRead(ReadMode.EXACT, revision, start_key)
        return ListRead(ReadMode.CONSISTENT, 0, start_key)
    if not resource_version:
        return ListRead(ReadMode.CONSISTENT)
    revision = parse_resource_version(resource_version)
    if revision == 0:
        # Upstream compares the literal "0": another spelling of zero that goes to storage reads the latest.
        to_storage = resource_version != "0" and (resource_version_match == ResourceVersionMatch.EXACT or limit > 0)
        return ListRead(ReadMode.CONSISTENT if to_storage else ReadMode.ANY)
    exact = resource_version_match == ResourceVersionMatch.EXACT or (not resource_version_match and limit > 0)
    return ListRead(ReadMode.EXACT if exact else ReadMode.NOT_OLDER_THAN, revision)


# --- Continue tokens (apiserver/pkg/storage/continue.go) ------------------------------------------------------

CONTINUE_TOKEN_VERSION: Final = "meta.k8s.io/v1"
INCONSISTENT_CONTINUE_REVISION: Final = -1
"""The revision of a token handed out with a 410: continue at the latest revision."""

_INVALID_KEY: Final = "continue key is not valid"


class InvalidContinueToken(BadRequest):
    """400 `invalid continue token: continue key is not valid: ...`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid continue token: {reason}")


def encode_continue(key: str, key_prefix: str, revision: int) -> str:
    """The token that resumes a list at `key` (the last returned key + "\\0") at `revision`.

    Byte-for-byte what upstream emits: unpadded URL-safe base64 of `{"v":...,"rv":N,"start":"<key suffix>"}`
    with Go's JSON escaping. Raises ValueError when `key` is not under `key_prefix`.
    """
    if not key_prefix or not key.startswith(key_prefix):
        raise ValueError(f"unable to encode next field: the key and key prefix do not match {key_prefix} {key}")
    start = key[len(key_prefix):]
    document = f'{{"v":"{CONTINUE_TOKEN_VERSION}","rv":{revision},"start":{_go_json_string(start)}}}'
    return base64.urlsafe_b64encode(document.encode("utf-8", "surrogateescape")).rstrip(b"=").decode("ascii")


def continue_after(last_key: str, key_prefix: str, revision: int) -> str:
    """The token for the page that follows one ending at `last_key` (it resumes just after that key)."""
    return encode_continue(last_key + "\0", key_prefix, revision)


def _go_json_string(text: str) -> str:
    # Go's encoding/json: HTML-safe escapes for <, > and &, and U+2028/U+2029 escaped; \b and \f short forms.
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        encoded = encoded.replace(char, escape)
    return encoded


def decode_continue(token: str, key_prefix: str) -> tuple[str, int]:
    """The start key (under `key_prefix`) and revision a token encodes.

    Raises InvalidContinueToken with upstream's reasons: bad base64 or JSON, an unknown version, a zero
    revision, an empty start key, or a start key that is not a clean path (no `..` escapes from the prefix).
    """
    fields = _decode_token_fields(token)
    version = fields.get("v") or ""
    if version != CONTINUE_TOKEN_VERSION:
        raise InvalidContinueToken(f"{_INVALID_KEY}: server does not recognize this encoded version {version}")
    revision, start = fields.get("rv") or 0, fields.get("start") or ""
    if revision == 0:
        raise InvalidContinueToken(f"{_INVALID_KEY}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not start:
        raise InvalidContinueToken(f"{_INVALID_KEY}: encoded start key empty (version meta.k8s.io/v1)")
    key = start if start.startswith("/") else "/" + start
    if _clean_path(key) != key:
        raise InvalidContinueToken(f"{_INVALID_KEY}: {start}")
    return key_prefix + key[1:], revision


def _clean_path(path: str) -> str:
    """Go's path.Clean for a rooted path: no empty, `.` or `..` elements, no trailing slash."""
    elements: list[str] = []
    for element in path.split("/"):
        if element == "..":
            if elements:
                elements.pop()
        elif element not in ("", "."):
            elements.append(element)
    return "/" + "/".join(elements)


_BASE64_URL_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _decode_base64(token: str) -> bytes:
    """Go's base64.RawURLEncoding.DecodeString, with its `illegal base64 data at input byte N` positions."""
    raw = token.encode("utf-8", "surrogateescape")
    symbols: list[str] = []
    for position, byte in enumerate(raw):
        char = chr(byte)
        if char in "\r\n":
            continue
        if char not in _BASE64_URL_ALPHABET:
            raise ValueError(f"illegal base64 data at input byte {position}")
        symbols.append(char)
    if len(symbols) % 4 == 1:
        raise ValueError(f"illegal base64 data at input byte {len(raw) - 1}")
    text = "".join(symbols)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_TOKEN_FIELD_TYPES: Final = {"v": "string", "rv": "int64", "start": "string"}


def _decode_token_fields(token: str) -> dict[str, Any]:
    """Decode the token's JSON object the way Go's json.Unmarshal fills the upstream struct."""
    try:
        data = _decode_base64(token)
    except ValueError as error:
        raise InvalidContinueToken(f"{_INVALID_KEY}: {error}") from None
    try:
        document = json.loads(data.decode("utf-8", "replace"), parse_float=_Number, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidContinueToken(f"{_INVALID_KEY}: {_go_syntax_error(data, error)}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        target = "Go value of type storage.continueToken"
        raise InvalidContinueToken(f"{_INVALID_KEY}: json: cannot unmarshal {_json_kind(document)} into {target}")
    return _token_fields(document)


class _Number(str):
    """A JSON number with a fraction or exponent, kept as written: Go quotes the literal in type errors."""


def _reject_constant(name: str) -> None:
    # Python accepts NaN and Infinity; Go's decoder does not.
    raise json.JSONDecodeError("Expecting value", name, 0)


def _token_fields(document: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    first_error = ""
    for name, value in document.items():
        # Go matches struct fields case-insensitively when no exact match exists.
        field = name.lower()
        if field not in _TOKEN_FIELD_TYPES or value is None:
            continue
        go_type = _TOKEN_FIELD_TYPES[field]
        if _fits(value, go_type):
            fields[field] = value
        elif not first_error:
            shown = _json_kind(value)
            if go_type == "int64" and shown == "number":
                shown = f"number {value}"
            first_error = f"json: cannot unmarshal {shown} into Go struct field continueToken.{field} of type {go_type}"
    if first_error:
        raise InvalidContinueToken(f"{_INVALID_KEY}: {first_error}")
    return fields


def _fits(value: object, go_type: str) -> bool:
    if go_type == "string":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | _Number):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go_syntax_error(data: bytes, error: json.JSONDecodeError) -> str:
    """Go's wording for the commonest JSON syntax errors (others get the closest of these)."""
    text = data.decode("utf-8", "replace")
    if error.pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    offending = data[len(text[:error.pos].encode("utf-8"))]
    char = "'\\''" if offending == ord("'") else "'" + go_quote(chr(offending))[1:-1] + "'"
    if error.msg == "Extra data":
        return f"invalid character {char} after top-level value"
    return f"invalid character {char} looking for beginning of value"


# --- 410 Expired and 504 texts ----------------------------------------------------------------------------------

LIST_EXPIRED_MESSAGE: Final = "The resourceVersion for the provided list is too old."
WATCH_EXPIRED_MESSAGE: Final = "The resourceVersion for the provided watch is too old."
CONTINUE_EXPIRED_MESSAGE: Final = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)
INCONSISTENT_CONTINUE_MESSAGE: Final = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token in this response to "
    "retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - "
    "objects that were created, modified, or deleted between the time the first chunk was returned and now may "
    "show up in the list."
)


class ContinueExpired(Expired):
    """410 for a continue token whose revision was compacted; carries a token to go on inconsistently."""

    def __init__(self, continue_token: str = "") -> None:
        super().__init__(INCONSISTENT_CONTINUE_MESSAGE if continue_token else CONTINUE_EXPIRED_MESSAGE)
        self.continue_token = continue_token

    def to_status(self) -> dict[str, object]:
        status = super().to_status()
        if self.continue_token:
            status["metadata"] = {"continue": self.continue_token}
        return status


def continue_expired(start_key: str, key_prefix: str) -> ContinueExpired:
    """The etcd3 store's answer when a continue token's revision was compacted: 410 with a token that
    resumes at `start_key` at the latest revision (rv -1)."""
    try:
        token = encode_continue(start_key, key_prefix, INCONSISTENT_CONTINUE_REVISION)
    except ValueError:
        return ContinueExpired()
    return ContinueExpired(token)


def too_old_resource_version(requested: int, oldest: int) -> Expired:
    """The watch cache's 410 for a watch below its window: `too old resource version: 5 (10)`."""
    return Expired.too_old(requested, oldest)


def too_large_resource_version(requested: int, current: int, *, retry_after_seconds: int = 1) -> Timeout:
    """504 for a resourceVersion the store has not reached in time (`Timeout: Too large resource version: ...`).

    The cache waits and suggests retrying after 1 s; a storage read suggests 0.
    """
    error = Timeout(f"Too large resource version: {requested}, current: {current}")
    error.details = StatusDetails(
        causes=(StatusCause(type="ResourceVersionTooLarge", message="Too large resource version"),),
        retry_after_seconds=retry_after_seconds,
    )
    return error
