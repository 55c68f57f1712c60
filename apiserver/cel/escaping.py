"""Upstream's escaping of schema property names into CEL field names (apiserver/pkg/cel/escaping.go):
CEL keywords become `__{keyword}__`; `__`, `.`, `-` and `/` become `__underscores__`, `__dot__`, `__dash__` and
`__slash__`; names with any other character are not accessible as fields."""
from __future__ import annotations

import re
from typing import Final

CEL_RESERVED: Final = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import",
    "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_ESCAPABLE: Final = re.compile(r"[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*")
_REPLACEMENTS: Final = (("__", "__underscores__"), (".", "__dot__"), ("-", "__dash__"), ("/", "__slash__"))


def escape(name: str) -> str | None:
    """The CEL field name of a property, or None when the property cannot be named in CEL."""
    if name in CEL_RESERVED:
        return f"__{name}__"
    if not _ESCAPABLE.fullmatch(name):
        return None
    for old, new in _REPLACEMENTS:
        name = name.replace(old, new)
    return name


def unescape(name: str) -> str:
    """The property name a CEL field name stands for (the inverse of `escape`)."""
    if name.startswith("__") and name.endswith("__") and name[2:-2] in CEL_RESERVED:
        return name[2:-2]
    result, index = [], 0
    tokens = {new: old for old, new in _REPLACEMENTS}
    while index < len(name):
        for token, original in tokens.items():
            if name.startswith(token, index):
                result.append(original)
                index += len(token)
                break
        else:
            result.append(name[index])
            index += 1
    return "".join(result)
