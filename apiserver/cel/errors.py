"""The errors the CEL layer raises: compile errors with cel-go's display text, runtime errors, cost limits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

COST_LIMIT_MESSAGE: Final = "operation cancelled: actual cost limit exceeded"
# cel-go marks the columns of non-ASCII characters with a fullwidth full stop.
_WIDE_DOT: Final = "\uff0e"


@dataclass(frozen=True, slots=True)
class Issue:
    """One compile error at a character offset of the expression."""

    offset: int
    message: str


class CompileError(ValueError):
    """An expression that does not parse or type-check.

    `str(error)` is what kube-apiserver prints: `compilation failed: ERROR: <input>:1:6: ...` followed by the
    source line and a caret line for each error; `.errors` holds each error's display text.
    """

    def __init__(self, errors: list[str], message: str | None = None) -> None:
        self.errors = errors
        super().__init__(message if message is not None else "compilation failed: " + "\n".join(errors))


class EvaluationError(Exception):
    """A runtime error of an expression; `str(error)` is cel-go's text (`no such key: foo`)."""


class CostLimitExceeded(EvaluationError):
    """The runtime cost of one evaluation went past its limit."""

    def __init__(self, message: str = COST_LIMIT_MESSAGE) -> None:
        super().__init__(message)


def display_issues(source: str, issues: list[Issue]) -> list[str]:
    """Format issues like cel-go's `Errors.ToDisplayString`, sorted by position."""
    return [_display(source, issue) for issue in sorted(issues, key=lambda issue: issue.offset)]


def _display(source: str, issue: Issue) -> str:
    offset = max(0, min(issue.offset, len(source)))
    line_number = source.count("\n", 0, offset) + 1
    line_start = source.rfind("\n", 0, offset) + 1
    column = offset - line_start
    text = f"ERROR: <input>:{line_number}:{column + 1}: {issue.message}"
    line_end = source.find("\n", line_start)
    line = source[line_start:] if line_end < 0 else source[line_start:line_end]
    if not line and not source:
        return text
    indicator = "".join(_WIDE_DOT if ord(char) > 0x7F else "." for char in line[:column])
    return f"{text}\n | {line.replace(chr(9), ' ')}\n | {indicator}^"
