"""Resource lists (`corev1.ResourceList`) as exact quantities, with upstream's quota helpers (quota/v1/resources.go).

Sums keep the format of the left operand unless it is zero (Quantity.Add), so `500m + 600m` prints `1100m` and
`128Mi + 128Mi` prints `256Mi`, exactly as the quota status upstream records.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from apiserver.meta.quantity import Quantity, QuantityError, QuantityFormat, parse_quantity

ResourceList = dict[str, Quantity]

ZERO = Quantity(Fraction(0), QuantityFormat.DECIMAL_SI)
ONE = Quantity(Fraction(1), QuantityFormat.DECIMAL_SI)


def parse_list(values: object) -> ResourceList:
    """A `{name: quantity string}` mapping as quantities; entries that are not quantities are left out."""
    result: ResourceList = {}
    if not isinstance(values, Mapping):
        return result
    for name, text in values.items():
        try:
            result[str(name)] = parse_quantity(str(text))
        except QuantityError:
            continue
    return result


def to_strings(values: ResourceList) -> dict[str, str]:
    return {name: str(values[name]) for name in sorted(values)}


def add_quantity(left: Quantity, right: Quantity) -> Quantity:
    form = right.format if left.value == 0 else left.format
    return Quantity(left.value + right.value, form)


def add(left: ResourceList, right: ResourceList) -> ResourceList:
    result = dict(left)
    for name, quantity in right.items():
        result[name] = add_quantity(result[name], quantity) if name in result else quantity
    return result


def subtract_non_negative(left: ResourceList, right: ResourceList) -> ResourceList:
    """left - right per resource, never below zero (SubtractWithNonNegativeResult)."""
    result: ResourceList = {}
    for name, quantity in left.items():
        other = right.get(name)
        value = quantity.value - (other.value if other is not None else 0)
        result[name] = Quantity(max(value, Fraction(0)), quantity.format)
    return result


def mask(values: ResourceList, names: Iterable[str]) -> ResourceList:
    wanted = set(names)
    return {name: quantity for name, quantity in values.items() if name in wanted}


def remove_zeros(values: ResourceList) -> ResourceList:
    return {name: quantity for name, quantity in values.items() if quantity.value != 0}


def exceeded(used: ResourceList, hard: ResourceList) -> list[str]:
    """The resources of `used` above their `hard` value (LessThanOrEqual's `exceeded`), sorted."""
    return sorted(name for name, quantity in used.items() if name in hard and quantity.value > hard[name].value)


def pretty(values: ResourceList) -> str:
    """`a=1,b=2`, sorted by name (the quota admission's prettyPrint)."""
    return ",".join(f"{name}={values[name]}" for name in sorted(values))


def max_list(left: ResourceList, right: ResourceList) -> ResourceList:
    result = dict(left)
    for name, quantity in right.items():
        if name not in result or quantity.value > result[name].value:
            result[name] = quantity
    return result
