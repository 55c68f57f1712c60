"""kube-openapi's schema validator as apiextensions runs it on custom resources, with upstream's messages.

Each `ValueValidator` is compiled once from one OpenAPI node. `validate(value)` replays kube-openapi's
SchemaValidator: per node the type check, allOf/anyOf/oneOf/not, string limits (the first failing of
maxLength, minLength, pattern), the format, number bounds, list items then minItems/maxItems/uniqueItems,
the enum, and for objects min/maxProperties (which stop the node), additionalProperties, properties and
required. A null value only meets the type check and the enum.

Failures carry kube-openapi's error name (`spec.replicas`, `spec.list[0]`, `spec.map.key`, `.spec` for a
required root field) and text (`spec.replicas in body must be of type integer: "string"`); `field_errors`
converts them as apiextensions' kubeOpenAPIResultToFieldErrors does. Upstream walks properties in Go map
order (random); here they follow the schema's declaration order.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apiserver.meta.errors import go_quote
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.structural.formats import FORMAT_CHECKS, normalized_format, supported_format
from apiserver.registry.structural.values import (
    MISSING,
    TYPE_INFO,
    correlation_key,
    deep_equal,
    has_duplicates,
    is_json_integer,
    json_equal,
    number_text,
    value_kind,
)


@dataclass(frozen=True, slots=True)
class Failure:
    """One kube-openapi error. `code` is its kind; `name` "" with `composite` means errors.New (no field)."""

    code: str
    name: str
    message: str
    value: Any = ""
    valid: Any = None
    values: tuple[Any, ...] = ()
    composite: bool = False


class ValueValidator:
    """The compiled checks of one OpenAPI node and its children (built once, shared, read-only)."""

    __slots__ = (
        "additional", "additional_allowed", "all_of", "any_of", "enum", "exclusive_maximum", "exclusive_minimum",
        "format", "items", "list_map_keys", "list_type", "max_items", "max_length", "max_properties", "maximum",
        "min_items", "min_length",
        "min_properties", "minimum", "multiple_of", "not_", "nullable", "one_of", "pattern", "pattern_text",
        "properties", "required", "types", "unique_items",
    )

    def __init__(self, openapi: Mapping[str, Any]) -> None:
        declared = openapi.get("type")
        self.types: tuple[str, ...] = (str(declared),) if declared else ()
        if openapi.get("x-kubernetes-int-or-string"):
            self.types = ("integer", "string")
        self.nullable = bool(openapi.get("nullable", False))
        self.format = supported_format(str(openapi.get("format") or ""))
        self.maximum = openapi.get("maximum")
        self.minimum = openapi.get("minimum")
        self.exclusive_maximum = bool(openapi.get("exclusiveMaximum", False))
        self.exclusive_minimum = bool(openapi.get("exclusiveMinimum", False))
        self.multiple_of = openapi.get("multipleOf")
        self.max_length = openapi.get("maxLength")
        self.min_length = openapi.get("minLength")
        self.pattern_text = str(openapi.get("pattern") or "")
        self.pattern = _compile(self.pattern_text)
        self.max_items = openapi.get("maxItems")
        self.min_items = openapi.get("minItems")
        self.unique_items = bool(openapi.get("uniqueItems", False))
        self.max_properties = openapi.get("maxProperties")
        self.min_properties = openapi.get("minProperties")
        self.required: tuple[str, ...] = tuple(openapi.get("required") or ())
        self.enum: tuple[Any, ...] | None = tuple(openapi["enum"]) if openapi.get("enum") is not None else None
        self.properties = {name: ValueValidator(prop) for name, prop in (openapi.get("properties") or {}).items()}
        items = openapi.get("items")
        self.items = ValueValidator(items) if isinstance(items, Mapping) else None
        additional = openapi.get("additionalProperties")
        self.additional = ValueValidator(additional) if isinstance(additional, Mapping) else None
        self.additional_allowed = additional is not False
        self.all_of = tuple(ValueValidator(part) for part in openapi.get("allOf") or ())
        self.any_of = tuple(ValueValidator(part) for part in openapi.get("anyOf") or ())
        self.one_of = tuple(ValueValidator(part) for part in openapi.get("oneOf") or ())
        self.not_ = ValueValidator(openapi["not"]) if isinstance(openapi.get("not"), Mapping) else None
        self.list_type = str(openapi.get("x-kubernetes-list-type") or "")
        self.list_map_keys = tuple(openapi.get("x-kubernetes-list-map-keys") or ())

    def validate(self, value: Any, path: str = "", old: Any = MISSING, *, unchanged: bool = False) -> list[Failure]:
        """kube-openapi's failures for `value` at error name `path` ("" at the root).

        With `old` (the correlated old value of an update), the ratcheting validator's rule applies: this node's
        own failures are dropped when the value did not change; children are correlated by property name, map
        key and list-type map keys (items of other lists have no old value). `unchanged` says the caller already
        knows the value equals `old`.
        """
        kind = value_kind(value)
        keep_own = old is MISSING or not (unchanged or deep_equal(value, old))
        if kind == "null":
            return self._type(value, kind, path) + self._enum(value, path) if keep_own else []
        failures: list[Failure] = []
        if keep_own and (self.types or self.format):
            failures += self._type(value, kind, path)
        if keep_own and (self.all_of or self.any_of or self.one_of or self.not_ is not None):
            failures += self._combinations(value, path)
        if kind == "string" and keep_own:
            failures += self._string(value, path)
            if self.format:
                failures += self._format(value, path)
        elif kind in ("int", "float") and keep_own:
            failures += self._number(value, kind, path)
        elif kind == "list":
            failures += self._list(value, path, old, keep_own)
        if keep_own:
            failures += self._enum(value, path)
        if kind == "map":
            failures += self._object(value, path, old, keep_own)
        return failures

    def _type(self, value: Any, kind: str, path: str) -> list[Failure]:
        if kind == "null":
            if self.types and "null" not in self.types and not self.nullable:
                return [_invalid_type(path, ",".join(self.types), "null")]
            return []
        schema_type, go_format = TYPE_INFO[kind]
        float_int = schema_type == "number" and "integer" in self.types and is_json_integer(float(value))
        int_float = schema_type == "integer" and "number" in self.types
        matches = schema_type in self.types or float_int or int_float
        if kind not in ("string", "list") and self.format and not (matches or go_format == self.format):
            return [_invalid_type(path, self.format, go_format)]
        if not ("number" in self.types or "integer" in self.types) and self.format and kind in ("string", "list"):
            return []
        return [] if matches else [_invalid_type(path, ",".join(self.types), schema_type)]

    def _string(self, value: str, path: str) -> list[Failure]:
        length = len(value)
        if self.max_length is not None and length > self.max_length:
            message = f"{path} in body should be at most {self.max_length} chars long"
            return [Failure("too_long", path, message, value, valid=int(self.max_length))]
        if self.min_length is not None and length < self.min_length:
            return [Failure("min_length", path, f"{path} in body should be at least {self.min_length} chars long",
                            value)]
        if self.pattern is not None and not self.pattern.search(value):
            return [Failure("pattern", path, f"{path} in body should match '{self.pattern_text}'", value)]
        return []

    def _format(self, value: str, path: str) -> list[Failure]:
        if FORMAT_CHECKS[normalized_format(self.format)](value):
            return []
        return [_invalid_type(path, self.format, value)]

    def _number(self, value: float, kind: str, path: str) -> list[Failure]:
        failures: list[Failure] = []
        if self.multiple_of is not None:
            failures += multiple_of_failure(path, value, kind, self.multiple_of)
        if self.minimum is not None:
            failures += bound_failure(path, value, kind, self.minimum, self.exclusive_minimum, lower=True)
        if self.maximum is not None:
            failures += bound_failure(path, value, kind, self.maximum, self.exclusive_maximum, lower=False)
        return failures

    def _list(self, value: list[Any], path: str, old: Any, keep_own: bool) -> list[Failure]:
        failures: list[Failure] = []
        if self.items is not None:
            old_items = self._correlated_items(old)
            for index, item in enumerate(value):
                old_item = old_items(item) if old_items is not None else MISSING
                failures += self.items.validate(item, f"{path}[{index}]", old_item,
                                                unchanged=not keep_own and old_item is not MISSING)
        if not keep_own:
            return failures
        size = len(value)
        if self.min_items is not None and size < self.min_items:
            failures.append(Failure("min_items", path, f"{path} in body should have at least {self.min_items} items",
                                    size))
        if self.max_items is not None and size > self.max_items:
            failures.append(Failure("max_items", path, f"{path} in body should have at most {self.max_items} items",
                                    size, valid=int(self.max_items)))
        if self.unique_items and has_duplicates(value):
            failures.append(Failure("unique", path, f"{path} in body shouldn't contain duplicates", None))
        return failures

    def _enum(self, value: Any, path: str) -> list[Failure]:
        if not self.enum or any(json_equal(value, allowed) for allowed in self.enum):
            return []
        return [Failure("enum", path, f"{path} in body should be one of {list(self.enum)}", value, values=self.enum)]

    def _correlated_items(self, old: Any) -> Any:
        """A lookup of the old item correlated with a new one (list-type map keys), or None."""
        if self.list_type != "map" or not self.list_map_keys or not isinstance(old, list):
            return None
        keys = self.list_map_keys

        def key_of(item: Any) -> tuple[Any, ...] | None:
            return tuple(correlation_key(item.get(key)) for key in keys) if isinstance(item, dict) else None

        by_key = {key_of(item): item for item in old if isinstance(item, dict)}
        return lambda item: by_key.get(key_of(item), MISSING)

    def _object(self, value: dict[str, Any], path: str, old: Any, keep_own: bool) -> list[Failure]:
        old_map = old if isinstance(old, dict) else {}
        if keep_own and (count_failure := self._property_count(len(value), path)) is not None:
            return [count_failure]
        failures: list[Failure] = []
        for key, item in value.items():
            if key in self.properties:
                continue
            if not self.additional_allowed:
                if keep_own:
                    message = f"{path}.{key} in body is a forbidden property"
                    failures.append(Failure("forbidden_property", path, message, key))
            elif self.additional is not None:
                failures += self.additional.validate(item, f"{path}.{key}", old_map.get(key, MISSING),
                                                     unchanged=not keep_own)
        for name, child in self.properties.items():
            if name in value:
                failures += child.validate(value[name], f"{path}.{name}" if path else name,
                                           old_map.get(name, MISSING), unchanged=not keep_own)
        if keep_own:
            failures += [Failure("required", f"{path}.{name}", f"{path}.{name} in body is required")
                         for name in self.required if name not in value]
        return failures

    def _property_count(self, count: int, path: str) -> Failure | None:
        if self.min_properties is not None and count < self.min_properties:
            message = f"{path} in body should have at least {self.min_properties} properties"
            return Failure("min_properties", path, message, count)
        if self.max_properties is not None and count > self.max_properties:
            message = f"{path} in body should have at most {self.max_properties} properties"
            return Failure("too_many_properties", path, message, count, valid=int(self.max_properties))
        return None

    def _combinations(self, value: Any, path: str) -> list[Failure]:
        failures: list[Failure] = []
        if self.any_of:
            results = [branch.validate(value, path) for branch in self.any_of]
            if all(results):
                failures.append(_composite(f'"{path}" must validate at least one schema (anyOf)'))
                failures.extend(_fewest(results))
        if self.one_of:
            results = [branch.validate(value, path) for branch in self.one_of]
            valid = sum(1 for result in results if not result)
            if valid != 1:
                found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                failures.append(_composite(f'"{path}" must validate one and only one schema (oneOf). {found}'))
                if valid == 0:
                    failures.extend(_fewest(results))
        if self.all_of:
            results = [branch.validate(value, path) for branch in self.all_of]
            for result in results:
                failures += result
            valid = sum(1 for result in results if not result)
            if valid != len(results):
                suffix = ". None validated" if valid == 0 else ""
                failures.append(_composite(f'"{path}" must validate all the schemas (allOf){suffix}'))
        if self.not_ is not None and not self.not_.validate(value, path):
            failures.append(_composite(f'"{path}" must not validate the schema (not)'))
        return failures


def _fewest(results: list[list[Failure]]) -> list[Failure]:
    """The failures of the branch that failed least (upstream keeps the branch with the most passing checks)."""
    return min(results, key=len)


def _compile(pattern: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(_go_dollar(pattern), re.ASCII)  # RE2 classes (\d, \w, \s, \b) are ASCII-only
    except re.error:
        return None  # the CRD's validation rejects patterns that do not compile


def _go_dollar(pattern: str) -> str:
    """RE2's `$` (without the m flag) matches only at the very end; Python's also before a final newline."""
    if "(?m" in pattern or "$" not in pattern:
        return pattern
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append("\\Z")
            continue
        out.append(char)
    return "".join(out)


def _invalid_type(path: str, type_name: str, data: str) -> Failure:
    return Failure("type", path, f"{path} in body must be of type {type_name}: {go_quote(data)}", data)


def _composite(message: str) -> Failure:
    return Failure("composite", "", message, composite=True)


def bound_failure(path: str, value: float, kind: str, limit: float, exclusive: bool, *, lower: bool) -> list[Failure]:
    # kube-openapi compares an int64 with the bound truncated to int64 and prints that int64.
    bound: float | int = int(limit) if kind == "int" else float(limit)
    if lower:
        failed = value <= bound if exclusive else value < bound
        words = "greater than" if exclusive else "greater than or equal to"
    else:
        failed = value >= bound if exclusive else value > bound
        words = "less than" if exclusive else "less than or equal to"
    if not failed:
        return []
    return [Failure("bound", path, f"{path} in body should be {words} {number_text(bound)}", value)]


def multiple_of_failure(path: str, value: float, kind: str, factor: float) -> list[Failure]:
    if kind == "int" and int(factor) != 0:
        whole = int(factor)
        if whole < 0:
            return [Failure("multiple_of", path, f"factor MultipleOf declared for {path} must be positive: {whole}",
                            whole)]
        if value % whole == 0:
            return []
        return [Failure("multiple_of", path, f"{path} in body should be a multiple of {whole}", value)]
    number = float(factor)
    if number < 0:
        return [Failure("multiple_of", path,
                        f"factor MultipleOf declared for {path} must be positive: {number_text(number)}", number)]
    quotient = (1 / number * value) if number < 1 else (value / number)
    if is_json_integer(quotient):
        return []
    return [Failure("multiple_of", path, f"{path} in body should be a multiple of {number_text(number)}", value)]


def field_errors(failures: list[Failure], base: FieldPath | None = None) -> FieldErrors:
    """apiextensions' kubeOpenAPIResultToFieldErrors: one field error per failure, upstream's types."""
    errors: FieldErrors = []
    for failure in failures:
        if failure.composite:
            errors.append(FieldError.invalid(base or FieldPath(), "", failure.message))
            continue
        path = _error_path(failure.name, base)
        errors.append(_field_error(failure, path))
    return errors


def _error_path(name: str, base: FieldPath | None) -> FieldPath:
    if not name or name == ".":
        return base or FieldPath()
    trimmed = name.removeprefix(".")
    return base.child(trimmed) if base is not None else FieldPath(trimmed)


def _field_error(failure: Failure, path: FieldPath) -> FieldError:
    value = "" if failure.value is None else failure.value
    if failure.code == "required":
        return FieldError.required(path)
    if failure.code == "enum":
        values = [item if isinstance(item, str) else _json_text(item) for item in failure.values]
        return FieldError.not_supported(path, failure.value, values)
    if failure.code == "too_long":
        return FieldError.too_long(path, failure.valid if failure.valid is not None else -1)
    if failure.code in ("max_items", "too_many_properties"):
        return FieldError.too_many(path, failure.value, failure.valid if failure.valid is not None else -1)
    if failure.code == "type":
        return FieldError.type_invalid(path, value, failure.message)
    return FieldError.invalid(path, value, failure.message)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
