"""Quantities: upstream's canonical strings (what kube-apiserver stores and returns) and parse errors."""
from __future__ import annotations

from fractions import Fraction

import pytest

from apiserver.meta.quantity import (
    FORMAT_WRONG,
    NUMERIC,
    SUFFIX,
    QuantityError,
    QuantityFormat,
    canonical_quantity,
    parse_quantity,
)

CANONICAL = [
    # Kept verbatim: the parser's fast path accepts them as already canonical.
    ("0", "0"), ("1", "1"), ("100m", "100m"), ("1n", "1n"), ("1u", "1u"), ("1k", "1k"), ("1M", "1M"),
    ("1E", "1E"), ("1Ki", "1Ki"), ("100Mi", "100Mi"), ("1e3", "1e3"), ("12e6", "12e6"), ("1e-3", "1e-3"),
    ("+1", "+1"), ("-1", "-1"), ("-100m", "-100m"), ("1234567", "1234567"), ("12345678900", "12345678900"),
    ("1.500", "1.500"), ("1.", "1."),
    # Rewritten: trailing zeros move into the suffix, fractions into milli/micro/nano.
    ("1000m", "1"), ("2000m", "2"), ("-1000m", "-1"), ("0.5", "500m"), (".5", "500m"), ("0.1", "100m"),
    ("1.5", "1500m"), ("0.0001", "100u"), ("1000000", "1M"), ("1000", "1k"), ("1000e0", "1e3"),
    ("0.0", "0"), ("-0", "0"), ("0Ki", "0"), ("0m", "0"), ("00", "0"), ("e3", "0"),
    # Binary: only exact multiples of 1024 keep a binary suffix.
    ("8Ki", "8Ki"), ("128Mi", "128Mi"), ("1024Ki", "1Mi"), ("1.5Gi", "1536Mi"), ("0.5Ki", "512"), ("1Ei", "1Ei"),
    # Rounded up to whole nano units; binary capped at 2^63-1.
    ("0.0000000001", "1n"), ("1.0000000001", "1000000001n"), ("9Ei", "9223372036854775807"),
    ("999999999999999999999", "999999999999999999999"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL, ids=[text or "empty" for text, _ in CANONICAL])
def test_canonical_form_matches_upstream(text: str, canonical: str) -> None:
    assert canonical_quantity(text) == canonical


@pytest.mark.parametrize("text", [canonical for _, canonical in CANONICAL])
def test_canonical_form_is_a_fixed_point(text: str) -> None:
    assert canonical_quantity(canonical_quantity(text)) == canonical_quantity(text)


ERRORS = [
    ("", FORMAT_WRONG), ("abc", FORMAT_WRONG), ("1.2.3", FORMAT_WRONG), ("5x", FORMAT_WRONG), (" 1", FORMAT_WRONG),
    ("1Mi2", SUFFIX), ("5ki", SUFFIX), ("1e", SUFFIX), ("1m3", SUFFIX), ("e-12", NUMERIC),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[text or "empty" for text, _ in ERRORS])
def test_invalid_quantities_fail_with_upstream_message(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text)
    assert str(caught.value) == message


def test_values_and_formats_are_exact() -> None:
    assert parse_quantity("1.5Gi").value == 1536 * 2**20
    assert parse_quantity("1.5Gi").format is QuantityFormat.BINARY_SI
    assert parse_quantity("250m").value == Fraction(1, 4)
    assert parse_quantity("1e3").format is QuantityFormat.DECIMAL_EXPONENT
    assert parse_quantity("0.5Ki").format is QuantityFormat.BINARY_SI
    assert parse_quantity("0.0001Ki").format is QuantityFormat.DECIMAL_SI
