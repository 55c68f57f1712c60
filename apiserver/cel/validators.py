"""Compile-time checks kube-apiserver adds to cel-go's type checker (environment/base.go validators).

- homogeneous aggregate literals: every element of a list literal (every key, every value of a map literal) has
  the type of the first one (`expected type 'int' but found 'string'`); lists passed to `format` are exempt;
- literal arguments of `duration()`, `timestamp()` and `matches()` must be valid (`invalid duration argument`,
  `invalid timestamp`, `invalid matches argument`);
- constant patterns of `find()`/`findAll()` must compile, else program instantiation fails with the regexp error;
- cel-go's own check of `'<literal>'.format([<list literal>])` clauses against their arguments (format_validator).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from apiserver.cel.errors import EvaluationError, Issue
from apiserver.cel.format_validator import check_format_call
from apiserver.cel.nodes import Call, Comprehension, Const, ListExpr, MapExpr, Node, Select
from apiserver.cel.regexes import compile_regex
from apiserver.cel.timelib import parse_duration, parse_timestamp
from apiserver.cel.types import CelType, format_type, is_dyn, same_type

_EXEMPT_FUNCTIONS: Final = frozenset({"format"})
_MIN_TIMESTAMP_SECONDS: Final = -62135596800
_MAX_TIMESTAMP_SECONDS: Final = 253402300799


class InstantiationError(Exception):
    """A program that type-checks but cannot be built (kube-apiserver's `program instantiation failed: ...`)."""


def validate(tree: Node) -> list[Issue]:
    """The issues of a checked tree; raises InstantiationError for an invalid constant find/findAll pattern."""
    issues: list[Issue] = []
    exempt = {id(argument) for node in _walk(tree) if isinstance(node, Call) and node.function in _EXEMPT_FUNCTIONS
              for argument in node.args}
    for node in _walk(tree):
        if isinstance(node, ListExpr) and id(node) not in exempt:
            _homogeneous(_list_members(node), issues)
        elif isinstance(node, MapExpr):
            _homogeneous([(entry.key, entry.key.type) for entry in node.entries], issues)
            _homogeneous([(entry.value, _inner(entry.value.type, entry.optional)) for entry in node.entries], issues)
        elif isinstance(node, Call):
            _literal_arguments(node, issues)
            check_format_call(node, issues)
    return issues


def _walk(node: Node) -> Iterator[Node]:
    yield node
    children: list[Node] = []
    if isinstance(node, Select):
        children = [node.operand]
    elif isinstance(node, Call):
        children = ([node.target] if node.target is not None else []) + node.args
    elif isinstance(node, ListExpr):
        children = node.elements
    elif isinstance(node, MapExpr):
        children = [part for entry in node.entries for part in (entry.key, entry.value)]
    elif isinstance(node, Comprehension):
        children = [part for part in (node.iter_range, node.predicate, node.transform) if part is not None]
    for child in children:
        yield from _walk(child)


def _inner(cel_type: CelType | None, optional: bool) -> CelType | None:
    if optional and cel_type is not None and cel_type.kind == "optional":
        return cel_type.params[0]
    return cel_type


def _list_members(node: ListExpr) -> list[tuple[Node, CelType | None]]:
    return [(element, _inner(element.type, index in node.optional_indices))
            for index, element in enumerate(node.elements)]


def _homogeneous(members: list[tuple[Node, CelType | None]], issues: list[Issue]) -> None:
    expected: CelType | None = None
    for member, member_type in members:
        if member_type is None:
            continue
        if expected is None:
            expected = member_type
        elif not same_type(expected, member_type) and not is_dyn(member_type) and not is_dyn(expected):
            issues.append(Issue(member.offset, f"expected type '{format_type(expected)}' but found "
                                               f"'{format_type(member_type)}'"))
            return


def _literal_arguments(node: Call, issues: list[Issue]) -> None:
    arguments = ([node.target] if node.target is not None else []) + node.args
    if node.function == "duration" and len(arguments) == 1:
        _check_literal(arguments[0], _valid_duration, "invalid duration argument", issues)
    elif node.function == "timestamp" and len(arguments) == 1:
        _check_literal(arguments[0], _valid_timestamp, "invalid timestamp", issues)
    elif node.function == "matches" and len(arguments) == 2:
        _check_literal(arguments[1], _valid_regex, "invalid matches argument", issues)
    elif node.function in ("find", "findAll") and len(arguments) >= 2 and isinstance(arguments[1], Const):
        pattern = arguments[1].value
        if isinstance(pattern, str):
            try:
                compile_regex(pattern)
            except EvaluationError as error:
                raise InstantiationError(str(error)) from None


def _check_literal(argument: Node, is_valid: object, message: str, issues: list[Issue]) -> None:
    if isinstance(argument, Const) and not is_valid(argument.value):  # type: ignore[operator]
        issues.append(Issue(argument.offset, message))


def _valid_duration(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parse_duration(value)
    except EvaluationError:
        return False
    return True


def _valid_timestamp(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return _MIN_TIMESTAMP_SECONDS <= value <= _MAX_TIMESTAMP_SECONDS
    if not isinstance(value, str):
        return True
    try:
        parse_timestamp(value)
    except EvaluationError:
        return False
    return True


def _valid_regex(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        compile_regex(value)
    except EvaluationError:
        return False
    return True
