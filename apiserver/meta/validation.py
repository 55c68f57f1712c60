"""Field validation vocabulary: `FieldPath`, `FieldError`, name and label rules, and ObjectMeta validation.

Re-implements k8s.io/apimachinery's field errors (util/validation/field), the name rules
(util/validation/validation.go, api/validation/generic.go, api/validation/path/name.go) and ObjectMeta
validation (api/validation/objectmeta.go, apis/meta/v1/validation). Messages are upstream's, word for word,
because clients print and match them. Validators return errors; they never raise.

Lengths are counted in UTF-8 bytes and patterns must match the whole value (Go's `^...$` has no
"before a trailing newline" exception), as upstream does.
"""
from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Self

from apiserver.meta.errors import StatusCause, go_quote
from apiserver.meta.gvk import GroupVersionKind


@dataclass(frozen=True, slots=True)
class _PathElement:
    name: str  # "" for a subscript
    subscript: str = ""


class FieldPath:
    """An immutable path to a field, printed as upstream prints `field.Path`: `spec.containers[0].name`.

    `FieldPath("metadata", "labels")` is a root path; `.child()`, `.index()` and `.key()` return new paths.
    A path with no elements is upstream's nil path and prints as `<nil>`.
    """

    __slots__ = ("_elements",)
    _elements: tuple[_PathElement, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "_elements", tuple(_PathElement(name) for name in names))

    @classmethod
    def _of(cls, elements: tuple[_PathElement, ...]) -> Self:
        path = cls.__new__(cls)
        object.__setattr__(path, "_elements", elements)
        return path

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FieldPath is immutable")

    def child(self, name: str, *more: str) -> FieldPath:
        return self._of(self._elements + tuple(_PathElement(part) for part in (name, *more)))

    def index(self, index: int) -> FieldPath:
        return self._of((*self._elements, _PathElement("", str(index))))

    def key(self, key: str) -> FieldPath:
        return self._of((*self._elements, _PathElement("", key)))

    def __str__(self) -> str:
        if not self._elements:
            return "<nil>"
        parts: list[str] = []
        for position, element in enumerate(self._elements):
            if element.name:
                parts.append(f".{element.name}" if position else element.name)
            else:
                parts.append(f"[{element.subscript}]")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"FieldPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldPath) and self._elements == other._elements

    def __hash__(self) -> int:
        return hash(self._elements)


