"""The expression tree the parser builds and the checker annotates (macros already expanded)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apiserver.cel.types import CelType


@dataclass(slots=True, eq=False)
class Node:
    offset: int
    # Set by the checker.
    type: CelType | None = field(default=None, init=False)


@dataclass(slots=True, eq=False)
class Const(Node):
    value: Any


@dataclass(slots=True, eq=False)
class Ident(Node):
    name: str


@dataclass(slots=True, eq=False)
class Select(Node):
    operand: Node
    field: str
    test_only: bool = False  # has(a.b)
    # Set by the checker when the whole selection names a type (`net.IP`, `google.protobuf.Timestamp`).
    qualified_type: CelType | None = None
    # Set by the checker when the operand is optional: `a.?b.c` selects through the optional (none stays none).
    optional_chain: bool = False


@dataclass(slots=True, eq=False)
class Call(Node):
    """A function, operator (`_+_`, `_[_]`, `_?_:_`, `_&&_`, `@in`, `_?._`) or member call (`target` set)."""

    function: str
    args: list[Node]
    target: Node | None = None
    # Set by the checker: the overloads that may apply at runtime.
    overloads: list[Any] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class ListExpr(Node):
    elements: list[Node]
    optional_indices: frozenset[int] = frozenset()


@dataclass(slots=True, eq=False)
class MapEntry:
    key: Node
    value: Node
    optional: bool = False


@dataclass(slots=True, eq=False)
class MapExpr(Node):
    entries: list[MapEntry]


@dataclass(slots=True, eq=False)
class Comprehension(Node):
    """An expanded macro: `all`, `exists`, `exists_one`, `map`, `filter` over `iter_range` with `variable`."""

    macro: str
    iter_range: Node
    variable: str
    predicate: Node | None
    transform: Node | None = None
