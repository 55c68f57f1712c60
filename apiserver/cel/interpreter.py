"""Turns a checked tree into nested Python closures, compiled once and evaluated many times.

Each closure takes the frame (a dict of variables) and the cost meter. Runtime cost follows cel-go's model:
identifiers, field selections and indexes cost 1, constants and logical operators 0, each function call its
overload's cost (1 unless the library says otherwise), list literals 10, map literals 30, and a macro the
cost of the loop its expansion runs (see `comprehensions.py`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final

from apiserver.cel.adapt import adapter_for
from apiserver.cel.errors import CostLimitExceeded, EvaluationError
from apiserver.cel.folding import constant_set, constant_value, is_constant
from apiserver.cel.nodes import Call, Comprehension, Ident, ListExpr, MapExpr, Node, Select
from apiserver.cel.overloads import Overload
from apiserver.cel.types import ObjectType, is_dyn
from apiserver.cel.values import OptionalValue, equal, kind_of, lookup_key, missing

Evaluator = Callable[[dict[str, Any], "Meter"], Any]

LIST_CREATE_COST: Final = 10
MAP_CREATE_COST: Final = 30


class Meter:
    """The running cost of one evaluation; raises CostLimitExceeded when it passes the limit."""

    __slots__ = ("cost", "limit")

    def __init__(self, limit: int | None) -> None:
        self.cost = 0
        self.limit = limit if limit is not None else 1 << 62

    def add(self, amount: int) -> None:
        self.cost += amount
        if self.cost > self.limit:
            raise CostLimitExceeded()


def compile_node(node: Node) -> Evaluator:
    folded = constant_value(node)
    if is_constant(folded):
        return lambda frame, meter: folded
    if isinstance(node, Ident):
        return _ident(node)
    if isinstance(node, Select):
        return _select(node)
    if isinstance(node, Call):
        return _call(node)
    if isinstance(node, ListExpr):
        return _list(node)
    if isinstance(node, MapExpr):
        return _map(node)
    assert isinstance(node, Comprehension)
    from apiserver.cel.comprehensions import compile_comprehension

    return compile_comprehension(node, compile_node)


def _ident(node: Ident) -> Evaluator:
    name = node.name.lstrip(".")
    adapt = adapter_for(node.type) if node.type is not None else None
    if node.type is not None and node.type.kind == "type":
        from apiserver.cel.checker import TYPE_NAMES

        type_value = TYPE_NAMES.get(name)
        if type_value is not None:
            return lambda frame, meter: frame.get(name, type_value)

    def ident(frame: dict[str, Any], meter: Meter) -> Any:
        meter.add(1)
        try:
            value = frame[name]
        except KeyError:
            raise EvaluationError(f"no such attribute(s): {name}") from None
        return adapt(value) if adapt is not None else value

    return ident


def _select(node: Select) -> Evaluator:
    if node.qualified_type is not None:
        type_value = node.qualified_type
        return lambda frame, meter: type_value
    if node.optional_chain:
        from apiserver.cel.optionals import compile_optional_chain

        return compile_optional_chain(node, compile_node)
    operand = compile_node(node.operand)
    field = node.field
    operand_type = node.operand.type
    # Matches kube-apiserver: a schema object's field set to null is absent (common/values.go).
    is_schema_object = isinstance(operand_type, ObjectType)
    if isinstance(operand_type, ObjectType):
        field = operand_type.property_names.get(field, field)
    if node.test_only:
        # Matches kube-apiserver, which turns cel-go's PresenceTestHasCost off: has() costs what its operand costs.
        def test(frame: dict[str, Any], meter: Meter) -> Any:
            value = operand(frame, meter)
            if not isinstance(value, Mapping):
                raise EvaluationError("invalid type for field selection.")
            found = lookup_key(value, field)
            return not missing(found) and not (is_schema_object and found is None)

        return test
    adapt = adapter_for(node.type) if node.type is not None and is_schema_object else None

    def select(frame: dict[str, Any], meter: Meter) -> Any:
        value = operand(frame, meter)
        meter.add(1)
        return select_field(value, field, adapt, null_is_absent=is_schema_object)

    return select


def select_field(value: Any, field: str, adapt: Callable[[Any], Any] | None, *, null_is_absent: bool) -> Any:
    if not isinstance(value, Mapping) and value is not None and kind_of(value) == _AUTHORIZER_KIND:
        from apiserver.cel import authz

        return authz.select_field(value, field)
    if not isinstance(value, Mapping):
        raise EvaluationError("no such overload" if value is not None else f"no such key: {field}")
    found = value.get(field, _ABSENT)
    if found is _ABSENT or (found is None and null_is_absent):
        raise EvaluationError(f"no such key: {field}")
    return adapt(found) if adapt is not None else found


_ABSENT: Final = object()
_AUTHORIZER_KIND: Final = "opaque:kubernetes.authorization.Authorizer"


def _call(node: Call) -> Evaluator:
    function = node.function
    if function == "_&&_":
        return _logical(node, short_circuit=False)
    if function == "_||_":
        return _logical(node, short_circuit=True)
    if function == "_?_:_":
        return _conditional(node)
    if function == "@in":
        members = constant_set(node.args[1])
        if members is not None:
            return _set_membership(compile_node(node.args[0]), members)
    if function in ("_?._", "_[?_]"):
        from apiserver.cel.optionals import compile_optional_access

        return compile_optional_access(node, compile_node)
    from apiserver.cel.optionals import compile_lazy_or, is_lazy_or

    if is_lazy_or(node):
        return compile_lazy_or(node, compile_node)
    arguments = [compile_node(argument) for argument in ([node.target] if node.target else []) + node.args]
    if function == "_[_]" and isinstance(node.args[1], Ident):
        arguments[1] = _qualifier(node.args[1])
    container_type = node.args[0].type if function == "_[_]" else None
    if container_type is not None and container_type.kind == "list" and container_type.name:
        from apiserver.cel.stdlib import index_schema_list

        node.overloads = [replace(candidate, impl=index_schema_list) for candidate in node.overloads]
    return _dispatch(node, arguments)


def _qualifier(node: Ident) -> Evaluator:
    """A variable used as an index: cel-go charges the index, not a separate read of the variable."""
    charged = compile_node(node)

    def qualifier(frame: dict[str, Any], meter: Meter) -> Any:
        return charged(frame, Meter(None))

    return qualifier


def _set_membership(element: Evaluator, members: frozenset[Any]) -> Evaluator:
    """`x in [constants]` as cel-go optimizes it: a hash lookup that adds no cost of its own."""
    def contains(frame: dict[str, Any], meter: Meter) -> Any:
        value = element(frame, meter)
        kind = kind_of(value)
        if (kind, value) in members:
            return True
        if kind in ("int", "uint", "double"):
            return any(equal(value, member) for _, member in members)
        return False

    return contains


def _dispatch(node: Call, arguments: list[Evaluator]) -> Evaluator:
    """A call. As in cel-go, a call whose argument or implementation fails is still charged its cost."""
    overloads = node.overloads
    static = [argument.type for argument in ([node.target] if node.target else []) + node.args]
    if len(overloads) == 1 and not any(t is None or is_dyn(t) for t in static):
        return _direct(overloads[0], arguments)

    def dispatch(frame: dict[str, Any], meter: Meter) -> Any:
        values, failure = evaluate_arguments(arguments, frame, meter)
        if failure is None:
            for candidate in overloads:
                if candidate.accepts(values):
                    return _charged_call(candidate, values, meter)
            failure = EvaluationError("no such overload")
        meter.add(1)
        raise failure

    return dispatch


def _direct(candidate: Overload, arguments: list[Evaluator]) -> Evaluator:
    impl, cost = candidate.impl, candidate.cost
    if len(arguments) == 2 and cost is None:
        left, right = arguments

        def binary(frame: dict[str, Any], meter: Meter) -> Any:
            try:
                first = left(frame, meter)
            except CostLimitExceeded:
                raise
            except EvaluationError:
                evaluate_arguments([right], frame, meter)  # cel-go evaluates both, then charges the call
                meter.add(1)
                raise
            try:
                second = right(frame, meter)
            finally:
                meter.add(1)
            return _safe(impl, first, second)

        return binary

    def call(frame: dict[str, Any], meter: Meter) -> Any:
        values, failure = evaluate_arguments(arguments, frame, meter)
        if failure is not None:
            meter.add(cost(values, None) if cost is not None else 1)
            raise failure
        return _charged_call(candidate, values, meter)

    return call


_FAILED: Final = object()


def evaluate_arguments(arguments: list[Evaluator], frame: dict[str, Any],
                       meter: Meter) -> tuple[list[Any], EvaluationError | None]:
    """Every argument's value (a placeholder for those that failed) and the first failure."""
    values: list[Any] = []
    failure: EvaluationError | None = None
    for argument in arguments:
        try:
            values.append(argument(frame, meter))
        except CostLimitExceeded:
            raise
        except EvaluationError as error:
            failure = failure or error
            values.append(_FAILED)
    return values, failure


