"""Label and field selectors: parsing, matching and canonical strings, with upstream's error messages.

Re-implements k8s.io/apimachinery/pkg/labels/selector.go (the label selector lexer and recursive-descent
parser, `NewRequirement` validation, `LabelSelectorAsSelector`) and pkg/fields/selector.go (comma-separated
`field=value` terms with backslash escaping). A selector that does not parse raises `SelectorError`, a
400 BadRequest whose message is exactly what kube-apiserver answers (kubectl prints it after
`Error from server (BadRequest): `), e.g. `unable to parse requirement: found '', expected: ',' or ')'`.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from apiserver.meta.errors import BadRequest, go_quote
from apiserver.meta.validation import (
    FieldError,
    FieldPath,
    aggregate_messages,
    is_qualified_name,
    is_valid_label_value,
)


class SelectorError(BadRequest):
    """A label or field selector that cannot be parsed or is invalid. The message is upstream's, verbatim."""


class Operator(enum.StrEnum):
    """Upstream's selection.Operator values."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


# The order upstream lists them in its "expected: ..." message.
_BINARY_OPERATORS = (
    Operator.IN, Operator.NOT_IN, Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS,
    Operator.GREATER_THAN, Operator.LESS_THAN,
)
_SYMBOLS_IN_STRINGS = {Operator.EQUALS: "=", Operator.DOUBLE_EQUALS: "==", Operator.NOT_EQUALS: "!=",
                       Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}
_GO_INT64 = re.compile(r"[+-]?[0-9]+")


def _go_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), or None where Go reports an error."""
    if not _GO_INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One label requirement: `key` related to `values` by `operator`. Build with `Requirement.create`."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    @classmethod
    def create(cls, key: str, operator: Operator, values: Sequence[str], path: FieldPath | None = None) -> Self:
        """Upstream's NewRequirement: validate the key, the number of values and each value.

        Raises SelectorError with the aggregated field errors (`[a, b]` when several), reported under
        `path` (upstream's nil path, printed `<nil>`, when None).
        """
        base = path if path is not None else FieldPath()
        errors = _requirement_errors(key, operator, list(values), base)
        if errors:
            raise SelectorError(aggregate_messages(error.error_message() for error in errors))
        return cls(key, operator, tuple(values))

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        match self.operator:
            case Operator.IN | Operator.EQUALS | Operator.DOUBLE_EQUALS:
                return present and labels[self.key] in self.values
            case Operator.NOT_IN | Operator.NOT_EQUALS:
                return not present or labels[self.key] not in self.values
            case Operator.EXISTS:
                return present
            case Operator.DOES_NOT_EXIST:
                return not present
        return present and self._compares(labels[self.key])

    def _compares(self, label_value: str) -> bool:
        actual = _go_int64(label_value)
        wanted = _go_int64(self.values[0]) if len(self.values) == 1 else None
        if actual is None or wanted is None:
            return False
        return actual > wanted if self.operator is Operator.GREATER_THAN else actual < wanted

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (Operator.IN, Operator.NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        return f"{self.key}{_SYMBOLS_IN_STRINGS[self.operator]}{values}"


def _requirement_errors(key: str, operator: Operator, values: list[str], path: FieldPath) -> list[FieldError]:
    errors = [FieldError.invalid(path.child("key"), key, "; ".join(messages))
              for messages in [is_qualified_name(key)] if messages]
    values_path = path.child("values")
    match operator:
        case Operator.IN | Operator.NOT_IN if not values:
            detail = "for 'in', 'notin' operators, values set can't be empty"
            errors.append(FieldError.invalid(values_path, values, detail))
        case Operator.EQUALS | Operator.DOUBLE_EQUALS | Operator.NOT_EQUALS if len(values) != 1:
            detail = "exact-match compatibility requires one single value"
            errors.append(FieldError.invalid(values_path, values, detail))
        case Operator.EXISTS | Operator.DOES_NOT_EXIST if values:
            detail = "values set must be empty for exists and does not exist"
            errors.append(FieldError.invalid(values_path, values, detail))
        case Operator.GREATER_THAN | Operator.LESS_THAN:
            if len(values) != 1:
                detail = "for 'Gt', 'Lt' operators, exactly one value is required"
                errors.append(FieldError.invalid(values_path, values, detail))
            detail = "for 'Gt', 'Lt' operators, the value must be an integer"
            errors.extend(FieldError.invalid(values_path.index(i), value, detail)
                          for i, value in enumerate(values) if _go_int64(value) is None)
    for i, value in enumerate(values):
        if messages := is_valid_label_value(value):
            errors.append(FieldError.invalid(values_path.index(i).key(key), value, "; ".join(messages)))
    return errors


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """An AND of label requirements, sorted by key. The empty selector matches everything.

    `selects_nothing` is upstream's `labels.Nothing()`: what a null `metav1.LabelSelector` converts to.
    """

    requirements: tuple[Requirement, ...] = ()
    selects_nothing: bool = False

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse the `labelSelector` query syntax (`a=b,c in (d,e),!f`). Raises SelectorError."""
        return cls(_sorted_by_key(_LabelParser(text).parse()))

    @classmethod
    def from_set(cls, labels: Mapping[str, str]) -> Self:
        """Select exactly these labels (upstream's SelectorFromSet; not validated)."""
        return cls(_sorted_by_key(Requirement(key, Operator.EQUALS, (value,)) for key, value in labels.items()))

    @classmethod
    def from_label_selector(cls, selector: Mapping[str, Any] | None) -> Self:
        """Convert a `metav1.LabelSelector` dict (`matchLabels`, `matchExpressions`) as upstream does.

        None selects nothing; an empty selector selects everything. Raises SelectorError for an unknown
        operator or an invalid requirement.
        """
        if selector is None:
            return cls(selects_nothing=True)
        match_labels: Mapping[str, str] = selector.get("matchLabels") or {}
        expressions: Sequence[Mapping[str, Any]] = selector.get("matchExpressions") or []
        requirements = [Requirement.create(key, Operator.EQUALS, [value]) for key, value in match_labels.items()]
        for expression in expressions:
            name = str(expression.get("operator", ""))
            if (operator := _SELECTOR_OPERATORS.get(name)) is None:
                raise SelectorError(f"{go_quote(name)} is not a valid label selector operator")
            values = list(expression.get("values") or [])
            requirements.append(Requirement.create(str(expression.get("key", "")), operator, values))
        return cls(_sorted_by_key(requirements))

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.selects_nothing:
            return False
        return all(requirement.matches(labels) for requirement in self.requirements)

    def is_empty(self) -> bool:
        """True when the selector does not restrict anything (never for a select-nothing selector)."""
        return not self.selects_nothing and not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The single value the selector requires for `key` (`=`, `==` or a one-value `in`), if any."""
        for requirement in self.requirements:
            if requirement.key == key:
                exact = requirement.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN)
                return requirement.values[0] if exact and len(requirement.values) == 1 else None
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


_SELECTOR_OPERATORS = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
                       "DoesNotExist": Operator.DOES_NOT_EXIST}


def _sorted_by_key(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(requirements, key=lambda requirement: requirement.key))


def parse_label_selector(text: str) -> LabelSelector:
    """`LabelSelector.parse`; raises SelectorError with upstream's message."""
    return LabelSelector.parse(text)


# --- The label selector lexer and parser --------------------------------------------------------------------

class _Token(enum.Enum):
    END = enum.auto()
    IDENTIFIER = enum.auto()
    CLOSE = enum.auto()
    COMMA = enum.auto()
    NOT = enum.auto()
    DOUBLE_EQUALS = enum.auto()
    EQUALS = enum.auto()
    GREATER = enum.auto()
    IN = enum.auto()
    LESS = enum.auto()
    NOT_EQUALS = enum.auto()
    NOT_IN = enum.auto()
    OPEN = enum.auto()


_LITERALS = {")": _Token.CLOSE, ",": _Token.COMMA, "!": _Token.NOT, "==": _Token.DOUBLE_EQUALS, "=": _Token.EQUALS,
             ">": _Token.GREATER, "in": _Token.IN, "<": _Token.LESS, "!=": _Token.NOT_EQUALS,
             "notin": _Token.NOT_IN, "(": _Token.OPEN}
_TOKEN_OPERATORS = {_Token.IN: Operator.IN, _Token.EQUALS: Operator.EQUALS,
                    _Token.DOUBLE_EQUALS: Operator.DOUBLE_EQUALS, _Token.GREATER: Operator.GREATER_THAN,
                    _Token.LESS: Operator.LESS_THAN, _Token.NOT_IN: Operator.NOT_IN,
                    _Token.NOT_EQUALS: Operator.NOT_EQUALS}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_END = "\0"  # Upstream's lexer reads a NUL byte as the end of input, wherever it appears.


def _lex(text: str) -> list[tuple[_Token, str]]:
    """Split `text` into (token, literal) pairs, ending with END. Keywords `in`/`notin` come out as keywords."""
    items: list[tuple[_Token, str]] = []
    position = 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        char = text[position] if position < len(text) else _END
        if char == _END:
            items.append((_Token.END, ""))
            return items
        if char in _SPECIAL:
            # One symbol, or two when together they form `==` or `!=`.
            literal = text[position:position + 2] if text[position:position + 2] in ("==", "!=") else char
            position += len(literal)
            # Upstream's symbol scanner swallows a NUL that follows the symbol without ending the input.
            position += 1 if text[position:position + 1] == _END else 0
        else:
            end = position
            while end < len(text) and text[end] not in _SPECIAL and text[end] not in _WHITESPACE and text[end] != _END:
                end += 1
            literal = text[position:end]
            position = end + 1 if end < len(text) and text[end] == _END else end
        items.append((_LITERALS.get(literal, _Token.IDENTIFIER), literal))


class _LabelParser:
    """Upstream's recursive-descent parser, including its exact error wording."""

    def __init__(self, text: str) -> None:
        self._items = _lex(text)
        self._position = 0

    def _peek(self, values: bool = True) -> tuple[_Token, str]:
        token, literal = self._items[self._position]
        # Where a value is expected, `in` and `notin` are ordinary identifiers.
        if values and token in (_Token.IN, _Token.NOT_IN):
            token = _Token.IDENTIFIER
        return token, literal

    def _next(self, values: bool = True) -> tuple[_Token, str]:
        item = self._peek(values)
        self._position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._peek()
            if token is _Token.END:
                return requirements
            if token not in (_Token.IDENTIFIER, _Token.NOT):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except SelectorError as error:
                raise SelectorError(f"unable to parse requirement: {error.message}") from None
            token, literal = self._next()
            if token is _Token.END:
                return requirements
            if token is not _Token.COMMA:
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            if (after := self._peek())[0] not in (_Token.IDENTIFIER, _Token.NOT):
                raise SelectorError(f"found '{after[1]}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        key, operator = self._key_and_inferred_operator()
        if operator is not None:
            return Requirement.create(key, operator, [])
        operator = self._operator()
        values = self._set_values() if operator in (Operator.IN, Operator.NOT_IN) else self._exact_value()
        return Requirement.create(key, operator, sorted(values))

    def _key_and_inferred_operator(self) -> tuple[str, Operator | None]:
        token, literal = self._next()
        negated = token is _Token.NOT
        if negated:
            token, literal = self._next()
        if token is not _Token.IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        if messages := is_qualified_name(literal):
            raise SelectorError(FieldError.invalid(FieldPath(), literal, "; ".join(messages)).error_message())
        if negated:
            return literal, Operator.DOES_NOT_EXIST
        ends = self._peek()[0] in (_Token.END, _Token.COMMA)
        return literal, Operator.EXISTS if ends else None

    def _operator(self) -> Operator:
        token, literal = self._next(values=False)
        if (operator := _TOKEN_OPERATORS.get(token)) is None:
            raise SelectorError(f"found '{literal}', expected: {', '.join(_BINARY_OPERATORS)}")
        return operator

    def _set_values(self) -> set[str]:
        token, literal = self._next()
        if token is not _Token.OPEN:
            raise SelectorError(f"found '{literal}' expected: '('")
        token, literal = self._peek()
        if token is _Token.CLOSE:
            self._next()
            return {""}
        if token not in (_Token.IDENTIFIER, _Token.COMMA):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifier_list()
        self._next()  # the closing parenthesis _identifier_list stopped at
        return values

    def _identifier_list(self) -> set[str]:
        # A possibly empty, comma-separated list of possibly empty values: `(a,,b)`, `(,a)`, `(a,)`.
        values: set[str] = set()
        while True:
            token, literal = self._next()
            if token is _Token.IDENTIFIER:
                values.add(literal)
                after, after_literal = self._peek()
                if after is _Token.CLOSE:
                    return values
                if after is not _Token.COMMA:
                    raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            elif token is _Token.COMMA:
                if not values:
                    values.add("")
                after = self._peek()[0]
                if after is _Token.CLOSE:
                    values.add("")
                    return values
                if after is _Token.COMMA:
                    self._next()
                    values.add("")
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        if self._peek()[0] in (_Token.END, _Token.COMMA):
            return {""}
        token, literal = self._next()
        if token is not _Token.IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}


# --- Field selectors ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """`field=value` (operator EQUALS, also for `==`) or `field!=value`. A missing field reads as ""."""

    field: str
    operator: Operator
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return equal if self.operator is Operator.EQUALS else not equal

    def __str__(self) -> str:
        symbol = "=" if self.operator is Operator.EQUALS else "!="
        return f"{self.field}{symbol}{escape_field_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """An AND of field requirements, in the order of their sorted terms. The empty selector matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse the `fieldSelector` query syntax (`a=b,c!=d`, values escaped with `\\`). Raises SelectorError."""
        requirements = []
        for term in sorted(_split_terms(text)):
            if not term:
                continue
            split = _split_term(term)
            if split is None:
                raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
            field, symbol, raw_value = split
            operator = Operator.NOT_EQUALS if symbol == "!=" else Operator.EQUALS
            requirements.append(FieldRequirement(field, operator, unescape_field_value(raw_value)))
        return cls(tuple(requirements))

    @classmethod
    def from_set(cls, fields: Mapping[str, str]) -> Self:
        return cls(tuple(FieldRequirement(field, Operator.EQUALS, value) for field, value in fields.items()))

    def matches(self, fields: Mapping[str, str]) -> bool:
        """`fields` are the object's selectable field values, supplied by the resource's strategy."""
        return all(requirement.matches(fields) for requirement in self.requirements)

    def is_empty(self) -> bool:
        return not self.requirements

    def requires_exact_match(self, field: str) -> str | None:
        """The value the selector requires `field` to equal, if it has an `=` term for it."""
        for requirement in self.requirements:
            if requirement.field == field and requirement.operator is Operator.EQUALS:
                return requirement.value
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def parse_field_selector(text: str) -> FieldSelector:
    """`FieldSelector.parse`; raises SelectorError with upstream's message."""
    return FieldSelector.parse(text)


def _split_terms(text: str) -> list[str]:
    """Split at commas not escaped by a backslash; the backslashes stay in the terms."""
    if not text:
        return []
    terms, start, escaped = [], 0, False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:position])
            start = position + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    # The field name has no escaping, so the first operator found splits the term; `!=` and `==` win over `=`.
    for position in range(len(term)):
        for symbol in ("!=", "==", "="):
            if term.startswith(symbol, position):
                return term[:position], symbol, term[position + len(symbol):]
    return None


def escape_field_value(value: str) -> str:
    """Escape `\\`, `,` and `=` so the value can be used in a field selector."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(raw: str) -> str:
    """Undo `escape_field_value`. Raises SelectorError for an unknown escape or a bare `,` or `=`."""
    result: list[str] = []
    escaped = False
    for char in raw:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            result.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            # Upstream prints the rune with %v: its code point as a number.
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(char)}")
        else:
            result.append(char)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(result)
