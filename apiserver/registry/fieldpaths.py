"""Path elements of server-side apply's field sets, as structured-merge-diff's `fieldpath.PathElement`.

A path names one node of an object: `.spec.replicas` is two field elements; list items are named by their key
fields (`[name="nginx"]`, lists of type map), by their value (`[="a"]`, sets) or by position (atomic lists, only
seen in error messages). An element is identified by its `fieldsV1` encoding (`f:replicas`,
`k:{"name":"nginx"}`, `v:"a"`, `i:0`), so two elements are equal exactly when they serialise the same, and it
sorts as upstream sorts elements (fields, then keys, then values, then indexes; values in `value.Compare`
order), which fixes the key order of the encoding and the order of conflict lists.

`go_json` writes JSON as Go's encoder does (sorted object keys, HTML-escaped strings, Go's float format); the
key and value encodings and the last-applied annotation depend on it byte for byte.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from apiserver.meta.errors import go_quote

FIELD: Final = 0
KEY: Final = 1
VALUE: Final = 2
INDEX: Final = 3
_PREFIXES: Final = {"f": FIELD, "k": KEY, "v": VALUE, "i": INDEX}
_JSON_ESCAPES: Final = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
}


@dataclass(frozen=True, slots=True)
class PathElement:
    """One step of a path. Equal (and hashed) by `text`, its fieldsV1 encoding; ordered as upstream orders."""

    text: str
    sort_key: tuple[Any, ...] = field(compare=False, hash=False)
    payload: Any = field(compare=False, hash=False)

    @property
    def kind(self) -> int:
        """FIELD, KEY, VALUE or INDEX."""
        return int(self.sort_key[0])

    @property
    def name(self) -> str:
        """The field name of a FIELD element ("" for the others)."""
        return str(self.payload) if self.kind == FIELD else ""

    def __lt__(self, other: PathElement) -> bool:
        return self.sort_key < other.sort_key

    def __str__(self) -> str:
        """PathElement.String(): `.name`, `[name="x",port=80]`, `[="x"]`, `[0]`."""
        kind = self.kind
        if kind == FIELD:
            return "." + str(self.payload)
        if kind == KEY:
            return "[" + ",".join(f"{name}={value_string(value)}" for name, value in self.payload) + "]"
        if kind == VALUE:
            return f"[={value_string(self.payload)}]"
        return f"[{self.payload}]"


Path = tuple[PathElement, ...]


def field_element(name: str) -> PathElement:
    return PathElement("f:" + name, (FIELD, name), name)


def key_element(fields: Mapping[str, Any]) -> PathElement:
    """The element of a map-list item from its key fields (in any order: they are sorted by name)."""
    ordered = tuple(sorted(fields.items()))
    body = "{" + ",".join(f"{go_json(name)}:{go_json(value)}" for name, value in ordered) + "}"
    return PathElement("k:" + body, (KEY, tuple((name, value_sort_key(value)) for name, value in ordered)), ordered)


def value_element(value: Any) -> PathElement:
    return PathElement("v:" + go_json(value), (VALUE, value_sort_key(value)), value)


def index_element(index: int) -> PathElement:
    return PathElement(f"i:{index}", (INDEX, index), index)


class PathElementError(ValueError):
    """A fieldsV1 key that is not a path element (upstream's DeserializePathElement errors)."""


class UnknownPathElement(PathElementError):
    """A key with a prefix this version does not know; upstream drops such keys silently."""


def parse_path_element(text: str) -> PathElement:
    """DeserializePathElement. Raises UnknownPathElement for an unknown prefix, PathElementError otherwise."""
    if len(text) < 2:
        raise PathElementError("key must be 2 characters long:")
    if text[1] != ":":
        raise PathElementError(f"missing colon: {text}")
    kind = _PREFIXES.get(text[0])
    if kind is None:
        raise UnknownPathElement("unknown path element type")
    body = text[2:]
    if kind == FIELD:
        return field_element(body)
    if kind == INDEX:
        try:
            return index_element(int(body))
        except ValueError:
            raise PathElementError(f'strconv.Atoi: parsing "{body}": invalid syntax') from None
    value = _parse_json(body)
    if kind == VALUE:
        return value_element(value)
    if not isinstance(value, dict):
        raise PathElementError("expected a JSON object after k:")
    return key_element(value)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise PathElementError(f"parsing JSON: {error}") from None


def path_string(path: Path) -> str:
    """Path.String(): the elements' strings joined, `.spec.template.spec.containers[name="nginx"].image`."""
    return "".join(str(element) for element in path)


def value_sort_key(value: Any) -> tuple[Any, ...]:
    """value.Compare's order: numbers < strings < booleans < lists < maps < null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(value_sort_key(item) for item in value))
    if isinstance(value, dict):
        return (4, tuple((key, value_sort_key(value[key])) for key in sorted(value)))
    return (5,)


def value_string(value: Any) -> str:
    """value.ToString: strings Go-quoted, numbers and booleans as Go prints them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value, for_json=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        return "[" + ",".join(value_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{key}={value_string(item)}" for key, item in value.items())
    return str(value)


def go_json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it: sorted keys, `<>&` escaped, Go float format."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value, for_json=True)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_string(str(key))}:{go_json(value[key])}" for key in sorted(value)) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def _go_string(text: str) -> str:
    escaped = []
    for char in text:
        replacement = _JSON_ESCAPES.get(char)
        if replacement is not None:
            escaped.append(replacement)
        elif char < " ":
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _go_float(number: float, *, for_json: bool) -> str:
    """encoding/json's float64 text (for_json) or fmt's %v, both from the shortest digits."""
    if math.isnan(number) or math.isinf(number):
        return str(number)
    exact = Decimal(repr(number))
    exponent = exact.adjusted()
    if for_json:
        scientific = number != 0 and not 1e-6 <= abs(number) < 1e21
    else:
        scientific = number != 0 and (exponent < -4 or exponent >= 6)
    if not scientific:
        text = format(exact, "f")
        return text[:-2] if text.endswith(".0") else text
    mantissa, _, power = format(exact.normalize(), "e").partition("e")
    sign, digits = power[0], power[1:].lstrip("0") or "0"
    if not for_json or sign == "+":
        # strconv writes two exponent digits at least; encoding/json trims `e-07` back to `e-7`.
        digits = digits.zfill(2)
    return f"{mantissa}e{sign}{digits}"
