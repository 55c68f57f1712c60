"""A rule's `fieldPath` (`.spec.replicas`, `.labels['a.b']`) as the path text upstream appends to the error path.

Upstream's ValidFieldPath walks the rule's schema: a step into an object with properties is a field (`.name`),
a step into a map (additionalProperties) a key (`[name]`). Quoted steps (`['a.b']`) may hold dots. Paths the
CRD's validation would have rejected come back as given, without the leading dot.
"""
from __future__ import annotations

import re
from typing import Final

from apiserver.registry.schema import Schema

_STEP: Final = re.compile(r"""\.([^.\[\]]+)|\[\s*'((?:\\.|[^'\\])*)'\s*\]""")


def normalized_field_path(field_path: str, node: Schema | None) -> str:
    """The path printed after the rule's node: `spec.replicas`, `labels[a.b]` ("" for no fieldPath)."""
    text = ""
    position = 0
    while position < len(field_path):
        match = _STEP.match(field_path, position)
        if match is None or node is None:
            return field_path.lstrip(".")
        name = match[1] if match[1] is not None else match[2].replace("\\'", "'").replace("\\\\", "\\")
        if node.properties:
            text = f"{text}.{name}" if text else name
            node = node.properties.get(name)
        elif node.additional_properties is not None:
            text = f"{text}[{name}]"
            node = node.additional_properties
        else:
            return field_path.lstrip(".")
        position = match.end()
    return text
