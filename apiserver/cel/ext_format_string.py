"""The `%s` clause of `string.format`, as cel-go v0.22 writes values (ext/formatting.go): scalars as `string()`
converts them at the top level, and lists and maps as CEL literals (strings and bytes Go-quoted, doubles with six
decimals, timestamps and durations as `timestamp("...")` and `duration("...")`, map entries `key:value`)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from apiserver.cel.values import kind_of

# Go's strconv.Quote escapes; every other printable rune is written as it is.
_GO_ESCAPES: Final = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\",
    '"': '\\"',
}
# cel-go's ref.Type TypeName() of each runtime kind, as its error messages name them.
_TYPE_NAMES: Final = {
    "null": "null_type", "timestamp": "google.protobuf.Timestamp", "duration": "google.protobuf.Duration",
    "optional": "optional_type",
}
_STRING_CLAUSE_KINDS: Final = frozenset({
    "int", "uint", "double", "bool", "string", "timestamp", "bytes", "duration", "type"})
# What each clause reports for an argument of the wrong type, before the type's name (ext/formatting.go).
MISMATCH_MESSAGES: Final = {
    "s": "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, "
         "and timestamps, was given ",
    "d": "decimal clause can only be used on integers, was given ",
    "f": "fixed-point clause can only be used on doubles, was given ",
    "e": "scientific clause can only be used on doubles, was given ",
    "b": "only integers and bools can be formatted as binary, was given ",
    "o": "octal clause can only be used on integers, was given ",
    "x": "only integers, byte buffers, and strings can be formatted as hex, was given ",
    "X": "only integers, byte buffers, and strings can be formatted as hex, was given ",
}


class FormatError(Exception):
    """A clause cannot format its argument; `string.format` reports it after `error during formatting: `."""


def type_name(value: Any) -> str:
    return kind_name(kind_of(value))


def kind_name(kind: str) -> str:
    """cel-go's TypeName() of a runtime kind (`null_type`, `google.protobuf.Duration`, an opaque type's name)."""
    if kind.startswith("opaque:"):
        return kind.removeprefix("opaque:")
    return _TYPE_NAMES.get(kind, kind)


def go_quote(text: str) -> str:
    """Go's `%q` of a string (strconv.Quote): printable runes kept, others escaped as `\\x`, `\\u` or `\\U`."""
    out = ['"']
    for char in text:
        escaped = _GO_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_escape_rune(ord(char)))
    out.append('"')
    return "".join(out)


def _escape_rune(code: int) -> str:
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF:
        code = 0xFFFD  # not a valid rune: Go writes the replacement character
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def format_string_clause(value: Any) -> str:
    """`%s` of one argument (cel-go's FormatString)."""
    kind = kind_of(value)
    if kind == "list":
        return _format_list(value)
    if kind == "map":
        return _format_map(value)
    if kind == "null":
        return "null"
    if kind not in _STRING_CLAUSE_KINDS:
        raise FormatError(MISMATCH_MESSAGES["s"] + type_name(value))
    return _as_string(value)


def _as_string(value: Any) -> str:
    from apiserver.cel.stdlib import _to_string

    if kind_of(value) == "type":
        return str(value)
    return _to_string(value)


def _format_list(values: Any) -> str:
    return "[" + ", ".join(_literal(item) for item in values) + "]"


def _format_map(entries: Any) -> str:
    pairs = [(_map_key(key), _literal(item)) for key, item in entries.items()]
    pairs.sort(key=lambda pair: pair[0])
    return "{" + ", ".join(f"{key}:{item}" for key, item in pairs) + "}"


def _map_key(key: Any) -> str:
    kind = kind_of(key)
    if kind == "string":
        return go_quote(key)
    if kind == "bool":
        return "true" if key else "false"
    if kind in ("int", "uint"):
        return str(int(key))
    raise FormatError(f"no formatting function for map key of type {type_name(key)}")


def _nested_double(value: float) -> str:
    # Go's %.6f: infinities print as +Inf/-Inf, and those and NaN are quoted so that the text stays a CEL literal.
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"+Inf"' if value > 0 else '"-Inf"'
    return f"{value:.6f}"


def _nested_bytes(value: bytes) -> str:
    from apiserver.cel.stdlib import _to_string

    return "b" + go_quote(_to_string(value))


_LITERALS: Final[dict[str, Callable[[Any], str]]] = {
    "int": lambda value: str(int(value)),
    "uint": lambda value: str(int(value)),
    "string": go_quote,
    "bytes": _nested_bytes,
    "bool": lambda value: "true" if value else "false",
    "null": lambda value: "null",
    "type": str,
    "double": _nested_double,
    "timestamp": lambda value: f'timestamp("{_as_string(value)}")',
    "duration": lambda value: f'duration("{_as_string(value)}")',
    "list": _format_list,
    "map": _format_map,
}


def _literal(value: Any) -> str:
    """A list element or map value (cel-go's clauseForType followed by quoteForCEL)."""
    render = _LITERALS.get(kind_of(value))
    if render is None:
        raise FormatError(f"no formatting function for {type_name(value)}")
    return render(value)
