"""API errors and the `Status` bodies they render, with kube-apiserver's reasons, codes and message formats.

Clients parse these: kubectl prints `Error from server (<reason>): <message>`, client-go and the Python client
branch on `reason` and `code`. Each constructor therefore reproduces its counterpart in
k8s.io/apimachinery/pkg/api/errors/errors.go, down to Go's `%q` quoting of names.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

_PLAIN_GO_STRING = re.compile(r'[ !#-\[\]-~]*')
_GO_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    '"': '\\"', "\\": "\\\\",
}


def go_quote(text: str) -> str:
    """Quote `text` the way Go's `%q` (strconv.Quote) does; upstream messages quote names and paths with it.

    Printable characters stay as they are; control characters become `\\n`-style or `\\xHH` escapes, other
    unprintable ones `\\uHHHH`/`\\UHHHHHHHH`. Bytes smuggled in through surrogateescape come out as `\\xHH`,
    as Go prints the invalid UTF-8 bytes of a string.
    """
    if _PLAIN_GO_STRING.fullmatch(text):
        return f'"{text}"'
    return '"' + "".join(_go_escape(char) for char in text) + '"'


def _go_escape(char: str) -> str:
    if (escaped := _GO_ESCAPES.get(char)) is not None:
        return escaped
    if char.isprintable():
        return char
    point = ord(char)
    if point < 0x20 or point == 0x7F:
        return f"\\x{point:02x}"
    if 0xDC80 <= point <= 0xDCFF:
        return f"\\x{point - 0xDC00:02x}"
    if 0xD800 <= point <= 0xDFFF:
        return "\\ufffd"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


@dataclass(frozen=True, slots=True)
class StatusCause:
    """One cause of an error (`metav1.StatusCause`). `type` is a CauseType such as `FieldValueInvalid`."""

    type: str = ""
    message: str = ""
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        # Wire names and omitempty as metav1.StatusCause: the type travels as "reason".
        cause: dict[str, str] = {}
        if self.type:
            cause["reason"] = self.type
        if self.message:
            cause["message"] = self.message
        if self.field:
            cause["field"] = self.field
        return cause


@dataclass(frozen=True, slots=True)
class StatusDetails:
    """`metav1.StatusDetails`. `kind` holds the resource (plural) for most errors, as upstream does."""

    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: tuple[StatusCause, ...] = ()
    retry_after_seconds: int = 0

    def to_dict(self) -> dict[str, object]:
        details: dict[str, object] = {}
        for key, value in (("name", self.name), ("group", self.group), ("kind", self.kind), ("uid", self.uid)):
            if value:
                details[key] = value
        if self.causes:
            details["causes"] = [cause.to_dict() for cause in self.causes]
        if self.retry_after_seconds:
            details["retryAfterSeconds"] = self.retry_after_seconds
        return details


class ApiError(Exception):
    """An error that the API reports to its client as a `Status` with an HTTP code.

    The base class itself is upstream's StatusReasonUnknown (code 500, empty reason), which is what an error
    that is not an API error becomes. Subclasses fix `code` and `reason`; their constructors build upstream's
    message. `from_message` builds any of them with a message of the caller's own.
    """

    code: ClassVar[int] = 500
    reason: ClassVar[str] = ""

    def __init__(self, message: str, *, details: StatusDetails | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @classmethod
    def from_message(cls, message: str, *, details: StatusDetails | None = None) -> Self:
        """This error class with `message` verbatim, bypassing the subclass's own message format."""
        error = cls.__new__(cls)
        ApiError.__init__(error, message, details=details)
        return error

    @property
    def retry_after_seconds(self) -> int:
        """Seconds for the `Retry-After` header; 0 means no header."""
        return self.details.retry_after_seconds if self.details is not None else 0

    def to_status(self) -> dict[str, object]:
        """The `Status` object, keys in upstream's order, empty optional fields omitted as Go does."""
        status: dict[str, object] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        if self.message:
            status["message"] = self.message
        if self.reason:
            status["reason"] = self.reason
        if self.details is not None:
            status["details"] = self.details.to_dict()
        status["code"] = self.code
        return status


def _qualified(name: str, group: str) -> str:
    """GroupResource.String() / GroupKind.String(): `pods`, `deployments.apps`."""
    return f"{name}.{group}" if group else name


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    code = 401
    reason = "Unauthorized"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "not authorized")


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"

    def __init__(self, resource: str, name: str, reason: str, *, group: str = "") -> None:
        qualified = _qualified(resource, group)
        if not qualified:
            message = f"forbidden: {reason}"
        elif not name:
            message = f"{qualified} is forbidden: {reason}"
        else:
            message = f"{qualified} {go_quote(name)} is forbidden: {reason}"
        super().__init__(message, details=StatusDetails(name=name, group=group, kind=resource))


class NotFound(ApiError):
    code = 404
    reason = "NotFound"

    def __init__(self, resource: str, name: str, *, group: str = "") -> None:
        super().__init__(
            f"{_qualified(resource, group)} {go_quote(name)} not found",
            details=StatusDetails(name=name, group=group, kind=resource),
        )


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"

    def __init__(self, resource: str, action: str, *, group: str = "") -> None:
        super().__init__(
            f"{action} is not supported on resources of kind {go_quote(_qualified(resource, group))}",
            details=StatusDetails(group=group, kind=resource),
        )


