"""What the server said: a failed answer's Status (message, reason, code, causes with field paths), the Warning
headers of any answer, and a server-side apply conflict read as "who owns which field".

These are read from the raw response, not from ApiClient's exceptions, because the editor must show every cause
and warning the server sent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

FIELD_MANAGER_CONFLICT = "FieldManagerConflict"
# `conflict with "manager"`, then optionally ` with subresource "status"` and ` using apps/v1` (an Update entry).
CONFLICT_CAUSE = re.compile(r'^conflict with "((?:[^"\\]|\\.)*)"(?: with subresource "((?:[^"\\]|\\.)*)")?'
                            r"(?: using (\S+))?$")
# RFC 7234 warning-value: code SP agent SP quoted-text [SP quoted-date], several separated by commas.
WARNING_VALUE = re.compile(r'\s*(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*(?:,|$)')


@dataclass(frozen=True, slots=True)
class Cause:
    type: str
    message: str
    field: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A failed answer as the server described it."""

    code: int
    reason: str
    message: str
    causes: tuple[Cause, ...] = ()

    @property
    def is_conflict(self) -> bool:
        return self.code == 409 and any(cause.type == FIELD_MANAGER_CONFLICT for cause in self.causes)

    @property
    def is_forbidden(self) -> bool:
        return self.code == 403


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field another manager owns with a different value than the one applied."""

    manager: str
    field: str
    subresource: str = ""
    api_version: str = ""  # set when the owner wrote the field with an Update (PUT, PATCH), not an apply

    @property
    def operation(self) -> str:
        return "Update" if self.api_version else "Apply"


def problem_of(status_code: int, body: bytes) -> Problem:
    """The Problem a failed response stands for; a body that is not a Status gives its text as the message."""
    try:
        status = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        status = {}
    if not isinstance(status, dict) or status.get("kind") != "Status":
        text = body.decode("utf-8", "replace").strip()
        return Problem(status_code, "", text or f"the server answered {status_code}")
    details = status.get("details") if isinstance(status.get("details"), dict) else {}
    causes = tuple(Cause(str(cause.get("reason") or ""), str(cause.get("message") or ""),
                         str(cause.get("field") or ""))
                   for cause in details.get("causes") or () if isinstance(cause, dict))
    return Problem(int(status.get("code") or status_code), str(status.get("reason") or ""),
                   str(status.get("message") or ""), causes)


def warnings_of(headers: dict[str, str]) -> tuple[str, ...]:
    """The texts of the response's `Warning` headers (`299 - "text"`), in order."""
    value = headers.get("warning", "")
    texts = [_unquote(match.group(3)) for match in WARNING_VALUE.finditer(value)]
    return tuple(texts)


def field_conflicts(problem: Problem) -> tuple[FieldConflict, ...]:
    """The owners of conflicting fields, one per FieldManagerConflict cause, in the server's order."""
    conflicts: list[FieldConflict] = []
    for cause in problem.causes:
        if cause.type != FIELD_MANAGER_CONFLICT:
            continue
        match = CONFLICT_CAUSE.match(cause.message)
        if match is None:
            conflicts.append(FieldConflict(cause.message, cause.field))
            continue
        conflicts.append(FieldConflict(_unquote(match.group(1)), cause.field, _unquote(match.group(2) or ""),
                                       match.group(3) or ""))
    return tuple(conflicts)


def _unquote(text: str) -> str:
    """Undo Go's %q escaping of `"` and `\\` (other escapes are shown as written)."""
    return re.sub(r'\\(["\\])', r"\1", text)
