"""Resource quantities (`resource.Quantity`): parsing, upstream's error texts and the canonical string form.

kube-apiserver decodes every quantity field into a `resource.Quantity` and writes it back with `String()`, so
what is stored and returned is the canonical form: `1000m` comes back as `1`, `0.5` as `500m`, `1000000` as
`1M`, `1024Ki` as `1Mi`, while `100m`, `1Ki` or `1e3` stay as written. Reproduced here from the rules of
k8s.io/apimachinery/pkg/api/resource (quantity.go, suffix.go, amount.go):

- the value is exact, rounded away from zero to a multiple of 10^-9 (the smallest representable amount);
  binary (`Ki`..`Ei`) values are capped at 2^63-1 and those strictly between 0 and 1 become decimal;
- a string already in canonical form (the parser's int64 fast path, with no trailing `000` in decimal and a
  mantissa that is not a multiple of 8 in binary) is kept verbatim, signs included (`+1` stays `+1`);
- otherwise the number is printed with trailing zeros moved into a suffix whose exponent is a multiple of 3
  (decimal) or of 10 (binary, only for exact integers of magnitude >= 1024).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

FORMAT_WRONG: Final = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
NUMERIC: Final = "unable to parse numeric part of quantity"
SUFFIX: Final = "unable to parse quantity's suffix"

_NANO: Final = Fraction(1, 10**9)
_MAX_BINARY: Final = 2**63 - 1
_MAX_INT64_FACTORS: Final = 18
_SUFFIX_CHARACTERS: Final = frozenset("eEinumkKMGTP")
_DIGITS: Final = frozenset("0123456789")
_DECIMAL_SUFFIXES: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT: Final = {exponent: suffix for suffix, exponent in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT: Final = {exponent: suffix for suffix, exponent in _BINARY_SUFFIXES.items()}


class QuantityError(ValueError):
    """A string that is not a quantity; the message is upstream's (`quantities must match ...`)."""


class QuantityFormat(enum.StrEnum):
    DECIMAL_EXPONENT = "DecimalExponent"
    BINARY_SI = "BinarySI"
    DECIMAL_SI = "DecimalSI"


@dataclass(frozen=True, slots=True)
class Quantity:
    """An exact amount with the format it was written in; `str()` is upstream's canonical `String()`."""

    value: Fraction
    format: QuantityFormat
    verbatim: str = ""

    def __str__(self) -> str:
        return self.verbatim or _canonical(self.value, self.format)


@dataclass(frozen=True, slots=True)
class _Parts:
    positive: bool
    value: str
    numerator: str
    denominator: str
    suffix: str


