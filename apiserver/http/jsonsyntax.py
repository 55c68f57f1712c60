"""Go's encoding/json wording for a malformed JSON document, found by replaying Go's own scanner.

kube-apiserver decodes request bodies with encoding/json, so a malformed body is answered with a 400 whose
message embeds Go's syntax error text (`invalid character 'x' looking for beginning of object key string`,
`unexpected end of JSON input`). Clients and tests compare these texts, so they are reproduced by running the
same state machine as Go's scanner.go over the bytes. Only called after a fast decoder has already rejected
the document: speed does not matter here, exactness does.
"""
from __future__ import annotations

from collections.abc import Callable

from apiserver.meta.errors import go_quote

_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'bfnrt\\/"')

State = Callable[["_Scanner", int], None]


class _SyntaxError(Exception):
    pass


def go_syntax_error(data: bytes) -> str | None:
    """Go's json.SyntaxError message for `data`, or None when Go would accept it as one JSON value."""
    scanner = _Scanner()
    try:
        for byte in data:
            scanner.step(scanner, byte)
        scanner.finish()
    except _SyntaxError as error:
        return str(error)
    return None


def _quote_char(byte: int) -> str:
    """encoding/json's quoteChar: a byte shown as a Go character literal (bytes >= 0x80 read as runes)."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    return "'" + go_quote(chr(byte))[1:-1] + "'"


class _Scanner:
    """Go's scanner: `step` is the current state function; `stack` holds the open objects and arrays."""

    def __init__(self) -> None:
        self.step: State = _begin_value
        self.stack: list[str] = []
        self.at_top_end = False

    def fail(self, byte: int, context: str) -> None:
        raise _SyntaxError(f"invalid character {_quote_char(byte)} {context}")

    def finish(self) -> None:
        if self.at_top_end:
            return
        self.step(self, ord(" "))
        if not self.at_top_end:
            raise _SyntaxError("unexpected end of JSON input")


def _begin_value_or_empty(scanner: _Scanner, byte: int) -> None:
    if byte in _SPACE:
        return
    if byte == ord("]"):
        _end_value(scanner, byte)
        return
    _begin_value(scanner, byte)


def _begin_value(scanner: _Scanner, byte: int) -> None:
    if byte in _SPACE:
        return
    simple: dict[int, State] = {
        ord('"'): _in_string, ord("-"): _negative, ord("0"): _zero, ord("t"): _literal("true"),
        ord("f"): _literal("false"), ord("n"): _literal("null"),
    }
    if byte == ord("{"):
        scanner.stack.append("key")
        scanner.step = _begin_string_or_empty
    elif byte == ord("["):
        scanner.stack.append("array")
        scanner.step = _begin_value_or_empty
    elif byte in simple:
        scanner.step = simple[byte]
    elif ord("1") <= byte <= ord("9"):
        scanner.step = _number
    else:
        scanner.fail(byte, "looking for beginning of value")


def _begin_string_or_empty(scanner: _Scanner, byte: int) -> None:
    if byte in _SPACE:
        return
    if byte == ord("}"):
        scanner.stack[-1] = "value"
        _end_value(scanner, byte)
        return
    _begin_string(scanner, byte)


def _begin_string(scanner: _Scanner, byte: int) -> None:
    if byte in _SPACE:
        return
    if byte == ord('"'):
        scanner.step = _in_string
        return
    scanner.fail(byte, "looking for beginning of object key string")


def _end_value(scanner: _Scanner, byte: int) -> None:
    """After a complete value: what the enclosing object or array (or the top level) allows next."""
    if not scanner.stack:
        scanner.at_top_end = True
        scanner.step = _end_top
        _end_top(scanner, byte)
        return
    if byte in _SPACE:
        scanner.step = _end_value
        return
    parse = scanner.stack[-1]
    if parse == "key":
        if byte == ord(":"):
            scanner.stack[-1] = "value"
            scanner.step = _begin_value
            return
        scanner.fail(byte, "after object key")
    elif parse == "value":
        if byte == ord(","):
            scanner.stack[-1] = "key"
            scanner.step = _begin_string
            return
        if byte == ord("}"):
            scanner.stack.pop()
            scanner.step = _end_value
            return
        scanner.fail(byte, "after object key:value pair")
    else:
        if byte == ord(","):
            scanner.step = _begin_value
            return
        if byte == ord("]"):
            scanner.stack.pop()
            scanner.step = _end_value
            return
        scanner.fail(byte, "after array element")


def _end_top(scanner: _Scanner, byte: int) -> None:
    if byte not in _SPACE:
        scanner.fail(byte, "after top-level value")


def _in_string(scanner: _Scanner, byte: int) -> None:
    if byte == ord('"'):
        scanner.step = _end_value
    elif byte == ord("\\"):
        scanner.step = _in_string_escape
    elif byte < 0x20:
        scanner.fail(byte, "in string literal")


def _in_string_escape(scanner: _Scanner, byte: int) -> None:
    if byte in _ESCAPES:
        scanner.step = _in_string
    elif byte == ord("u"):
        scanner.step = _unicode_escape(4)
    else:
        scanner.fail(byte, "in string escape code")


def _unicode_escape(remaining: int) -> State:
    def state(scanner: _Scanner, byte: int) -> None:
        if byte not in _HEX:
            scanner.fail(byte, "in \\u hexadecimal character escape")
        scanner.step = _in_string if remaining == 1 else _unicode_escape(remaining - 1)

    return state


def _negative(scanner: _Scanner, byte: int) -> None:
    if byte == ord("0"):
        scanner.step = _zero
    elif ord("1") <= byte <= ord("9"):
        scanner.step = _number
    else:
        scanner.fail(byte, "in numeric literal")


def _number(scanner: _Scanner, byte: int) -> None:
    if byte in _DIGITS:
        return
    _zero(scanner, byte)


def _zero(scanner: _Scanner, byte: int) -> None:
    if byte == ord("."):
        scanner.step = _dot
    elif byte in b"eE":
        scanner.step = _exponent
    else:
        _end_value(scanner, byte)


def _dot(scanner: _Scanner, byte: int) -> None:
    if byte in _DIGITS:
        scanner.step = _fraction
        return
    scanner.fail(byte, "after decimal point in numeric literal")


def _fraction(scanner: _Scanner, byte: int) -> None:
    if byte in _DIGITS:
        return
    if byte in b"eE":
        scanner.step = _exponent
        return
    _end_value(scanner, byte)


def _exponent(scanner: _Scanner, byte: int) -> None:
    if byte in b"+-":
        scanner.step = _exponent_sign
        return
    _exponent_sign(scanner, byte)


def _exponent_sign(scanner: _Scanner, byte: int) -> None:
    if byte in _DIGITS:
        scanner.step = _exponent_digits
        return
    scanner.fail(byte, "in exponent of numeric literal")


def _exponent_digits(scanner: _Scanner, byte: int) -> None:
    if byte not in _DIGITS:
        _end_value(scanner, byte)


def _literal(word: str) -> State:
    """The states after the first letter of `true`, `false` or `null`."""

    def expecting(position: int) -> State:
        def state(scanner: _Scanner, byte: int) -> None:
            expected = word[position]
            if byte != ord(expected):
                scanner.fail(byte, f"in literal {word} (expecting {_quote_char(ord(expected))})")
            scanner.step = _end_value if position == len(word) - 1 else expecting(position + 1)

        return state

    return expecting(1)
