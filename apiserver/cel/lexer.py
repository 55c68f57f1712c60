"""Tokens of the CEL grammar (cel-spec's lexical rules), with the offsets errors point at."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from apiserver.cel.errors import Issue

RESERVED: Final = frozenset({
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package",
    "namespace", "return", "var", "void", "while",
})
KEYWORDS: Final = frozenset({"true", "false", "null", "in"})

_PUNCTUATION: Final = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%",
                       "?", ":", ".", ",", "[", "]", "{", "}", "(", ")")
_WHITESPACE: Final = re.compile(r"(?:[ \t\r\n\f]+|//[^\n]*)+")
_IDENT: Final = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_NUMBER: Final = re.compile(
    r"(?P<hex>0[xX][0-9a-fA-F]+[uU]?)"
    r"|(?P<float>(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|\.[0-9]+(?:[eE][+-]?[0-9]+)?))"
    r"|(?P<int>[0-9]+[uU]?)"
)
_STRING_START: Final = re.compile(r"([rR]?[bB]?|[bB]?[rR]?)('''|\"\"\"|'|\")")
_ESCAPES: Final = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
                   "'": "'", '"': '"', "`": "`", "?": "?"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "ident", "int", "uint", "float", "string", "bytes", "punct", "eof", or a keyword
    text: str
    offset: int
    value: object = None


class LexError(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while True:
        match = _WHITESPACE.match(source, position)
        if match:
            position = match.end()
        if position >= len(source):
            tokens.append(Token("eof", "<EOF>", position))
            return tokens
        token = _next_token(source, position)
        tokens.append(token)
        position += len(token.text)


def _next_token(source: str, position: int) -> Token:
    char = source[position]
    string_start = _STRING_START.match(source, position)
    if string_start and (string_start.group(1) == "" or char in "rRbB"):
        return _string(source, position, string_start)
    if char.isdigit() or (char == "." and position + 1 < len(source) and source[position + 1].isdigit()):
        return _number(source, position)
    match = _IDENT.match(source, position)
    if match:
        text = match.group()
        kind = text if text in KEYWORDS else "ident"
        return Token(kind, text, position, text)
    for punctuation in _PUNCTUATION:
        if source.startswith(punctuation, position):
            return Token("punct", punctuation, position)
    raise LexError(Issue(position, f"Syntax error: token recognition error at: '{char}'"))


def _number(source: str, position: int) -> Token:
    match = _NUMBER.match(source, position)
    assert match is not None
    text = match.group()
    if match.group("float"):
        return Token("float", text, position, float(text))
    unsigned = text[-1] in "uU"
    digits = text[:-1] if unsigned else text
    value = int(digits, 16) if match.group("hex") else int(digits, 10)
    return Token("uint" if unsigned else "int", text, position, value)


def _string(source: str, position: int, start: re.Match[str]) -> Token:
    prefix, quote = start.group(1).lower(), start.group(2)
    body_start = start.end()
    end = source.find(quote, body_start)
    while end >= 0 and len(quote) == 1 and "r" not in prefix and _escaped(source, body_start, end):
        end = source.find(quote, end + 1)
    if end < 0 or (len(quote) == 1 and "\n" in source[body_start:end]):
        raise LexError(Issue(position, f"Syntax error: token recognition error at: '{source[position:]}'"))
    while len(quote) == 3 and "r" not in prefix and _escaped(source, body_start, end):
        end = source.find(quote, end + 1)
        if end < 0:
            raise LexError(Issue(position, f"Syntax error: token recognition error at: '{source[position:]}'"))
    raw = source[body_start:end]
    text = source[position:end + len(quote)]
    is_bytes = "b" in prefix
    value = raw if "r" in prefix else _unescape(raw, position, is_bytes)
    if is_bytes:
        data = value.encode("latin-1") if isinstance(value, str) and "r" not in prefix else value
        if isinstance(data, str):
            data = data.encode("utf-8")
        return Token("bytes", text, position, data)
    return Token("string", text, position, value)


def _escaped(source: str, start: int, index: int) -> bool:
    backslashes = 0
    while index - 1 - backslashes >= start and source[index - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _unescape(raw: str, position: int, is_bytes: bool) -> str:
    """Resolve escapes; for bytes, non-escaped characters become their UTF-8 bytes as latin-1 code points."""
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char != "\\":
            out.append(char.encode("utf-8").decode("latin-1") if is_bytes else char)
            index += 1
            continue
        code, index = _escape(raw, index + 1, position, is_bytes)
        out.append(code)
    return "".join(out)


def _escape(raw: str, index: int, position: int, is_bytes: bool) -> tuple[str, int]:
    if index >= len(raw):
        raise LexError(Issue(position, "Syntax error: invalid escape sequence"))
    char = raw[index]
    if char in _ESCAPES:
        return _ESCAPES[char], index + 1
    widths = {"x": 2, "X": 2, "u": 4, "U": 8}
    if char in widths:
        digits = raw[index + 1:index + 1 + widths[char]]
        if len(digits) != widths[char] or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise LexError(Issue(position, "Syntax error: invalid escape sequence"))
        code = int(digits, 16)
        if is_bytes and char in "uU":
            raise LexError(Issue(position, "Syntax error: unicode escape in bytes literal"))
        return chr(code), index + 1 + widths[char]
    if char in "0123":
        digits = raw[index:index + 3]
        if len(digits) == 3 and all(c in "01234567" for c in digits):
            return chr(int(digits, 8)), index + 3
    raise LexError(Issue(position, "Syntax error: invalid escape sequence"))
