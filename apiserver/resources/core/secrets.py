"""Secrets (core/v1): confidential data; the printer counts keys and never shows values.

The strategy follows upstream v1.32: `type` defaults to Opaque and never changes; `stringData` is merged into
`data` (base64, stringData wins) and dropped before anything is stored, on create and update alike, as the v1 to
internal conversion does; data keys are config keys, the data holds at most 1 MiB; each built-in type needs its
keys (or annotation); `immutable: true` freezes data and the flag.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FIELD_IMMUTABLE_MESSAGE, FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import mapping, text
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, SelectableField
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.configmaps import MAX_SIZE, decoded_size, validate_config_keys, validate_immutable_update

OPAQUE: Final = "Opaque"
SERVICE_ACCOUNT_TOKEN: Final = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_KEY: Final = "kubernetes.io/service-account.name"
REDACTED: Final = "<secret contents redacted>"
DATA: Final = FieldPath("data")
# Types whose data must hold every one of these keys.
_REQUIRED_KEYS: Final = {"kubernetes.io/tls": ("tls.crt", "tls.key")}
_JSON_KEYS: Final = {"kubernetes.io/dockercfg": ".dockercfg", "kubernetes.io/dockerconfigjson": ".dockerconfigjson"}
_GO_JSON_TYPES: Final = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def merge_string_data(obj: MutableObject) -> None:
    """stringData into data (as base64), then gone: the conversion upstream does on every decode."""
    string_data = obj.pop("stringData", None)
    if not isinstance(string_data, dict) or not string_data:
        return
    data = obj.get("data")
    if not isinstance(data, dict):
        data = obj["data"] = {}
    for key, value in string_data.items():
        if isinstance(value, str):
            data[key] = base64.b64encode(value.encode("utf-8", "surrogateescape")).decode("ascii")


def _decoded(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def go_json_error(raw: bytes) -> str | None:
    """What Go's json.Unmarshal into a map says about `raw`; None when it is a JSON object (or null)."""
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        return "invalid character looking for beginning of value"
    except json.JSONDecodeError as error:
        if error.pos >= len(raw.strip()) or not raw.strip():
            return "unexpected end of JSON input"
        character = raw.decode("utf-8", "replace")[error.pos]
        return f"invalid character '{character}' looking for beginning of value"
    if value is None or isinstance(value, dict):
        return None
    go_type = _GO_JSON_TYPES.get(type(value), "value")
    return f"json: cannot unmarshal {go_type} into Go value of type map[string]interface {{}}"


def _validate_type(obj: Mapping[str, Any], data: Mapping[str, Any]) -> FieldErrors:
    secret_type = text(obj.get("type"))
    if secret_type == SERVICE_ACCOUNT_TOKEN:
        if not text(mapping(mapping(obj.get("metadata")).get("annotations")).get(SERVICE_ACCOUNT_NAME_KEY)):
            return [FieldError.required(FieldPath("metadata", "annotations").key(SERVICE_ACCOUNT_NAME_KEY))]
        return []
    if secret_type in _JSON_KEYS:
        key = _JSON_KEYS[secret_type]
        if key not in data:
            return [FieldError.required(DATA.key(key))]
        message = go_json_error(_decoded(data[key]) or b"")
        return [FieldError.invalid(DATA.key(key), REDACTED, message)] if message else []
    if secret_type == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [FieldError.required(DATA.key("username")), FieldError.required(DATA.key("password"))]
        return []
    if secret_type == "kubernetes.io/ssh-auth":
        return [] if _decoded(data.get("ssh-privatekey")) else [FieldError.required(DATA.key("ssh-privatekey"))]
    return [FieldError.required(DATA.key(key)) for key in _REQUIRED_KEYS.get(secret_type, ()) if key not in data]


def validate_secret(obj: Mapping[str, Any]) -> FieldErrors:
    data = mapping(obj.get("data"))
    errors = validate_config_keys(data, DATA)
    if sum(decoded_size(value) for value in data.values()) > MAX_SIZE:
        errors.append(FieldError.too_long(DATA, MAX_SIZE))
    return errors + _validate_type(obj, data)


class SecretStrategy(DefaultStrategy):
    """Type default, stringData merge, key/size/type rules and immutability of Secrets."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        if not obj.get("type"):
            obj["type"] = OPAQUE
        # v1 → internal conversion, part of the decode: stringData is written into data.
        merge_string_data(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        if not obj.get("type"):
            obj["type"] = OPAQUE
        merge_string_data(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        self.prepare_for_create(obj, ctx)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_secret(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors: FieldErrors = []
        if obj.get("type") != old.get("type"):
            errors.append(FieldError.invalid(FieldPath("type"), text(obj.get("type")), FIELD_IMMUTABLE_MESSAGE))
        return errors + validate_immutable_update(obj, old, ("data",)) + validate_secret(obj)


COLUMNS = (
    NAME,
    Column("Type", "string", description="Used to facilitate programmatic handling of secret data.",
           value=lambda obj, now: text(obj.get("type"))),
    Column("Data", "string", description="Number of keys in data.",
           value=lambda obj, now: len(mapping(obj.get("data")))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Secret", plural="secrets", namespaced=True, strategy=SecretStrategy(),
    columns=COLUMNS, selectable_fields=(SelectableField("type", lambda obj: text(obj.get("type"))),),
)