class FieldErrorType(enum.StrEnum):
    """Upstream's field.ErrorType: the value is the machine-readable cause type sent in Status causes."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"

    @property
    def label(self) -> str:
        """The human wording that starts an error body: `Invalid value`, `Required value`, ..."""
        return _TYPE_LABELS[self]


_TYPE_LABELS: Final = {
    FieldErrorType.NOT_FOUND: "Not found",
    FieldErrorType.REQUIRED: "Required value",
    FieldErrorType.DUPLICATE: "Duplicate value",
    FieldErrorType.INVALID: "Invalid value",
    FieldErrorType.NOT_SUPPORTED: "Unsupported value",
    FieldErrorType.FORBIDDEN: "Forbidden",
    FieldErrorType.TOO_LONG: "Too long",
    FieldErrorType.TOO_MANY: "Too many",
    FieldErrorType.INTERNAL: "Internal error",
    FieldErrorType.TYPE_INVALID: "Invalid value",
}
# These never print their value (upstream's ErrorBody).
_VALUELESS_TYPES: Final = frozenset(
    {FieldErrorType.REQUIRED, FieldErrorType.FORBIDDEN, FieldErrorType.TOO_LONG, FieldErrorType.INTERNAL}
)


class _Omitted:
    def __repr__(self) -> str:
        return "OMIT_VALUE"


OMIT_VALUE: Final = _Omitted()
"""A bad value that is not printed at all (upstream's omitValue), e.g. TooMany with an unknown count."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field-level validation error (upstream's `field.Error`).

    `type` is the cause type (`FieldValueInvalid`), `field` the printed path, `bad_value` the offending
    value as decoded JSON (or OMIT_VALUE), `detail` the explanation. Build them with the class methods.
    """

    type: FieldErrorType
    field: str
    bad_value: object
    detail: str = ""

    @classmethod
    def invalid(cls, path: FieldPath, value: object, detail: str) -> Self:
        return cls(FieldErrorType.INVALID, str(path), value, detail)

    @classmethod
    def required(cls, path: FieldPath, detail: str = "") -> Self:
        return cls(FieldErrorType.REQUIRED, str(path), "", detail)

    @classmethod
    def forbidden(cls, path: FieldPath, detail: str) -> Self:
        return cls(FieldErrorType.FORBIDDEN, str(path), "", detail)

    @classmethod
    def duplicate(cls, path: FieldPath, value: object) -> Self:
        return cls(FieldErrorType.DUPLICATE, str(path), value)

    @classmethod
    def not_found(cls, path: FieldPath, value: object) -> Self:
        return cls(FieldErrorType.NOT_FOUND, str(path), value)

    @classmethod
    def not_supported(cls, path: FieldPath, value: object, valid_values: Sequence[str]) -> Self:
        detail = "supported values: " + ", ".join(go_quote(valid) for valid in valid_values) if valid_values else ""
        return cls(FieldErrorType.NOT_SUPPORTED, str(path), value, detail)

    @classmethod
    def too_long(cls, path: FieldPath, max_length: int) -> Self:
        """The value is not kept: upstream never prints a too-long value."""
        if max_length < 0:
            return cls(FieldErrorType.TOO_LONG, str(path), "<value omitted>", "value is too long")
        unit = "byte" if max_length == 1 else "bytes"
        return cls(FieldErrorType.TOO_LONG, str(path), "<value omitted>", f"may not be more than {max_length} {unit}")

    @classmethod
    def too_many(cls, path: FieldPath, actual: int, maximum: int) -> Self:
        """A negative `actual` leaves the count out; a negative `maximum` leaves the limit out."""
        detail = f"must have at most {maximum} {'item' if maximum == 1 else 'items'}" if maximum >= 0 else (
            "has too many items"
        )
        return cls(FieldErrorType.TOO_MANY, str(path), actual if actual >= 0 else OMIT_VALUE, detail)

    @classmethod
    def internal(cls, path: FieldPath, message: str) -> Self:
        return cls(FieldErrorType.INTERNAL, str(path), None, message)

    @classmethod
    def type_invalid(cls, path: FieldPath, value: object, detail: str) -> Self:
        return cls(FieldErrorType.TYPE_INVALID, str(path), value, detail)

    def error_body(self) -> str:
        """The message without the field: `Invalid value: "Foo": a lowercase RFC 1123 ...` (a Status cause)."""
        body = self.type.label
        if self.type not in _VALUELESS_TYPES and self.bad_value is not OMIT_VALUE:
            body = f"{body}: {render_bad_value(self.bad_value)}"
        return f"{body}: {self.detail}" if self.detail else body

    def error_message(self) -> str:
        """Upstream's `field.Error.Error()`: `metadata.name: Invalid value: "Foo": ...`."""
        return f"{self.field}: {self.error_body()}"

    def __str__(self) -> str:
        return self.error_message()

    def to_cause(self) -> StatusCause:
        """The Status cause NewInvalid builds from this error."""
        return StatusCause(type=str(self.type), message=self.error_body(), field=self.field)


FieldErrors = list[FieldError]


def aggregate_messages(messages: Iterable[str]) -> str:
    """utilerrors.Aggregate.Error(): distinct messages in order, bracketed and comma-joined when more than one."""
    distinct = list(dict.fromkeys(messages))
    return distinct[0] if len(distinct) == 1 else "[" + ", ".join(distinct) + "]"


