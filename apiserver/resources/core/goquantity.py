"""Go's `%#v` of a `resource.Quantity`, as upstream prints the bad value of some Invalid errors.

LimitRange validation passes quantities (not their strings) to `field.Invalid`; `Quantity.String()` has a
pointer receiver, so the error body falls back to the struct: `resource.Quantity{i:resource.int64Amount{value:1,
scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"1", Format:"DecimalSI"}`. The int64 fields and the
cached string follow ParseQuantity's fast path; amounts that need inf.Dec print a pointer address upstream,
which cannot be reproduced, so those are printed as the canonical string.
"""
from __future__ import annotations

import re
from typing import Final

from apiserver.meta.errors import go_quote
from apiserver.meta.quantity import QuantityError, parse_quantity

_SHAPE: Final = re.compile(r"^([+-]?)0*([0-9]*)(?:\.([0-9]*))?(.*)$")
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_MAX_INT64_FACTORS: Final = 18


def _suffix(suffix: str) -> tuple[str, int] | None:
    """The format and exponent of a suffix, None when it is not one ParseQuantity knows."""
    if suffix in _DECIMAL:
        return "DecimalSI", _DECIMAL[suffix]
    if suffix in _BINARY:
        return "BinarySI", _BINARY[suffix]
    if len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        return "DecimalExponent", int(suffix[1:])
    return None


def _int64_amount(raw: str) -> tuple[int, int, str, str] | None:
    """(value, scale, cached string, format) of ParseQuantity's int64 path; None where it uses inf.Dec."""
    shape, suffix_info = _SHAPE.match(raw), None
    if shape is not None:
        suffix_info = _suffix(shape.group(4))
    if shape is None or suffix_info is None:
        return None
    sign, numerator, denominator = shape.group(1), shape.group(2) or "0", shape.group(3) or ""
    format_, exponent = suffix_info
    mantissa, scale = 1, 0
    if format_ == "BinarySI":
        if exponent < 0 or denominator:
            return None
        mantissa = 1 << exponent
        precision = 15 - len(numerator) - (exponent * 3 // 10) - 1
    else:
        scale = exponent
        precision = _MAX_INT64_FACTORS - len(numerator) - len(denominator)
    scale -= len(denominator)
    shifted = numerator + denominator
    result = int(shifted) * mantissa
    if precision < 0 or scale < -9 or result >= 2**63:
        return None
    if format_ == "BinarySI":
        keep = exponent % 10 == 0 and int(shifted) & 0x07 != 0
    else:
        keep = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return (-result if sign == "-" else result), scale, raw if keep else "", format_


def go_quantity(value: object) -> str:
    """`%#v` of the resource.Quantity a JSON quantity decodes into."""
    raw = value if isinstance(value, str) else str(value)
    raw = raw.strip()
    if raw == "0":
        amount: tuple[int, int, str, str] | None = (0, 0, "0", "DecimalSI")
    else:
        amount = _int64_amount(raw)
    if amount is None:
        try:
            return str(parse_quantity(raw))
        except QuantityError:
            return go_quote(raw)
    number, scale, cached, format_ = amount
    return (f"resource.Quantity{{i:resource.int64Amount{{value:{number}, scale:{scale}}}, "
            f"d:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}, s:{go_quote(cached)}, Format:{go_quote(format_)}}}")
