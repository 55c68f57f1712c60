"""Small field rules shared by the PodSpec validators: ports, paths, file modes, key selectors, field selectors.

Messages and field paths are upstream v1.32's (pkg/apis/core/validation, k8s.io/apimachinery's IsValidPortNum,
IsValidPortName, ...), word for word: clients print them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    byte_length,
    is_config_map_key,
    is_dns1123_subdomain,
    is_qualified_name,
    max_length_message,
)

FILE_MODE_MESSAGE: Final = "must be a number between 0 and 0777 (octal), both inclusive"
PORT_RANGE_MESSAGE: Final = "must be between 1 and 65535, inclusive"
MAX_INT32: Final = 2**31 - 1

ENV_FIELD_PATHS: Final = (
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)
VOLUME_FIELD_PATHS: Final = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                             "metadata.uid")
RESOURCE_FIELD_PATHS: Final = ("limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                               "requests.ephemeral-storage", "requests.memory")
_PORT_NAME_CHARSET: Final = re.compile(r"[-a-z0-9]+")
_SUBSCRIPTED: Final = re.compile(r"(metadata\.(?:annotations|labels))\['(.*)'\]")


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items(value: object) -> list[Mapping[str, Any]]:
    """The dict entries of a list field (entries of another type cannot pass the body's type check)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def inclusive_range_message(low: int, high: int) -> str:
    return f"must be between {low} and {high}, inclusive"


def is_valid_port_name(name: str) -> list[str]:
    """IsValidPortName: an IANA_SVC_NAME (at most 15 characters, a-z, 0-9 and single inner hyphens, one letter)."""
    errors = [max_length_message(15)] if byte_length(name) > 15 else []
    if not _PORT_NAME_CHARSET.fullmatch(name):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    elif not re.search("[a-z]", name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def validate_port_number(port: object, path: FieldPath) -> FieldErrors:
    value = number(port)
    if value is not None and not 1 <= value <= 65535:
        return [FieldError.invalid(path, value, PORT_RANGE_MESSAGE)]
    return []


def validate_port_num_or_name(port: object, path: FieldPath) -> FieldErrors:
    """ValidatePortNumOrName of an IntOrString port."""
    if isinstance(port, str):
        return [FieldError.invalid(path, port, message) for message in is_valid_port_name(port)]
    if number(port) is not None:
        return validate_port_number(port, path)
    return [FieldError.internal(path, "unknown type: 0")]


def validate_dns_label_messages(value: str, path: FieldPath, messages: Iterable[str]) -> FieldErrors:
    return [FieldError.invalid(path, value, message) for message in messages]


def validate_local_descending_path(target: str, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if target.startswith("/"):
        errors.append(FieldError.invalid(path, target, "must be a relative path"))
    if ".." in target.replace("\\", "/").split("/"):
        errors.append(FieldError.invalid(path, target, "must not contain '..'"))
    return errors


def validate_local_non_reserved_path(target: str, path: FieldPath) -> FieldErrors:
    errors = validate_local_descending_path(target, path)
    if target.startswith(".."):
        errors.append(FieldError.invalid(path, target, "must not start with '..'"))
    return errors


def validate_file_mode(mode: object, path: FieldPath) -> FieldErrors:
    value = number(mode)
    if value is not None and not 0 <= value <= 0o777:
        return [FieldError.invalid(path, value, FILE_MODE_MESSAGE)]
    return []


def validate_key_to_path(item: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if not text(item.get("key")):
        errors.append(FieldError.required(path.child("key")))
    target = text(item.get("path"))
    if not target:
        errors.append(FieldError.required(path.child("path")))
    errors.extend(validate_local_non_reserved_path(target, path.child("path")))
    errors.extend(validate_file_mode(item.get("mode"), path.child("mode")))
    return errors


def validate_key_selector(selector: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateConfigMapKeySelector / validateSecretKeySelector: a subdomain name and a config key."""
    name = text(selector.get("name"))
    errors = [FieldError.invalid(path.child("name"), name, message) for message in is_dns1123_subdomain(name)]
    key = text(selector.get("key"))
    if not key:
        errors.append(FieldError.required(path.child("key")))
    else:
        errors.extend(FieldError.invalid(path.child("key"), key, message) for message in is_config_map_key(key))
    return errors


def validate_object_field_selector(selector: Mapping[str, Any], allowed: Sequence[str],
                                   path: FieldPath) -> FieldErrors:
    """validateObjectFieldSelector: a supported downward API field, or a subscripted label/annotation."""
    if not text(selector.get("apiVersion")):
        return [FieldError.required(path.child("apiVersion"))]
    field_path = text(selector.get("fieldPath"))
    if not field_path:
        return [FieldError.required(path.child("fieldPath"))]
    if selector.get("apiVersion") != "v1":
        detail = f'error converting fieldPath: unsupported pod version: {selector.get("apiVersion")}'
        return [FieldError.invalid(path.child("fieldPath"), field_path, detail)]
    subscripted = _SUBSCRIPTED.fullmatch(field_path)
    if subscripted is not None:
        key = subscripted.group(2)
        target = key.lower() if subscripted.group(1) == "metadata.annotations" else key
        return [FieldError.invalid(path, key, message) for message in is_qualified_name(target)]
    if field_path not in allowed:
        return [FieldError.not_supported(path.child("fieldPath"), field_path, sorted(allowed))]
    return []


def validate_resource_field_selector(selector: Mapping[str, Any], path: FieldPath, *, volume: bool) -> FieldErrors:
    """validateContainerResourceFieldSelector without the huge-pages prefixes."""
    resource = text(selector.get("resource"))
    if volume and not text(selector.get("containerName")):
        return [FieldError.required(path.child("containerName"))]
    if not resource:
        return [FieldError.required(path.child("resource"))]
    if resource not in RESOURCE_FIELD_PATHS:
        return [FieldError.not_supported(path.child("resource"), resource, RESOURCE_FIELD_PATHS)]
    return []
