"""`string.format(list)` from cel-go's strings extension: `%s`, `%d`, `%f`, `%e`, `%b`, `%o`, `%x`, `%X`, `%%`."""
from __future__ import annotations

import math
import re
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.types import DYN, STRING, list_of
from apiserver.cel.values import kind_of

_DIRECTIVE: Final = re.compile(r"%(?:\.(\d+))?([a-zA-Z%])")
_SUPERSCRIPTS: Final = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
_TIMES: Final = "\u00d7"


def format_string(template: str, args: list[Any]) -> str:
    out: list[str] = []
    position = 0
    argument = 0
    for match in _DIRECTIVE.finditer(template):
        out.append(template[position:match.start()])
        position = match.end()
        precision, verb = match.group(1), match.group(2)
        if verb == "%":
            out.append("%")
            continue
        if argument >= len(args):
            raise EvaluationError(f"index {argument} out of range")
        out.append(_directive(verb, None if precision is None else int(precision), args[argument]))
        argument += 1
    out.append(template[position:])
    return "".join(out)


def _directive(verb: str, precision: int | None, value: Any) -> str:
    kind = kind_of(value)
    if verb == "s":
        return format_value(value, quote=False)
    if verb == "d":
        if kind not in ("int", "uint"):
            raise EvaluationError(f"error during formatting: decimal clause can only be used on integers, "
                                  f"was given {_type_name(kind)}")
        return str(int(value))
    if verb in ("f", "e"):
        if kind not in ("int", "uint", "double"):
            raise EvaluationError(f"error during formatting: fixed-point clause can only be used on doubles, "
                                  f"was given {_type_name(kind)}")
        return _float(float(value), verb, 6 if precision is None else precision)
    if verb in ("b", "o", "x", "X"):
        return _radix(value, kind, verb)
    raise EvaluationError(f'could not parse formatting clause: unrecognized formatting clause "{verb}"')


def _float(value: float, verb: str, precision: int) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if verb == "f":
        return f"{value:.{precision}f}"
    mantissa, _, exponent = f"{value:.{precision}e}".partition("e")
    # cel-go writes the exponent as a power of ten with superscript digits, after a multiplication sign.
    return f"{mantissa} {_TIMES} 10{exponent.lstrip('+').translate(_SUPERSCRIPTS)}"


def _radix(value: Any, kind: str, verb: str) -> str:
    if kind in ("string", "bytes") and verb in ("x", "X"):
        data = value.encode("utf-8") if isinstance(value, str) else value
        text = data.hex()
        return text.upper() if verb == "X" else text
    if kind == "bool" and verb == "b":
        return "1" if value else "0"
    if kind not in ("int", "uint"):
        raise EvaluationError(f"error during formatting: only integers, byte buffers, and strings can be "
                              f"formatted as hex, was given {_type_name(kind)}")
    number = int(value)
    sign = "-" if number < 0 else ""
    digits = format(abs(number), {"b": "b", "o": "o", "x": "x", "X": "X"}[verb])
    return sign + digits


def _type_name(kind: str) -> str:
    return {"double": "double", "string": "string", "list": "list", "map": "map", "bool": "bool",
            "null": "null_type"}.get(kind, kind)


def format_value(value: Any, *, quote: bool) -> str:
    """How `%s` prints a value: strings bare at the top level and quoted inside lists and maps."""
    from apiserver.cel.stdlib import _to_string

    kind = kind_of(value)
    if kind == "string":
        return '"' + value + '"' if quote else value  # type: ignore[no-any-return]
    if kind == "list":
        return "[" + ", ".join(format_value(item, quote=True) for item in value) + "]"
    if kind == "map":
        entries = sorted((format_value(key, quote=True), format_value(item, quote=True)) for key, item in value.items())
        return "{" + ", ".join(f"{key}: {item}" for key, item in entries) + "}"
    if kind == "null":
        return "null"
    if kind == "type":
        return str(value)
    if kind.startswith("opaque:"):
        return str(value)
    return _to_string(value)


def format_library(library: Library) -> None:
    add(library, "format", overload("string_format", (STRING, list_of(DYN)), STRING, format_string, member=True))
