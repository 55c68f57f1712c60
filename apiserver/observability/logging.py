"""Log lines as `LEVEL logger: event key=value ...`: the `extra=` fields of STYLE's logging rule, printed.

The standard formatter drops whatever a call passes in `extra=`; this one appends those fields, sorted, in
logfmt form (values with spaces, quotes or `=` are quoted), so an event name plus its fields reads as one line.
"""
from __future__ import annotations

import logging
from typing import Final

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text == "" or any(char in text for char in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """The configured format, then ` key=value` for each `extra=` field of the record."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = sorted((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES)
        if not fields:
            return line
        first, newline, rest = line.partition("\n")  # a traceback stays below the fields
        pairs = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields)
        return f"{first} {pairs}{newline}{rest}"
