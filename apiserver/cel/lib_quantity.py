"""Kubernetes' quantity library (apiserver/pkg/cel/library/quantity.go) over `apiserver.meta.quantity`."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.types import BOOL, DOUBLE, INT, STRING, opaque
from apiserver.meta.quantity import Quantity as MetaQuantity
from apiserver.meta.quantity import QuantityError, QuantityFormat, parse_quantity

QUANTITY_TYPE: Final = opaque("kubernetes.Quantity")
_INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """A CEL quantity; equal when the amounts are (upstream's Equal compares with Cmp)."""

    quantity: MetaQuantity
    cel_type: ClassVar = QUANTITY_TYPE

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    @property
    def value(self) -> Fraction:
        return self.quantity.value

    def __str__(self) -> str:
        return str(self.quantity)


def _quantity(text: str) -> Quantity:
    try:
        return Quantity(parse_quantity(text))
    except QuantityError as error:
        raise EvaluationError(str(error)) from None


def _is_quantity(text: str) -> bool:
    try:
        parse_quantity(text)
    except QuantityError:
        return False
    return True


def _is_integer(quantity: Quantity) -> bool:
    value = quantity.value
    return value.denominator == 1 and -_INT64_MAX - 1 <= value <= _INT64_MAX


def _as_integer(quantity: Quantity) -> int:
    if not _is_integer(quantity):
        raise EvaluationError("cannot convert value to integer")
    return int(quantity.value)


def _compare(left: Quantity, right: Quantity) -> int:
    return (left.value > right.value) - (left.value < right.value)


def _arithmetic(left: Quantity, right: Any, sign: int) -> Quantity:
    other = right.value if isinstance(right, Quantity) else Fraction(right)
    total = left.value + sign * other
    return Quantity(MetaQuantity(total, left.quantity.format if total else QuantityFormat.DECIMAL_SI))


def _sign(quantity: Quantity) -> int:
    return (quantity.value > 0) - (quantity.value < 0)


def quantity_library(library: Library) -> None:
    add(library, "quantity", overload("string_to_quantity", (STRING,), QUANTITY_TYPE, _quantity))
    add(library, "isQuantity", overload("is_quantity_string", (STRING,), BOOL, _is_quantity))
    add(library, "sign", overload("quantity_sign", (QUANTITY_TYPE,), INT, _sign, member=True))
    add(library, "isInteger", overload("quantity_is_integer", (QUANTITY_TYPE,), BOOL, _is_integer, member=True))
    add(library, "asInteger", overload("quantity_get_integer", (QUANTITY_TYPE,), INT, _as_integer, member=True))
    add(library, "asApproximateFloat", overload("quantity_get_float", (QUANTITY_TYPE,), DOUBLE,
                                                lambda q: float(q.value), member=True))
    add(library, "isGreaterThan", overload("quantity_is_greater_than", (QUANTITY_TYPE, QUANTITY_TYPE), BOOL,
                                           lambda a, b: _compare(a, b) > 0, member=True))
    add(library, "isLessThan", overload("quantity_is_less_than", (QUANTITY_TYPE, QUANTITY_TYPE), BOOL,
                                        lambda a, b: _compare(a, b) < 0, member=True))
    add(library, "compareTo", overload("quantity_compare_to", (QUANTITY_TYPE, QUANTITY_TYPE), INT, _compare,
                                       member=True))
    add(library, "add",
        overload("quantity_add", (QUANTITY_TYPE, QUANTITY_TYPE), QUANTITY_TYPE, lambda a, b: _arithmetic(a, b, 1),
                 member=True),
        overload("quantity_add_int", (QUANTITY_TYPE, INT), QUANTITY_TYPE, lambda a, b: _arithmetic(a, b, 1),
                 member=True))
    add(library, "sub",
        overload("quantity_sub", (QUANTITY_TYPE, QUANTITY_TYPE), QUANTITY_TYPE, lambda a, b: _arithmetic(a, b, -1),
                 member=True),
        overload("quantity_sub_int", (QUANTITY_TYPE, INT), QUANTITY_TYPE, lambda a, b: _arithmetic(a, b, -1),
                 member=True))