def _charged_call(candidate: Overload, values: list[Any], meter: Meter) -> Any:
    try:
        result = invoke(candidate, values)
    except EvaluationError:
        meter.add(candidate.cost(values, None) if candidate.cost is not None else 1)
        raise
    meter.add(candidate.cost(values, result) if candidate.cost is not None else 1)
    return result


def invoke(candidate: Overload, values: list[Any]) -> Any:
    return _safe(candidate.impl, *values)


def _safe(impl: Callable[..., Any], *values: Any) -> Any:
    try:
        return impl(*values)
    except (TypeError, AttributeError):
        raise EvaluationError("no such overload") from None
    except (ValueError, OverflowError, ArithmeticError) as error:
        raise EvaluationError(str(error)) from None


def _logical(node: Call, *, short_circuit: bool) -> Evaluator:
    left, right = (compile_node(argument) for argument in node.args)

    # As cel-go's evalAnd/evalOr: an error or a non-bool on the left is absorbed when the right side decides the
    # result (`dyn(1) || true` is true); otherwise the first error wins.
    def logical(frame: dict[str, Any], meter: Meter) -> Any:
        try:
            first = left(frame, meter)
        except CostLimitExceeded:
            raise
        except EvaluationError as error:
            first_error = error
        else:
            if first is short_circuit:
                return short_circuit
            if type(first) is bool:
                second = right(frame, meter)
                if type(second) is not bool:
                    raise EvaluationError("no such overload")
                return second
            first_error = EvaluationError("no such overload")
        try:
            second = right(frame, meter)
        except CostLimitExceeded:
            raise
        except EvaluationError:
            raise first_error from None
        if second is short_circuit:
            return short_circuit
        raise first_error

    return logical


