"""`string.format(list)` from cel-go v0.22's strings extension (ext/formatting.go), in its default en-US locale:
`%s`, `%d`, `%f`, `%e`, `%b`, `%o`, `%x`, `%X` and `%%`, with cel-go's error texts."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.ext_format_string import MISMATCH_MESSAGES, FormatError, format_string_clause, type_name
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.types import DYN, STRING, list_of
from apiserver.cel.values import kind_of

_DEFAULT_PRECISION: Final = 6
_SUPERSCRIPTS: Final = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
_SUPERSCRIPT_MINUS: Final = "\u207b"
# golang.org/x/text writes the exponent as a power of ten: narrow no-break spaces around the multiplication sign.
_TIMES_TEN: Final = "\u202f\u00d7\u202f10"
_INFINITY: Final = "\u221e"
# The double clauses also take these strings (cel-go converts them to double).
_SPECIAL_DOUBLES: Final = frozenset({"NaN", "Infinity", "-Infinity"})
_INT64_MAX: Final = 2**63 - 1

Clause = Callable[[Any, "int | None"], str]


def format_string(template: str, args: list[Any]) -> str:
    out: list[str] = []
    position, argument = 0, 0
    while True:
        found = template.find("%", position)
        if found < 0:
            out.append(template[position:])
            return "".join(out)
        out.append(template[position:found])
        if template.startswith("%", found + 1):
            out.append("%")
            position = found + 2
            continue
        # As cel-go: the argument is fetched before the clause is read.
        if argument >= len(args):
            raise EvaluationError(f"index {argument} out of range")
        if found + 1 >= len(template):
            raise EvaluationError("unexpected end of string")
        position, text = _format_clause(template, found + 1, args[argument])
        out.append(text)
        argument += 1


def _format_clause(template: str, start: int, value: Any) -> tuple[int, str]:
    position, precision = parse_precision(template, start)
    verb = template[position]
    clause = _CLAUSES.get(verb)
    if clause is None:
        raise EvaluationError(f'could not parse formatting clause: unrecognized formatting clause "{verb}"')
    try:
        return position + 1, clause(value, precision)
    except FormatError as error:
        raise EvaluationError(f"error during formatting: {error}") from None


def parse_precision(template: str, start: int) -> tuple[int, int | None]:
    if template[start] != ".":
        return start, None
    end = start + 1
    while end < len(template) and template[end] in "0123456789":
        end += 1
    prefix = "could not parse formatting clause: error while parsing precision: "
    if end >= len(template):
        raise EvaluationError(prefix + "could not find end of precision specifier")
    digits = template[start + 1:end]
    if not digits or int(digits) > _INT64_MAX:
        problem = "invalid syntax" if not digits else "value out of range"
        raise EvaluationError(prefix + f'error while converting precision to integer: strconv.Atoi: parsing '
                                       f'"{digits}": {problem}')
    return end, int(digits)


def _string(value: Any, precision: int | None) -> str:
    return format_string_clause(value)


def _decimal(value: Any, precision: int | None) -> str:
    if kind_of(value) not in ("int", "uint"):
        raise FormatError(MISMATCH_MESSAGES["d"] + type_name(value))
    return str(int(value))


def _double_argument(value: Any, verb: str) -> float:
    kind = kind_of(value)
    if kind == "double":
        return float(value)
    if kind == "string" and value in _SPECIAL_DOUBLES:
        return float(value.lower().replace("infinity", "inf"))
    raise FormatError(MISMATCH_MESSAGES[verb] + type_name(value))


def _special(number: float) -> str | None:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return _INFINITY if number > 0 else "-" + _INFINITY
    return None


def _fixed(value: Any, precision: int | None) -> str:
    # golang.org/x/text's en-US decimal pattern groups the integer digits by three; -0.0 has no sign there.
    number = _double_argument(value, "f")
    special = _special(number)
    if special is not None:
        return special
    digits = _DEFAULT_PRECISION if precision is None else precision
    text = f"{abs(number):,.{digits}f}"
    return "-" + text if number < 0 else text


def _scientific(value: Any, precision: int | None) -> str:
    # cel-go builds the verb as "%<precision>e": the precision becomes the padding width and x/text always writes
    # six decimals; a width of 0 reads as Go's zero flag, i.e. no padding.
    number = _double_argument(value, "e")
    width = _DEFAULT_PRECISION if precision is None else precision
    text = _special(number) or _scientific_digits(number)
    return text.rjust(width)


def _scientific_digits(number: float) -> str:
    mantissa, _, exponent = f"{abs(number):.{_DEFAULT_PRECISION}e}".partition("e")
    power = int(exponent)
    sign = _SUPERSCRIPT_MINUS if power < 0 else ""
    superscript = f"{abs(power):02d}".translate(_SUPERSCRIPTS)
    return ("-" if number < 0 else "") + mantissa + _TIMES_TEN + sign + superscript


def _binary(value: Any, precision: int | None) -> str:
    kind = kind_of(value)
    if kind == "bool":
        return "1" if value else "0"
    if kind not in ("int", "uint"):
        raise FormatError(MISMATCH_MESSAGES["b"] + type_name(value))
    return _signed(int(value), "b")


def _octal(value: Any, precision: int | None) -> str:
    if kind_of(value) not in ("int", "uint"):
        raise FormatError(MISMATCH_MESSAGES["o"] + type_name(value))
    return _signed(int(value), "o")


def _hex(upper: bool) -> Clause:
    def clause(value: Any, precision: int | None) -> str:
        kind = kind_of(value)
        if kind in ("string", "bytes"):
            text = (value.encode("utf-8") if kind == "string" else bytes(value)).hex()
        elif kind in ("int", "uint"):
            text = _signed(int(value), "x")
        else:
            raise FormatError(MISMATCH_MESSAGES["x"] + type_name(value))
        return text.upper() if upper else text

    return clause


def _signed(number: int, verb: str) -> str:
    return ("-" if number < 0 else "") + format(abs(number), verb)


_CLAUSES: Final[dict[str, Clause]] = {
    "s": _string, "d": _decimal, "f": _fixed, "e": _scientific, "b": _binary, "o": _octal,
    "x": _hex(upper=False), "X": _hex(upper=True),
}


def format_library(library: Library) -> None:
    add(library, "format", overload("string_format", (STRING, list_of(DYN)), STRING, format_string, member=True))
