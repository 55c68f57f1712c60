"""ConfigMaps (core/v1): non-confidential configuration as key/value pairs.

Validation as upstream v1.32 (ValidateConfigMap, ValidateConfigMapUpdate): keys of `data` and `binaryData` are
config keys and appear in one of the two only, the values together hold at most 1 MiB, and a ConfigMap created
with `immutable: true` keeps its data, binaryData and immutable flag for good. The key and immutability rules
are shared with Secrets.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_config_map_key
from apiserver.registry.columns import mapping
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec
from apiserver.registry.strategy import DefaultStrategy, MutableObject

MAX_SIZE: Final = 1024 * 1024  # upstream's MaxSecretSize, shared by ConfigMaps
IMMUTABLE_MESSAGE: Final = "field is immutable when `immutable` is set"


def validate_config_keys(data: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """Each key of `data` must be a config key; errors at `<path>[<key>]`."""
    return [FieldError.invalid(path.key(key), key, message)
            for key in sorted(data) for message in is_config_map_key(key)]


def decoded_size(value: object) -> int:
    """The byte length of a base64 value as the Go type holds it (a value that does not decode counts as sent)."""
    if not isinstance(value, str):
        return 0
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return len(value)


def text_size(value: object) -> int:
    return len(value.encode("utf-8", "surrogateescape")) if isinstance(value, str) else 0


def validate_immutable_update(new: Mapping[str, Any], old: Mapping[str, Any], fields: tuple[str, ...]) -> FieldErrors:
    """Once `immutable: true` is stored, the flag and `fields` may not change (Forbidden, upstream's wording)."""
    if old.get("immutable") is not True:
        return []
    errors: FieldErrors = []
    if new.get("immutable") is not True:
        errors.append(FieldError.forbidden(FieldPath("immutable"), IMMUTABLE_MESSAGE))
    for name in fields:
        if new.get(name) != old.get(name):
            errors.append(FieldError.forbidden(FieldPath(name), IMMUTABLE_MESSAGE))
    return errors


def _validate_bag(bag: Mapping[str, Any], name: str, other: Mapping[str, Any], other_name: str) -> FieldErrors:
    errors: FieldErrors = []
    for key in sorted(bag):
        errors.extend(validate_config_keys({key: bag[key]}, FieldPath(name)))
        if key in other:
            detail = f"duplicate of key present in {other_name}"
            errors.append(FieldError.invalid(FieldPath(name).key(key), key, detail))
    return errors


def validate_config_map(obj: Mapping[str, Any]) -> FieldErrors:
    data, binary = mapping(obj.get("data")), mapping(obj.get("binaryData"))
    errors = _validate_bag(data, "data", binary, "binaryData") + _validate_bag(binary, "binaryData", data, "data")
    total = sum(text_size(value) for value in data.values()) + sum(decoded_size(value) for value in binary.values())
    if total > MAX_SIZE:
        # Upstream reports the whole object, at the path of one empty name (printed `[]`).
        errors.append(FieldError.too_long(FieldPath(""), MAX_SIZE))
    return errors


class ConfigMapStrategy(DefaultStrategy):
    """Key, size and immutability rules of ConfigMaps."""

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_config_map(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_immutable_update(obj, old, ("data", "binaryData")) + validate_config_map(obj)


COLUMNS = (
    NAME,
    Column("Data", "string", description="Number of keys in data and binaryData.",
           value=lambda obj, now: len(mapping(obj.get("data"))) + len(mapping(obj.get("binaryData")))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True,
    short_names=("cm",), strategy=ConfigMapStrategy(), columns=COLUMNS,
)