def _conditional(node: Call) -> Evaluator:
    condition, truthy, falsy = (compile_node(argument) for argument in node.args)

    def conditional(frame: dict[str, Any], meter: Meter) -> Any:
        chosen = condition(frame, meter)
        if chosen is True:
            return truthy(frame, meter)
        if chosen is False:
            return falsy(frame, meter)
        raise EvaluationError("no such overload")

    return conditional


def _list(node: ListExpr) -> Evaluator:
    elements = [compile_node(element) for element in node.elements]
    optional = node.optional_indices

    def make_list(frame: dict[str, Any], meter: Meter) -> Any:
        meter.add(LIST_CREATE_COST)
        if not optional:
            return [element(frame, meter) for element in elements]
        result = []
        for index, element in enumerate(elements):
            value = element(frame, meter)
            if index in optional:
                if not isinstance(value, OptionalValue):
                    raise EvaluationError("no such overload")
                if value.has_value:
                    result.append(value.value)
            else:
                result.append(value)
        return result

    return make_list


def _map(node: MapExpr) -> Evaluator:
    entries = [(compile_node(entry.key), compile_node(entry.value), entry.optional) for entry in node.entries]

    def make_map(frame: dict[str, Any], meter: Meter) -> Any:
        meter.add(MAP_CREATE_COST)
        result: dict[Any, Any] = {}
        for key_of, value_of, is_optional in entries:
            key = key_of(frame, meter)
            if type(key) not in (str, int, bool) and not isinstance(key, int):
                raise EvaluationError("unsupported key type")
            if not missing(lookup_key(result, key)):
                raise EvaluationError(f"Failed with repeated key: {key}")
            value = value_of(frame, meter)
            if is_optional:
                if not isinstance(value, OptionalValue):
                    raise EvaluationError("no such overload")
                if not value.has_value:
                    continue
                value = value.value
            result[key] = value
        return result

    return make_map

