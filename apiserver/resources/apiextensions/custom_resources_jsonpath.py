"""The JSONPath subset of printer columns (client-go's util/jsonpath, as the CRD table convertor uses it).

A column's `jsonPath` (`.spec.replicas`, `.status.conditions[?(@.type=="Ready")].status`,
`.metadata.labels['app\\.kubernetes\\.io/name']`, `.spec.items[0].name`, `.spec.items[*].name`) is parsed once
into steps; `find` returns every value it reaches, in document order, missing keys skipped (upstream's
AllowMissingKeys). The table convertor uses the first value only.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_\-/$]+")
_FILTER: Final = re.compile(r"^\?\(\s*@((?:\.[^\s=!<>]+)*)\s*(==|!=|<=|>=|<|>)?\s*(.*?)\s*\)$")

Step = Callable[[list[Any]], list[Any]]


class JSONPathError(ValueError):
    """The path cannot be parsed."""


@dataclass(frozen=True, slots=True)
class JSONPath:
    """A parsed path; `find(obj)` gives what it reaches."""

    text: str
    steps: tuple[Step, ...]

    def find(self, obj: Any) -> list[Any]:
        values = [obj]
        for step in self.steps:
            values = step(values)
        return values


def parse(text: str) -> JSONPath:
    """Parse a column's JSONPath (with or without surrounding braces). Raises JSONPathError."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    steps: list[Step] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char == ".":
            position += 1
            if position < len(body) and body[position] == "[":
                continue
            match = _IDENTIFIER.match(body, position)
            if match is None:
                if position >= len(body):
                    break
                raise JSONPathError(f"unrecognized identifier in {text!r}")
            steps.append(_field(match.group()))
            position = match.end()
        elif char == "[":
            end = _closing_bracket(body, position)
            steps.append(_bracket(body[position + 1:end].strip(), text))
            position = end + 1
        elif char == "@" and position == 0:
            position += 1
        else:
            raise JSONPathError(f"unrecognized character {char!r} in {text!r}")
    return JSONPath(text, tuple(steps))


def _closing_bracket(body: str, start: int) -> int:
    quote = ""
    escaped = False
    depth = 0
    for index in range(start, len(body)):
        char = body[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
            if depth == 0 and char == "]":
                return index
    raise JSONPathError(f"unclosed array expect ] in {body!r}")


def _field(name: str) -> Step:
    def step(values: list[Any]) -> list[Any]:
        if name == "*":
            return [item for value in values for item in _children(value)]
        return [value[name] for value in values if isinstance(value, dict) and name in value]
    return step


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _bracket(inner: str, text: str) -> Step:
    if inner.startswith("?"):
        return _filter(inner, text)
    if inner == "*":
        return lambda values: [item for value in values for item in _children(value)]
    if inner[:1] in "'\"":
        keys = [_unquote(part.strip()) for part in _split_commas(inner)]
        return lambda values: [value[key] for value in values for key in keys
                               if isinstance(value, dict) and key in value]
    if ":" in inner:
        return _slice(inner, text)
    try:
        index = int(inner)
    except ValueError:
        raise JSONPathError(f"invalid array index {inner!r} in {text!r}") from None
    return lambda values: [value[index] for value in values
                           if isinstance(value, list) and -len(value) <= index < len(value)]


def _slice(inner: str, text: str) -> Step:
    try:
        bounds = [int(part) if part.strip() else None for part in inner.split(":")]
    except ValueError:
        raise JSONPathError(f"invalid array slice {inner!r} in {text!r}") from None
    window = slice(*bounds[:3])
    return lambda values: [item for value in values if isinstance(value, list) for item in value[window]]


def _split_commas(inner: str) -> list[str]:
    parts: list[str] = []
    current = ""
    quote = ""
    for char in inner:
        if quote:
            current += char
            if char == quote and not current.endswith("\\" + quote):
                quote = ""
        elif char in "'\"":
            quote = char
            current += char
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return re.sub(r"\\(.)", r"\1", text)


def _filter(inner: str, text: str) -> Step:
    match = _FILTER.match(inner)
    if match is None:
        raise JSONPathError(f"unrecognized filter {inner!r} in {text!r}")
    path_text, operator, literal_text = match.groups()
    if not operator and literal_text:
        raise JSONPathError(f"unrecognized filter {inner!r} in {text!r}")
    left = parse(path_text) if path_text else JSONPath("", ())
    literal = _literal(literal_text) if operator else None

    def keeps(item: Any) -> bool:
        found = left.find(item)
        if not operator:
            return bool(found)
        return any(_compare(value, operator, literal) for value in found)

    def step(values: list[Any]) -> list[Any]:
        return [item for value in values for item in _children(value) if keeps(item)]
    return step


def _literal(text: str) -> Any:
    if text[:1] in "'\"":
        return _unquote(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JSONPathError(f"unrecognized literal {text!r}") from None


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if operator == "==":
        return bool(value == literal)
    if operator == "!=":
        return bool(value != literal)
    numbers = (int, float)
    if not (isinstance(value, numbers) and isinstance(literal, numbers)):
        return False
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    }
    return comparisons[operator](value, literal)


def first_value(path: JSONPath, obj: Any) -> tuple[bool, Any]:
    """(found, value): the first value the path reaches in `obj`."""
    found: Sequence[Any] = path.find(obj)
    return (True, found[0]) if found else (False, None)