class NotAcceptable(ApiError):
    code = 406
    reason = "NotAcceptable"

    def __init__(self, accepted: Sequence[str]) -> None:
        super().__init__(f"only the following media types are accepted: {', '.join(accepted)}")


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    def __init__(self, resource: str, name: str, *, group: str = "") -> None:
        super().__init__(
            f"{_qualified(resource, group)} {go_quote(name)} already exists",
            details=StatusDetails(name=name, group=group, kind=resource),
        )


class Conflict(ApiError):
    code = 409
    reason = "Conflict"

    def __init__(self, resource: str, name: str, reason: str, *, group: str = "") -> None:
        super().__init__(
            f"Operation cannot be fulfilled on {_qualified(resource, group)} {go_quote(name)}: {reason}",
            details=StatusDetails(name=name, group=group, kind=resource),
        )


class Gone(ApiError):
    code = 410
    reason = "Gone"


class Expired(ApiError):
    """410 Expired: the requested resourceVersion is older than the oldest one still known."""

    code = 410
    reason = "Expired"

    @classmethod
    def too_old(cls, requested: int, oldest: int) -> Expired:
        """The watch cache's wording, e.g. `too old resource version: 1 (50)`."""
        return cls(f"too old resource version: {requested} ({oldest})")


class RequestEntityTooLarge(ApiError):
    code = 413
    reason = "RequestEntityTooLarge"

    def __init__(self, message: str) -> None:
        super().__init__(f"Request entity too large: {message}")


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"

    def __init__(self, accepted: Sequence[str]) -> None:
        super().__init__(
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
        )


class Invalid(ApiError):
    """422 Invalid. `causes` carry one field error each: type, message (the error body) and field path."""

    code = 422
    reason = "Invalid"

    def __init__(self, kind: str, name: str, causes: Sequence[StatusCause], *, group: str = "") -> None:
        message = f"{_qualified(kind, group)} {go_quote(name)} is invalid"
        if summary := _aggregate(causes):
            message = f"{message}: {summary}"
        super().__init__(message, details=StatusDetails(name=name, group=group, kind=kind, causes=tuple(causes)))


def _aggregate(causes: Sequence[StatusCause]) -> str:
    """field.ErrorList.ToAggregate().Error(): distinct `field: body` texts, bracketed when more than one."""
    texts = list(dict.fromkeys(f"{cause.field}: {cause.message}" for cause in causes))
    if len(texts) <= 1:
        return "".join(texts)
    return "[" + ", ".join(texts) + "]"


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"

    def __init__(self, message: str, *, retry_after_seconds: int = 0) -> None:
        super().__init__(message, details=StatusDetails(retry_after_seconds=retry_after_seconds))


class InternalError(ApiError):
    code = 500
    reason = "InternalError"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Internal error occurred: {reason}", details=StatusDetails(causes=(StatusCause(message=reason),))
        )


class ServerTimeout(ApiError):
    code = 500
    reason = "ServerTimeout"

    def __init__(self, resource: str, operation: str, *, retry_after_seconds: int = 0, group: str = "") -> None:
        super().__init__(
            f"The {operation} operation against {_qualified(resource, group)} could not be completed at this time, "
            "please try again.",
            details=StatusDetails(
                name=operation, group=group, kind=resource, retry_after_seconds=retry_after_seconds
            ),
        )


class ServiceUnavailable(ApiError):
    code = 503
    reason = "ServiceUnavailable"


class Timeout(ApiError):
    code = 504
    reason = "Timeout"

    def __init__(self, message: str, *, retry_after_seconds: int = 0) -> None:
        super().__init__(f"Timeout: {message}", details=StatusDetails(retry_after_seconds=retry_after_seconds))


# NewGenericServerResponse's wording for the errors the route table itself raises (upstream: go-restful's
# service errors). These always carry an empty `details` object.
_ROUTE_ERRORS: dict[int, tuple[type[ApiError], str]] = {
    404: (NotFound, "the server could not find the requested resource"),
    405: (MethodNotAllowed, "the server does not allow this method on the requested resource"),
    406: (NotAcceptable, "the server was unable to respond with a content type that the client supports"),
    415: (UnsupportedMediaType, ""),
}


def route_error(code: int, server_message: str = "") -> ApiError:
    """The Status kube-apiserver sends when its route table rejects a request (404, 405, 406 or 415).

    `server_message` is the router's own text (go-restful's `406: Not Acceptable`); upstream keeps it as the
    message for 406 and 415 and uses fixed wording for 404 and 405.
    """
    error_class, message = _ROUTE_ERRORS[code]
    if code in (406, 415) and server_message and server_message != "unknown":
        message = server_message
    return error_class.from_message(message, details=StatusDetails())


def path_not_found() -> NotFound:
    """kube-apiserver's answer to a path nothing serves (its last-resort notfoundhandler): no `details`."""
    return NotFound.from_message("the server could not find the requested resource")