def render_bad_value(value: object) -> str:
    """Print a bad value as upstream's ErrorBody does for the Go value the JSON decodes into.

    Strings are `%q`-quoted, numbers and booleans printed plainly, null as `null`, string lists as Go's `%#v`
    prints a `[]string`. Objects are printed as compact JSON: upstream's `%#v` of a Go struct (with pointer
    addresses) cannot be reproduced, and JSON is what later upstream versions print.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return "[]string{" + ", ".join(go_quote(item) for item in value) + "}"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _go_float(value: float) -> str:
    """Go's `%v` for a float64: shortest digits, exponent form below 1e-4 and from 1e6 on."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if str(value).startswith("-") else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    # `point` is where the decimal point falls within `digits`.
    point = len(whole) + int(exponent or 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    if not digits:
        return sign + "0"
    if point - 1 < -4 or point - 1 >= 6:
        rest = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{rest}e{'-' if point < 1 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


# --- Name and label rules (util/validation/validation.go) -------------------------------------------------

DNS1123_LABEL_MAX_LENGTH: Final = 63
DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253
DNS1035_LABEL_MAX_LENGTH: Final = 63
QUALIFIED_NAME_MAX_LENGTH: Final = 63
LABEL_VALUE_MAX_LENGTH: Final = 63
TOTAL_ANNOTATION_SIZE_LIMIT: Final = 256 * 1024

DNS1123_LABEL_FORMAT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FORMAT: Final = DNS1123_LABEL_FORMAT + "(\\." + DNS1123_LABEL_FORMAT + ")*"
DNS1035_LABEL_FORMAT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FORMAT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FORMAT: Final = "(" + QUALIFIED_NAME_FORMAT + ")?"
CONFIG_MAP_KEY_FORMAT: Final = "[-._a-zA-Z0-9]+"

_DNS1123_LABEL = re.compile(DNS1123_LABEL_FORMAT)
_DNS1123_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_FORMAT)
_DNS1035_LABEL = re.compile(DNS1035_LABEL_FORMAT)
_QUALIFIED_NAME = re.compile(QUALIFIED_NAME_FORMAT)
_LABEL_VALUE = re.compile(LABEL_VALUE_FORMAT)
_CONFIG_MAP_KEY = re.compile(CONFIG_MAP_KEY_FORMAT)

_DNS1123_LABEL_MESSAGE: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MESSAGE: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_MESSAGE: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_QUALIFIED_NAME_MESSAGE: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MESSAGE: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_CONFIG_MAP_KEY_MESSAGE: Final = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"


def byte_length(value: str) -> int:
    """The length Go's `len()` reports for a string: UTF-8 bytes."""
    return len(value.encode("utf-8", "surrogateescape"))


def max_length_message(length: int) -> str:
    return f"must be no more than {length} characters"


def regex_message(message: str, pattern: str, *examples: str) -> str:
    """Upstream's RegexError: the rule, its examples, and the pattern."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


EMPTY_MESSAGE: Final = "must be non-empty"
IS_NEGATIVE_MESSAGE: Final = "must be greater than or equal to 0"
FIELD_IMMUTABLE_MESSAGE: Final = "field is immutable"


def is_dns1123_label(value: str) -> list[str]:
    errors = [max_length_message(DNS1123_LABEL_MAX_LENGTH)] if byte_length(value) > DNS1123_LABEL_MAX_LENGTH else []
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            # A valid subdomain that is not a valid label: the length is checked already, so it has dots.
            errors.append("must not contain dots")
        else:
            errors.append(regex_message(_DNS1123_LABEL_MESSAGE, DNS1123_LABEL_FORMAT, "my-name", "123-abc"))
    return errors


def is_dns1123_subdomain(value: str) -> list[str]:
    errors = []
    if byte_length(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(max_length_message(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errors.append(regex_message(_DNS1123_SUBDOMAIN_MESSAGE, DNS1123_SUBDOMAIN_FORMAT, "example.com"))
    return errors


def is_dns1035_label(value: str) -> list[str]:
    errors = [max_length_message(DNS1035_LABEL_MAX_LENGTH)] if byte_length(value) > DNS1035_LABEL_MAX_LENGTH else []
    if not _DNS1035_LABEL.fullmatch(value):
        errors.append(regex_message(_DNS1035_LABEL_MESSAGE, DNS1035_LABEL_FORMAT, "my-name", "abc-123"))
    return errors


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: `[prefix/]name`, the prefix a DNS-1123 subdomain."""
    parts = value.split("/")
    errors: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part " + EMPTY_MESSAGE)
        else:
            errors.extend("prefix part " + message for message in is_dns1123_subdomain(prefix))
    else:
        rule = regex_message(_QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME_FORMAT, "MyName", "my.name", "123-abc")
        return [f"a qualified name {rule} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errors.append("name part " + EMPTY_MESSAGE)
    elif byte_length(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append("name part " + max_length_message(QUALIFIED_NAME_MAX_LENGTH))
    if not _QUALIFIED_NAME.fullmatch(name):
        rule = regex_message(_QUALIFIED_NAME_MESSAGE, QUALIFIED_NAME_FORMAT, "MyName", "my.name", "123-abc")
        errors.append("name part " + rule)
    return errors


def is_valid_label_value(value: str) -> list[str]:
    errors = [max_length_message(LABEL_VALUE_MAX_LENGTH)] if byte_length(value) > LABEL_VALUE_MAX_LENGTH else []
    if not _LABEL_VALUE.fullmatch(value):
        errors.append(regex_message(_LABEL_VALUE_MESSAGE, LABEL_VALUE_FORMAT, "MyValue", "my_value", "12345"))
    return errors


def is_config_map_key(value: str) -> list[str]:
    """A ConfigMap or Secret data key."""
    errors = []
    if byte_length(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(max_length_message(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _CONFIG_MAP_KEY.fullmatch(value):
        errors.append(regex_message(_CONFIG_MAP_KEY_MESSAGE, CONFIG_MAP_KEY_FORMAT, "key.name", "KEY_NAME", "key-name"))
    if value in (".", ".."):
        errors.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def is_valid_path_segment_name(name: str) -> list[str]:
    """A name that becomes one URL path segment and one storage key segment."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return is_valid_path_segment_prefix(name)


def is_valid_path_segment_prefix(name: str) -> list[str]:
    return [f"may not contain '{illegal}'" for illegal in ("/", "%") if illegal in name]


# --- Name validators (api/validation/generic.go) -----------------------------------------------------------

NameValidator = Callable[[str, bool], list[str]]
"""`(name, is_prefix) -> messages`. `is_prefix` is True for a `generateName`, which may end in '-'."""


def _mask_trailing_dash(name: str) -> str:
    # Upstream replaces the dash and the byte before it with "a" (so a prefix like "web-" validates as "wea").
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > 1 and raw.endswith(b"-"):
        return (raw[:-2] + b"a").decode("utf-8", "surrogateescape")
    return name


def name_is_dns_subdomain(name: str, is_prefix: bool = False) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if is_prefix else name)


def name_is_dns_label(name: str, is_prefix: bool = False) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if is_prefix else name)


def name_is_dns1035_label(name: str, is_prefix: bool = False) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if is_prefix else name)


def name_is_path_segment(name: str, is_prefix: bool = False) -> list[str]:
    """Upstream's ValidatePathSegmentName: the rule every object name obeys, whatever its resource."""
    return is_valid_path_segment_prefix(name) if is_prefix else is_valid_path_segment_name(name)


validate_namespace_name: Final[NameValidator] = name_is_dns_label


# --- ObjectMeta (api/validation/objectmeta.go, apis/meta/v1/validation) ------------------------------------

FINALIZER_ORPHAN: Final = "orphan"
FINALIZER_DELETE_DEPENDENTS: Final = "foregroundDeletion"
FIELD_MANAGER_MAX_LENGTH: Final = 128
SUBRESOURCE_NAME_MAX_LENGTH: Final = 256
_BANNED_OWNERS: Final = frozenset({GroupVersionKind("", "v1", "Event")})


def non_negative(value: int | None, path: FieldPath) -> FieldErrors:
    """An absent value passes; a negative one is `Invalid value: -1: must be greater than or equal to 0`."""
    if value is None or value >= 0:
        return []
    return [FieldError.invalid(path, value, IS_NEGATIVE_MESSAGE)]


def validate_label_name(name: str, path: FieldPath) -> FieldErrors:
    return [FieldError.invalid(path, name, message) for message in is_qualified_name(name)]


def validate_labels(labels: Mapping[str, str], path: FieldPath) -> FieldErrors:
    """Keys must be qualified names and values label values; every error is reported at `path` itself."""
    errors: FieldErrors = []
    for key, value in labels.items():
        errors.extend(validate_label_name(key, path))
        errors.extend(FieldError.invalid(path, value, message) for message in is_valid_label_value(value))
    return errors


def validate_annotations(annotations: Mapping[str, str], path: FieldPath) -> FieldErrors:
    """Keys are qualified names in any case; keys and values together may not exceed 256 KiB."""
    errors: FieldErrors = []
    for key in annotations:
        errors.extend(FieldError.invalid(path, key, message) for message in is_qualified_name(key.lower()))
    total = sum(byte_length(key) + byte_length(value) for key, value in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errors.append(FieldError.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errors


def validate_finalizers(finalizers: Sequence[str], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for finalizer in finalizers:
        errors.extend(FieldError.invalid(path, finalizer, message) for message in is_qualified_name(finalizer))
    if FINALIZER_ORPHAN in finalizers and FINALIZER_DELETE_DEPENDENTS in finalizers:
        detail = f"finalizer {FINALIZER_ORPHAN} and {FINALIZER_DELETE_DEPENDENTS} cannot be both set"
        errors.append(FieldError.invalid(path, list(finalizers), detail))
    return errors


def _validate_owner_reference(reference: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    # Upstream reports every owner reference at the list's own path, without an index.
    api_version, kind = str(reference.get("apiVersion") or ""), str(reference.get("kind") or "")
    gvk = GroupVersionKind.from_api_version_and_kind(api_version, kind)
    errors: FieldErrors = []
    if not gvk.version:
        errors.append(FieldError.invalid(path.child("apiVersion"), api_version, "version must not be empty"))
    for field in ("kind", "name", "uid"):
        if not reference.get(field):
            errors.append(FieldError.invalid(path.child(field), str(reference.get(field) or ""), "must not be empty"))
    if gvk in _BANNED_OWNERS:
        errors.append(FieldError.invalid(path, dict(reference), f"{gvk} is disallowed from being an owner"))
    return errors


def validate_owner_references(references: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    first_controller = ""
    for reference in references:
        errors.extend(_validate_owner_reference(reference, path))
        if reference.get("controller") is not True:
            continue
        controller = f"{reference.get('kind') or ''}/{reference.get('name') or ''}"
        if not first_controller:
            first_controller = controller
            continue
        detail = (
            'Only one reference can have Controller set to true. Found "true" in references for '
            f"{first_controller} and {controller}"
        )
        errors.append(FieldError.invalid(path, [dict(item) for item in references], detail))
    return errors


def validate_field_manager(manager: str, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if byte_length(manager) > FIELD_MANAGER_MAX_LENGTH:
        errors.append(FieldError.too_long(path, FIELD_MANAGER_MAX_LENGTH))
    position = 0
    for char in manager:
        if not char.isprintable():
            detail = f"invalid character U+{ord(char):04X} (at position {position})"
            errors.append(FieldError.invalid(path, manager, detail))
        position += byte_length(char)
    return errors


def validate_managed_fields(entries: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, entry in enumerate(entries):
        entry_path = path.index(index)
        if entry.get("operation") not in ("Apply", "Update"):
            errors.append(FieldError.invalid(entry_path.child("operation"), entry.get("operation", ""),
                                             "must be `Apply` or `Update`"))
        if entry.get("fieldsType") and entry.get("fieldsType") != "FieldsV1":
            errors.append(FieldError.invalid(entry_path.child("fieldsType"), entry["fieldsType"], "must be `FieldsV1`"))
        errors.extend(validate_field_manager(str(entry.get("manager") or ""), entry_path.child("manager")))
        if byte_length(str(entry.get("subresource") or "")) > SUBRESOURCE_NAME_MAX_LENGTH:
            errors.append(FieldError.too_long(entry_path.child("subresource"), SUBRESOURCE_NAME_MAX_LENGTH))
    return errors


METADATA: Final = FieldPath("metadata")


def validate_object_meta(
    meta: Mapping[str, Any], namespaced: bool, name_validator: NameValidator, path: FieldPath = METADATA
) -> FieldErrors:
    """Upstream's ValidateObjectMeta for a create, after name generation.

    `name_validator` is the resource's name rule (`name_is_dns_subdomain` for most). A `generateName` is
    checked as a prefix; a missing name is `Required value: name or generateName is required`. A namespaced
    object needs a valid namespace; a cluster-scoped one may not have any.
    """
    errors: FieldErrors = []
    if generate_name := _text(meta, "generateName"):
        errors.extend(FieldError.invalid(path.child("generateName"), generate_name, message)
                      for message in name_validator(generate_name, True))
    if not (name := _text(meta, "name")):
        errors.append(FieldError.required(path.child("name"), "name or generateName is required"))
    else:
        errors.extend(FieldError.invalid(path.child("name"), name, message) for message in name_validator(name, False))
    errors.extend(_validate_namespace_field(_text(meta, "namespace"), namespaced, path.child("namespace")))
    errors.extend(non_negative(meta.get("generation"), path.child("generation")))
    return errors + _validate_common_meta(meta, path)


def _validate_namespace_field(namespace: str, namespaced: bool, path: FieldPath) -> FieldErrors:
    if not namespaced:
        return [FieldError.forbidden(path, "not allowed on this type")] if namespace else []
    if not namespace:
        return [FieldError.required(path)]
    return [FieldError.invalid(path, namespace, message) for message in validate_namespace_name(namespace, False)]


def _validate_common_meta(meta: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    return [
        *validate_labels(meta.get("labels") or {}, path.child("labels")),
        *validate_annotations(meta.get("annotations") or {}, path.child("annotations")),
        *validate_owner_references(meta.get("ownerReferences") or [], path.child("ownerReferences")),
        *validate_finalizers(meta.get("finalizers") or [], path.child("finalizers")),
        *validate_managed_fields(meta.get("managedFields") or [], path.child("managedFields")),
    ]


def validate_object_meta_update(
    new: Mapping[str, Any], old: Mapping[str, Any], path: FieldPath = METADATA
) -> FieldErrors:
    """Upstream's ValidateObjectMetaUpdate for the fields a store does not reset itself.

    No finalizer may be added once deletion started; the resourceVersion must be set; generation may not
    go down; name, namespace and uid are immutable.
    """
    errors: FieldErrors = []
    if old.get("deletionTimestamp"):
        added = sorted(set(new.get("finalizers") or []) - set(old.get("finalizers") or []))
        if added:
            detail = "no new finalizers can be added if the object is being deleted, found new finalizers "
            errors.append(FieldError.forbidden(path.child("finalizers"), detail + render_bad_value(added)))
    if not _text(new, "resourceVersion"):
        errors.append(FieldError.invalid(path.child("resourceVersion"), "", "must be specified for an update"))
    generation = int(new.get("generation") or 0)
    if generation < int(old.get("generation") or 0):
        errors.append(FieldError.invalid(path.child("generation"), generation, "must not be decremented"))
    for field in ("name", "namespace", "uid"):
        if _text(new, field) != _text(old, field):
            errors.append(FieldError.invalid(path.child(field), _text(new, field), FIELD_IMMUTABLE_MESSAGE))
    return errors + _validate_common_meta(new, path)


def _text(meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(key)
    return value if isinstance(value, str) else ""
