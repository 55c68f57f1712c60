"""The diff the editor shows before and after an apply: unified, line by line, between the live object's YAML and
the proposed (dry-run) object's YAML, both without managedFields. Lines carry a kind the template turns into a CSS
class; their text is escaped by the template like every other resource content."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from console.edit.documents import dump_yaml, without_managed_fields

CONTEXT_LINES = 3


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "header", "hunk", "add", "remove" or "context"
    text: str


def object_diff(live: dict[str, Any] | None, proposed: dict[str, Any], *, live_label: str = "live",
                proposed_label: str = "proposed") -> tuple[DiffLine, ...]:
    """The unified diff from `live` (None: the object does not exist yet) to `proposed`; empty when equal."""
    before = dump_yaml(without_managed_fields(live)).splitlines() if live is not None else []
    after = dump_yaml(without_managed_fields(proposed)).splitlines()
    lines = difflib.unified_diff(before, after, fromfile=live_label, tofile=proposed_label, lineterm="",
                                 n=CONTEXT_LINES)
    return tuple(DiffLine(_kind(position, line), line) for position, line in enumerate(lines))


def _kind(position: int, line: str) -> str:
    if position < 2:  # the `--- live` / `+++ proposed` file header
        return "header"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "remove"}.get(line[:1], "context")
