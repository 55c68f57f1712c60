"""The type checker: resolves identifiers, fields and overloads, and reports errors as cel-go's checker does."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.cel.authz import AUTHORIZER_FIELDS, AUTHORIZER_TYPE
from apiserver.cel.errors import Issue
from apiserver.cel.nodes import Call, Comprehension, Const, Ident, ListExpr, MapExpr, Node, Select
from apiserver.cel.overloads import Library, Overload
from apiserver.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    ERROR,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    UINT,
    CelType,
    ObjectType,
    format_type,
    is_assignable,
    is_dyn,
    join_types,
    list_of,
    map_of,
    opaque,
    optional_of,
    sized,
    substitute,
    type_of,
)
from apiserver.cel.values import UInt

TYPE_NAMES: Final = {
    "int": INT, "uint": UINT, "double": DOUBLE, "bool": BOOL, "string": STRING, "bytes": BYTES,
    "null_type": NULL, "list": list_of(DYN), "map": map_of(DYN, DYN), "dyn": DYN, "type": type_of(DYN),
    "google.protobuf.Timestamp": TIMESTAMP, "google.protobuf.Duration": DURATION,
    "optional_type": optional_of(DYN),  # declared by cel-go's optional library (Types(types.OptionalType))
    **{name: opaque(name) for name in ("net.IP", "net.CIDR", "kubernetes.URL", "kubernetes.Quantity",
                                       "kubernetes.NamedFormat")},
}


def const_type(value: Any) -> CelType:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, UInt):
        return UINT
    return {int: INT, float: DOUBLE, str: STRING, bytes: BYTES, type(None): NULL}[type(value)]


class Checker:
    def __init__(self, variables: Mapping[str, CelType], functions: Library) -> None:
        self.scopes: list[dict[str, CelType]] = [dict(variables)]
        self.functions = functions
        self.issues: list[Issue] = []

    def error(self, node: Node, message: str) -> CelType:
        self.issues.append(Issue(node.offset, message))
        return ERROR

    def check(self, node: Node) -> CelType:
        result = self._check(node)
        node.type = result
        return result

    def _check(self, node: Node) -> CelType:
        if isinstance(node, Const):
            value_type = const_type(node.value)
            return sized(value_type, len(node.value)) if value_type in (STRING, BYTES) else value_type
        if isinstance(node, Ident):
            return self.ident(node)
        if isinstance(node, Select):
            return self.select(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, ListExpr):
            return self.list_expr(node)
        if isinstance(node, MapExpr):
            return self.map_expr(node)
        assert isinstance(node, Comprehension)
        return self.comprehension(node)

    def lookup(self, name: str) -> CelType | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def ident(self, node: Ident) -> CelType:
        name = node.name.lstrip(".")
        found = self.lookup(name)
        if found is not None:
            return found
        if name in TYPE_NAMES:
            return type_of(TYPE_NAMES[name])
        return self.error(node, f"undeclared reference to '{name}' (in container '')")

    def select(self, node: Select) -> CelType:
        qualified = _qualified_name(node)
        if qualified is not None and qualified in TYPE_NAMES and self.lookup(qualified.split(".")[0]) is None:
            node.qualified_type = TYPE_NAMES[qualified]
            return type_of(TYPE_NAMES[qualified])
        operand = self.check(node.operand)
        if operand.kind == "optional" and not node.test_only:
            node.optional_chain = True
            inner = self.field_type(node, operand.params[0], node.field)
            return inner if inner is ERROR else optional_of(inner)
        field_type = self.field_type(node, operand, node.field)
        return BOOL if node.test_only and field_type is not ERROR else field_type

    def field_type(self, node: Node, operand: CelType, name: str) -> CelType:
        if is_dyn(operand):
            return DYN
        if isinstance(operand, ObjectType):
            found = operand.fields.get(name)
            return found if found is not None else self.error(node, f"undefined field '{name}'")
        if operand.kind == "map" and operand.params[0].kind in ("string", "dyn"):
            return operand.params[1]
        if operand == AUTHORIZER_TYPE and name in AUTHORIZER_FIELDS:
            return AUTHORIZER_FIELDS[name]
        return self.error(node, f"type '{format_type(operand)}' does not support field selection")

    def call(self, node: Call) -> CelType:
        function = node.function
        if function in ("_&&_", "_||_"):
            return self.logical(node)
        if function == "_?_:_":
            return self.conditional(node)
        if function == "_?._":
            operand = self.check(node.args[0])
            node.args[1].type = STRING
            inner = operand.params[0] if operand.kind == "optional" else operand
            return optional_of(self.field_type(node, inner, node.args[1].value))  # type: ignore[attr-defined]
        if function == "_[?_]":
            return self.optional_index(node)
        if node.target is not None and self.qualified(node):
            node.function, node.target = self.qualified_name(node), None
        return self.resolve(node)

    def qualified(self, node: Call) -> bool:
        target = node.target
        return (isinstance(target, Ident) and self.lookup(target.name) is None
                and f"{target.name}.{node.function}" in self.functions)

    @staticmethod
    def qualified_name(node: Call) -> str:
        assert isinstance(node.target, Ident)
        return f"{node.target.name}.{node.function}"

    def resolve(self, node: Call) -> CelType:
        arguments = [node.target, *node.args] if node.target is not None else list(node.args)
        types = [self.check(argument) for argument in arguments]
        overloads = self.functions.get(node.function)
        if overloads is None:
            return self.error(node, f"undeclared reference to '{node.function}' (in container '')")
        if ERROR in types:
            return ERROR
        is_member = node.target is not None
        matched: list[tuple[Overload, CelType]] = []
        for candidate in overloads:
            if candidate.member != is_member or len(candidate.params) != len(types):
                continue
            bindings: dict[str, CelType] = {}
            if all(is_assignable(param, actual, bindings) for param, actual in zip(candidate.params, types,
                                                                                   strict=True)):
                matched.append((candidate, substitute(candidate.result, bindings)))
        if not matched:
            return self.error(node, f"found no matching overload for '{node.function}' applied to "
                                    f"'{_format_arguments(types, is_member)}'")
        node.overloads = [candidate for candidate, _ in matched]
        result = matched[0][1]
        for _, other in matched[1:]:
            result = join_types(result, other)
        return result

    def logical(self, node: Call) -> CelType:
        types = [self.check(argument) for argument in node.args]
        if ERROR in types:
            return ERROR
        if all(is_assignable(BOOL, argument) for argument in types):
            return BOOL
        return self.error(node, f"found no matching overload for '{node.function}' applied to "
                                f"'{_format_arguments(types, False)}'")

    def conditional(self, node: Call) -> CelType:
        types = [self.check(argument) for argument in node.args]
        if ERROR in types:
            return ERROR
        if not is_assignable(BOOL, types[0]) or not (
                is_assignable(types[1], types[2], {}) or is_assignable(types[2], types[1], {})):
            return self.error(node, f"found no matching overload for '_?_:_' applied to "
                                    f"'{_format_arguments(types, False)}'")
        return types[1] if types[1] == types[2] and not is_dyn(types[1]) else (
            types[2] if types[1].kind == "null" else (types[1] if types[2].kind == "null" else join_types(*types[1:])))

    def optional_index(self, node: Call) -> CelType:
        container, index = (self.check(argument) for argument in node.args)
        if ERROR in (container, index):
            return ERROR
        inner = container.params[0] if container.kind == "optional" else container
        # cel-go's overloads: (list(V), int) and (map(K, V), K), also on optional containers.
        if inner.kind == "list" and is_assignable(INT, index, {}):
            return optional_of(inner.params[0])
        if inner.kind == "map" and is_assignable(inner.params[0], index, {}):
            return optional_of(inner.params[1])
        if is_dyn(inner):
            return optional_of(DYN)
        return self.error(node, f"found no matching overload for '_[?_]' applied to "
                                f"'{_format_arguments([container, index], False)}'")

    def list_expr(self, node: ListExpr) -> CelType:
        element: CelType | None = None
        for index, member in enumerate(node.elements):
            member_type = self.check(member)
            if index in node.optional_indices:
                member_type = member_type.params[0] if member_type.kind == "optional" else DYN
            element = member_type if element is None else join_types(element, member_type)
        return list_of(element if element is not None else DYN, len(node.elements))

    def map_expr(self, node: MapExpr) -> CelType:
        key: CelType | None = None
        value: CelType | None = None
        for entry in node.entries:
            key_type, value_type = self.check(entry.key), self.check(entry.value)
            if entry.optional:
                value_type = value_type.params[0] if value_type.kind == "optional" else DYN
            key = key_type if key is None else join_types(key, key_type)
            value = value_type if value is None else join_types(value, value_type)
        return map_of(key or DYN, value or DYN, len(node.entries))

    def comprehension(self, node: Comprehension) -> CelType:
        range_type = self.check(node.iter_range)
        if range_type is ERROR:
            return ERROR
        variable = self.iteration_type(node, range_type)
        if variable is ERROR:
            return ERROR
        self.scopes.append({node.variable: variable})
        try:
            if node.predicate is not None:
                predicate = self.check(node.predicate)
                if predicate is not ERROR and not is_assignable(BOOL, predicate):
                    return self.error(node.predicate, f"expected type 'bool' but found '{format_type(predicate)}'")
            transform = self.check(node.transform) if node.transform is not None else None
        finally:
            self.scopes.pop()
        return self.comprehension_result(node, range_type, variable, transform)

    def iteration_type(self, node: Comprehension, range_type: CelType) -> CelType:
        if node.macro in ("optMap", "optFlatMap"):
            if range_type.kind == "optional":
                return range_type.params[0]
            return DYN if is_dyn(range_type) else self.error(
                node, f"found no matching overload for '{node.macro}' applied to '{format_type(range_type)}'")
        if range_type.kind == "list":
            return range_type.params[0]
        if range_type.kind == "map":
            return range_type.params[0]
        if is_dyn(range_type):
            return DYN
        return self.error(node.iter_range, f"expression of type '{format_type(range_type)}' cannot be range of a "
                                           "comprehension (must be list, map, or dynamic)")

    @staticmethod
    def comprehension_result(node: Comprehension, range_type: CelType, variable: CelType,
                             transform: CelType | None) -> CelType:
        if node.macro in ("all", "exists", "exists_one"):
            return BOOL
        if node.macro == "filter":
            return list_of(variable, range_type.max_size)
        if node.macro == "optMap":
            return optional_of(transform or DYN)
        if node.macro == "optFlatMap":
            return transform if transform is not None and transform.kind == "optional" else optional_of(DYN)
        return list_of(transform or DYN, range_type.max_size)


def _qualified_name(node: Node) -> str | None:
    """`a.b.c` for a selection chain rooted at an identifier (not a has() test), else None."""
    parts: list[str] = []
    while isinstance(node, Select) and not node.test_only:
        parts.append(node.field)
        node = node.operand
    if not isinstance(node, Ident):
        return None
    return ".".join([node.name.lstrip("."), *reversed(parts)])


def _format_arguments(types: list[CelType], is_member: bool) -> str:
    if is_member:
        receiver, *rest = types
        return f"{format_type(receiver)}.({', '.join(format_type(t) for t in rest)})"
    return f"({', '.join(format_type(t) for t in types)})"
