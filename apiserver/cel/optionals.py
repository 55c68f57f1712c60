"""Optional values (cel-go's OptionalTypes library as kube-apiserver enables it): `a.?b`, `a[?k]`, `[?x]`,
`{?k: v}`, `optional.of/none/ofNonZeroValue`, `hasValue()`, `value()`, `orValue()`, `or()`."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.nodes import Call, Node, Select
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.timevalues import MIN_UNIX_SECONDS, Duration, Timestamp
from apiserver.cel.types import BOOL, INT, ObjectType, list_of, map_of, optional_of, type_param
from apiserver.cel.values import OPTIONAL_NONE, OptionalValue, UInt, lookup_key, missing

A: Final = type_param("A")
K: Final = type_param("K")
OPTIONAL_A: Final = optional_of(A)


def compile_optional_access(node: Call, compile_node: Callable[[Node], Any]) -> Any:
    """`a.?field` and `a[?key]`: optional.none() when absent, chaining through optional operands."""
    operand = compile_node(node.args[0])
    key_of = compile_node(node.args[1])
    operand_type = node.args[0].type
    inner_type = operand_type
    if operand_type is not None and operand_type.kind == "optional":
        inner_type = operand_type.params[0]
    property_names = inner_type.property_names if isinstance(inner_type, ObjectType) else {}
    from apiserver.cel.adapt import adapter_for

    adapt = None
    if isinstance(inner_type, ObjectType) and node.type is not None:
        adapt = adapter_for(node.type.params[0])

    def access(frame: dict[str, Any], meter: Any) -> Any:
        container = operand(frame, meter)
        key = key_of(frame, meter)
        meter.add(1)
        if isinstance(container, OptionalValue):
            if not container.has_value:
                return OPTIONAL_NONE
            container = container.value
        if isinstance(inner_type, ObjectType) and isinstance(container, Mapping) and container.get(
                property_names.get(key, key)) is None:
            return OPTIONAL_NONE  # a schema object's null field is absent
        return _lookup(container, property_names.get(key, key) if isinstance(key, str) else key, adapt)

    return access


def compile_optional_chain(node: Select, compile_node: Callable[[Node], Any]) -> Any:
    """`x.f` where x is optional (after `a.?b`): none stays none, an absent field gives none."""
    operand = compile_node(node.operand)
    operand_type = node.operand.type
    inner_type = operand_type.params[0] if operand_type is not None and operand_type.kind == "optional" else None
    field = node.field
    if isinstance(inner_type, ObjectType):
        field = inner_type.property_names.get(field, field)
    from apiserver.cel.adapt import adapter_for

    adapt = adapter_for(node.type.params[0]) if isinstance(inner_type, ObjectType) and node.type is not None else None

    def chain(frame: dict[str, Any], meter: Any) -> Any:
        container = operand(frame, meter)
        meter.add(1)
        if not isinstance(container, OptionalValue):
            raise EvaluationError("no such overload")
        if not container.has_value:
            return OPTIONAL_NONE
        value = container.value
        if isinstance(inner_type, ObjectType) and isinstance(value, Mapping) and value.get(field) is None:
            return OPTIONAL_NONE
        return _lookup(value, field, adapt)

    return chain


def _lookup(container: Any, key: Any, adapt: Any) -> OptionalValue:
    if isinstance(container, Mapping):
        found = lookup_key(container, key)
        if missing(found):
            return OPTIONAL_NONE
        return OptionalValue(adapt(found) if adapt is not None else found, True)
    if isinstance(container, (list, tuple)):
        if type(key) is bool or not isinstance(key, int):
            raise EvaluationError("no such overload")
        return OptionalValue(container[key], True) if 0 <= key < len(container) else OPTIONAL_NONE
    raise EvaluationError("no such overload")


def _index_optional(optional: OptionalValue, key: Any) -> OptionalValue:
    return _lookup(optional.value, key, None) if optional.has_value else OPTIONAL_NONE


def _value(optional: OptionalValue) -> Any:
    if not optional.has_value:
        raise EvaluationError("optional.none() dereference")
    return optional.value


def _of_non_zero(value: Any) -> OptionalValue:
    return OPTIONAL_NONE if _is_zero(value) else OptionalValue(value, True)


def _is_zero(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return len(value) == 0
    if isinstance(value, Timestamp):
        return value == _ZERO_TIMESTAMP
    if isinstance(value, Duration):
        return not value
    return type(value) in (int, float, UInt) and value == 0


# Go's zero time.Time, 0001-01-01T00:00:00Z, is cel-go's zero timestamp.
_ZERO_TIMESTAMP: Final = Timestamp(MIN_UNIX_SECONDS)


def optional_library(library: Library) -> None:
    add(library, "optional.of", overload("optional_of", (A,), OPTIONAL_A, lambda value: OptionalValue(value, True)))
    add(library, "optional.ofNonZeroValue", overload("optional_ofNonZeroValue", (A,), OPTIONAL_A, _of_non_zero))
    add(library, "optional.none", overload("optional_none", (), OPTIONAL_A, lambda: OPTIONAL_NONE))
    add(library, "hasValue", overload("optional_hasValue", (OPTIONAL_A,), BOOL, lambda o: o.has_value, member=True))
    add(library, "value", overload("optional_value", (OPTIONAL_A,), A, _value, member=True))
    add(library, "orValue", overload("optional_orValue_value", (OPTIONAL_A, A), A,
                                     lambda o, default: o.value if o.has_value else default, member=True))
    # Indexing an optional list or map is an optional index (cel-go: `self.?items[0]` is optional.of(...)).
    add(library, "_[_]",
        overload("optional_list_index_int", (optional_of(list_of(A)), INT), OPTIONAL_A, _index_optional),
        overload("optional_map_index_value", (optional_of(map_of(K, A)), K), OPTIONAL_A, _index_optional))
    add(library, "or", overload("optional_or_optional", (OPTIONAL_A, OPTIONAL_A), OPTIONAL_A,
                                lambda o, other: o if o.has_value else other, member=True))


_LAZY_OR_OVERLOADS: Final = frozenset({"optional_or_optional", "optional_orValue_value"})


def is_lazy_or(node: Call) -> bool:
    """Whether a call is `a.or(b)` / `a.orValue(b)` of the optional library (evaluated lazily, see below)."""
    return (node.function in ("or", "orValue") and node.target is not None and len(node.args) == 1
            and bool(node.overloads) and all(candidate.id in _LAZY_OR_OVERLOADS for candidate in node.overloads))


def compile_lazy_or(node: Call, compile_node: Callable[[Node], Any]) -> Any:
    """`a.or(b)` and `a.orValue(b)` as cel-go's decorateOptionalOr: `b` is evaluated only when `a` is empty, and a
    non-optional `a` (an error, or a dyn value) is the result as it is."""
    assert node.target is not None
    target, alternative = compile_node(node.target), compile_node(node.args[0])
    unwrap = node.function == "orValue"

    def choose(frame: dict[str, Any], meter: Any) -> Any:
        try:
            chosen = target(frame, meter)
        finally:
            meter.add(1)  # the call's cost, as charged for any other call
        if not isinstance(chosen, OptionalValue):
            return chosen
        if chosen.has_value:
            return chosen.value if unwrap else chosen
        return alternative(frame, meter)

    return choose
