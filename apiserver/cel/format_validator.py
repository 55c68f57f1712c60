"""cel-go's compile-time check of `string.format` (ext/formatting.go stringFormatValidator, active in kube-apiserver
through the strings extension): when the format is a string literal and the arguments a list literal, a missing
argument, an unknown clause, a clause that cannot take its argument's checked type and left-over arguments are
compile errors instead of runtime errors. Arguments of type dyn (or of a schema object type) are left to runtime."""
from __future__ import annotations

from typing import Final

from apiserver.cel.errors import EvaluationError, Issue
from apiserver.cel.ext_format import parse_precision
from apiserver.cel.ext_format_string import MISMATCH_MESSAGES, kind_name
from apiserver.cel.nodes import Call, Const, ListExpr, MapExpr, Node
from apiserver.cel.types import CelType

_ACCEPTED_KINDS: Final = {
    "s": frozenset({"list", "map", "int", "uint", "double", "bool", "string", "timestamp", "bytes", "duration",
                    "type", "null"}),
    "d": frozenset({"int", "uint"}),
    "f": frozenset({"double", "string"}),
    "e": frozenset({"double", "string"}),
    "b": frozenset({"int", "uint", "bool"}),
    "o": frozenset({"int", "uint"}),
    "x": frozenset({"int", "uint", "string", "bytes"}),
    "X": frozenset({"int", "uint", "string", "bytes"}),
}
_UNCHECKED_KINDS: Final = frozenset({"dyn", "error", "param", "object"})


def check_format_call(node: Call, issues: list[Issue]) -> None:
    """Append the first problem of a `'<literal>'.format([<list literal>])` call, as cel-go reports it."""
    target = node.target
    if (node.function != "format" or not isinstance(target, Const) or not isinstance(target.value, str)
            or len(node.args) != 1 or not isinstance(node.args[0], ListExpr)):
        return
    arguments = node.args[0].elements
    try:
        requested = _check_clauses(target.value, arguments)
    except _Problem as problem:
        issues.append(Issue(problem.offset if problem.offset is not None else node.offset, str(problem)))
        return
    except EvaluationError as error:
        issues.append(Issue(node.offset, str(error)))
        return
    if len(arguments) > requested:
        issues.append(Issue(node.offset, f"too many arguments supplied to string.format (expected {requested}, "
                                         f"got {len(arguments)})"))


class _Problem(Exception):
    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


def _check_clauses(template: str, arguments: list[Node]) -> int:
    """The number of arguments the clauses take; raises the first problem."""
    position, requested = 0, 0
    while (found := template.find("%", position)) >= 0:
        if template.startswith("%", found + 1):
            position = found + 2
            continue
        requested += 1
        if found + 1 >= len(template):
            raise _Problem("unexpected end of string")
        if requested > len(arguments):
            raise _Problem(f"index {requested - 1} out of range")
        verb_position, _precision = parse_precision(template, found + 1)
        verb = template[verb_position]
        if verb not in _ACCEPTED_KINDS:
            raise _Problem(f'could not parse formatting clause: unrecognized formatting clause "{verb}"')
        _check_argument(verb, arguments[requested - 1])
        position = verb_position + 1
    return requested


def _check_argument(verb: str, argument: Node) -> None:
    bad = _mismatch(argument, _ACCEPTED_KINDS[verb], recurse=verb == "s")
    if bad is not None:
        offending, cel_type = bad
        raise _Problem("error during formatting: " + MISMATCH_MESSAGES[verb] + _type_name(cel_type), offending.offset)


def _mismatch(argument: Node, accepted: frozenset[str], *, recurse: bool) -> tuple[Node, CelType] | None:
    cel_type = argument.type
    if cel_type is None or cel_type.kind in _UNCHECKED_KINDS:
        return None
    if cel_type.kind not in accepted:
        return argument, cel_type
    if not recurse:
        return None
    # `%s` of a list or map literal checks its members too (cel-go's verifyString).
    members: list[Node] = []
    if isinstance(argument, ListExpr):
        members = argument.elements
    elif isinstance(argument, MapExpr):
        members = [part for entry in argument.entries for part in (entry.key, entry.value)]
    for member in members:
        bad = _mismatch(member, accepted, recurse=True)
        if bad is not None:
            return bad
    return None


def _type_name(cel_type: CelType) -> str:
    if cel_type.kind == "opaque":
        return cel_type.name
    return kind_name(cel_type.kind)
