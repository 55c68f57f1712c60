"""RE2 patterns (the syntax CEL's `matches`, `find` and `findAll` use) compiled with Python's `re`, cached.

Errors carry Go's regexp texts (`error parsing regexp: missing closing ): `(``), which upstream prints.
"""
from __future__ import annotations

import functools
import re
from typing import Final

from apiserver.cel.errors import EvaluationError

_PERL_ONLY: Final = re.compile(r"\(\?[=!>]|\(\?<[=!]|\\[1-9]")



@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern; RE2-only spellings are translated, errors are `error parsing regexp: ...`."""
    translated = pattern.replace("\\z", "\\Z").replace("(?P<", "(?P<").replace("(?<", "(?P<")
    if _PERL_ONLY.search(pattern):
        raise EvaluationError(f"error parsing regexp: invalid or unsupported Perl syntax: `{_perl_part(pattern)}`")
    nested = _nested_repetition(pattern)
    if nested:
        raise EvaluationError(f"error parsing regexp: invalid nested repetition operator: `{nested}`")
    try:
        return re.compile(translated)
    except re.error as error:
        raise EvaluationError(f"error parsing regexp: {_go_message(pattern, error)}") from None


def _nested_repetition(pattern: str) -> str:
    """A repetition of a repetition outside character classes (`x++`): Python reads it as possessive, RE2 refuses."""
    in_class = False
    index = 0
    while index < len(pattern) - 1:
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "*+?}" and pattern[index + 1] in "*+":
            return pattern[index:index + 2]
        index += 1
    return ""


def _perl_part(pattern: str) -> str:
    match = _PERL_ONLY.search(pattern)
    return match.group() if match else pattern


def _go_message(pattern: str, error: re.error) -> str:
    """Go's regexp/syntax wording for the common errors Python's `re` reports."""
    message = error.msg
    position = error.pos or 0
    if message == "unbalanced parenthesis":
        return f"unexpected ): `{pattern}`"
    if message.startswith("missing ), unterminated subpattern"):
        return f"missing closing ): `{pattern}`"
    if message == "multiple repeat":
        return f"invalid nested repetition operator: `{pattern[max(position - 1, 0):position + 1]}`"
    if message == "nothing to repeat":
        return f"missing argument to repetition operator: `{pattern[position:position + 1]}`"
    if message.startswith("unterminated character set"):
        return f"missing closing ]: `{pattern[position:]}`"
    if message.startswith("bad escape"):
        return f"invalid escape sequence: `{pattern[position:position + 2]}`"
    if message.startswith("bad character range"):
        return f"invalid character class range: `{message.rpartition(' ')[2]}`"
    return f"{message}: `{pattern}`"