def parse_quantity(text: str) -> Quantity:
    """Parse as ParseQuantity does. Raises QuantityError with upstream's message."""
    if not text:
        raise QuantityError(FORMAT_WRONG)
    if text == "0":
        return Quantity(Fraction(0), QuantityFormat.DECIMAL_SI, "0")
    parts = _split(text)
    base, exponent, format_ = _interpret_suffix(parts.suffix)
    fast = _fast_path(text, parts, base, exponent, format_)
    if fast is not None:
        return fast
    magnitude = _magnitude(parts) * Fraction(base) ** exponent
    if magnitude != 0:
        magnitude = Fraction(-((-magnitude) // _NANO)) * _NANO  # round up to whole nano units
    if format_ is QuantityFormat.BINARY_SI and magnitude > _MAX_BINARY:
        magnitude = Fraction(_MAX_BINARY)
    if format_ is QuantityFormat.BINARY_SI and 0 < magnitude < 1:
        format_ = QuantityFormat.DECIMAL_SI
    return Quantity(magnitude if parts.positive else -magnitude, format_)


def canonical_quantity(text: str) -> str:
    """The string kube-apiserver stores for `text`. Raises QuantityError."""
    return str(parse_quantity(text))


def _magnitude(parts: _Parts) -> Fraction:
    digits = parts.value.lstrip("+-")
    whole, _, fraction = digits.partition(".")
    if not whole + fraction:  # inf.Dec's SetString needs at least one digit
        raise QuantityError(NUMERIC)
    return Fraction(int(whole or "0") * 10 ** len(fraction) + int(fraction or "0"), 10 ** len(fraction))


def _fast_path(text: str, parts: _Parts, base: int, exponent: int, format_: QuantityFormat) -> Quantity | None:
    """ParseQuantity's int64 path, which is also the only one that keeps the input string verbatim."""
    numerator, denominator = parts.numerator, parts.denominator
    mantissa = 1
    scale = 0
    if format_ is QuantityFormat.BINARY_SI:
        if exponent < 0 or denominator:
            return None
        mantissa = 1 << exponent
        # float32(exponent)*3/10, truncated: the decimal digits a binary suffix adds, roughly.
        precision = 15 - len(numerator) - (exponent * 3 // 10) - 1
    else:
        scale = exponent
        precision = _MAX_INT64_FACTORS - len(numerator) - len(denominator)
    if precision < 0:
        return None
    scale -= len(denominator)
    if scale < -9:
        return None
    shifted = numerator + denominator
    value = int(shifted)
    result = value * mantissa
    if result >= 2**63:
        return None
    amount = Fraction(result if parts.positive else -result) * Fraction(10) ** scale
    if format_ is QuantityFormat.BINARY_SI:
        keep = exponent % 10 == 0 and value & 0x07 != 0
    else:
        keep = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return Quantity(amount, format_, text if keep else "")


def _split(text: str) -> _Parts:
    """parseQuantityString: sign, numerator (leading zeros dropped), denominator and suffix."""
    position, end = 0, len(text)
    positive = True
    if text[0] in "+-":
        positive = text[0] == "+"
        position = 1
    while position < end and text[position] == "0":
        position += 1
    if position >= end:
        return _Parts(positive, "0", "0", "", "")
    start = position
    while position < end and text[position] in _DIGITS:
        position += 1
    numerator = text[start:position] or "0"
    if position >= end:
        return _Parts(positive, text, numerator, "", "")
    denominator = ""
    if text[position] == ".":
        position += 1
        start = position
        while position < end and text[position] in _DIGITS:
            position += 1
        denominator = text[start:position]
        if position >= end:
            return _Parts(positive, text, numerator, denominator, "")
    return _Parts(positive, text[:position], numerator, denominator, _suffix(text, position))


def _suffix(text: str, start: int) -> str:
    position, end = start, len(text)
    while position < end and text[position] in _SUFFIX_CHARACTERS:
        position += 1
    if position < end and text[position] in "+-":
        position += 1
    while position < end and text[position] in _DIGITS:
        position += 1
    if position < end:
        raise QuantityError(FORMAT_WRONG)
    return text[start:]


def _interpret_suffix(suffix: str) -> tuple[int, int, QuantityFormat]:
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], QuantityFormat.DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], QuantityFormat.BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        exponent = _go_parse_int(suffix[1:])
        if exponent is not None:
            return 10, _int32(exponent), QuantityFormat.DECIMAL_EXPONENT
    raise QuantityError(SUFFIX)


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): an optional sign and decimal digits, within int64."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not set(digits) <= _DIGITS:
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def _canonical(value: Fraction, format_: QuantityFormat) -> str:
    """CanonicalizeBytes: `0`, a decimal form with an SI suffix or exponent, or a binary form."""
    if value == 0:
        return "0"
    if format_ is QuantityFormat.BINARY_SI and (-1024 < value < 1024 or value.denominator != 1):
        format_ = QuantityFormat.DECIMAL_SI
    if format_ is QuantityFormat.BINARY_SI:
        amount, times = _remove_factors(int(value), 1024)
        return f"{amount}{_BINARY_BY_EXPONENT.get(times * 10, '')}"
    amount, exponent = _decimal_parts(value)
    if format_ is QuantityFormat.DECIMAL_SI:
        # Upstream prints no suffix for an exponent outside n..E (a value beyond 10^21): kept as upstream does.
        return f"{amount}{_DECIMAL_BY_EXPONENT.get(exponent, '')}"
    return f"{amount}e{exponent}" if exponent else str(amount)


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """(amount, exponent) with value = amount * 10^exponent, no trailing zeros left, exponent a multiple of 3."""
    exponent = 0
    while value.denominator != 1:
        value *= 10
        exponent -= 1
    amount, times = _remove_factors(int(value), 10)
    exponent += times
    while exponent % 3:
        amount *= 10
        exponent -= 1
    return amount, exponent


def _remove_factors(value: int, base: int) -> tuple[int, int]:
    sign = -1 if value < 0 else 1
    value = abs(value)
    times = 0
    while value >= base and value % base == 0:
        value //= base
        times += 1
    return sign * value, times
