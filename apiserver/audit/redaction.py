"""Redaction of audit event objects: Secret data and tokens never reach the audit log.

Stricter than upstream, which logs request and response objects verbatim and advises auditing Secrets, ConfigMaps
and TokenReviews at the Metadata level only. Here, whatever the level, these values are replaced by "REDACTED":
- a Secret's `data` and `stringData` values and its `kubectl.kubernetes.io/last-applied-configuration` annotation
  (which holds the whole Secret as last applied);
- TokenReview `spec.token`;
- TokenRequest `status.token` (the `serviceaccounts/token` subresource).
They are found in single objects, in lists and in Table rows of them, and in patches (merge, strategic, apply and
JSON patches) sent to Secrets. Keys are kept, so the log still says which entries changed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

REDACTED: Final = "REDACTED"
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"


def redact(data: Any, resource: str = "", subresource: str = "") -> Any:
    """`data` with Secret data and tokens replaced (see the module docstring); never mutates `data`.

    `resource`/`subresource` say what the request was about, for bodies that do not name their kind (list items,
    patches, kind-less bodies).
    """
    if isinstance(data, list):
        return _redact_json_patch(data) if resource == "secrets" else data
    if not isinstance(data, dict):
        return data
    kind = data.get("kind") or ""
    if kind == "Secret" or (not kind and resource == "secrets" and not subresource):
        return _redact_secret(data)
    if kind == "TokenReview" or (not kind and resource == "tokenreviews"):
        return _replace_at(data, ("spec", "token"))
    if kind == "TokenRequest" or (not kind and (resource, subresource) == ("serviceaccounts", "token")):
        return _replace_at(data, ("status", "token"))
    return _redact_collection(data, resource, subresource)


def _redact_collection(data: dict[str, Any], resource: str, subresource: str) -> dict[str, Any]:
    copied = data
    if isinstance(data.get("items"), list):
        copied = {**copied, "items": [redact(item, resource, subresource) for item in data["items"]]}
    if isinstance(data.get("rows"), list):
        rows = [with_row_object(row, lambda obj: redact(obj, resource, subresource)) for row in data["rows"]]
        copied = {**copied, "rows": rows}
    return copied


def with_row_object(row: Any, change: Callable[[Any], Any]) -> Any:
    if isinstance(row, dict) and isinstance(row.get("object"), dict):
        return {**row, "object": change(row["object"])}
    return row


def _redacted_values(values: Any) -> Any:
    return {key: REDACTED for key in values} if isinstance(values, dict) else REDACTED


def _redact_secret(secret: dict[str, Any]) -> dict[str, Any]:
    copied = dict(secret)
    for key in ("data", "stringData"):
        if key in copied and copied[key] is not None:
            copied[key] = _redacted_values(copied[key])
    metadata = copied.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(metadata, dict) and isinstance(annotations, dict) and LAST_APPLIED in annotations:
        copied["metadata"] = {**metadata, "annotations": {**annotations, LAST_APPLIED: REDACTED}}
    return copied


def _replace_at(data: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    head, *rest = path
    if head not in data:
        return data
    if not rest:
        return {**data, head: REDACTED}
    inner = data[head]
    return {**data, head: _replace_at(inner, rest)} if isinstance(inner, dict) else data


_SECRET_PATCH_PATHS: Final = ("/data", "/stringData", "/metadata/annotations/kubectl.kubernetes.io~1last-applied")


def _redact_json_patch(operations: Iterable[Any]) -> list[Any]:
    """A JSON patch to a Secret: values written under data, stringData or the last-applied annotation."""
    redacted: list[Any] = []
    for operation in operations:
        if isinstance(operation, dict) and "value" in operation:
            path = str(operation.get("path", ""))
            if path.startswith(_SECRET_PATCH_PATHS):
                operation = {**operation, "value": _redacted_values(operation["value"])}
            elif path in ("", "/", "/metadata", "/metadata/annotations"):
                operation = {**operation, "value": _redact_patch_value(path, operation["value"])}
        redacted.append(operation)
    return redacted


def _redact_patch_value(path: str, value: Any) -> Any:
    if path == "/metadata/annotations" and isinstance(value, dict) and LAST_APPLIED in value:
        return {**value, LAST_APPLIED: REDACTED}
    if path == "/metadata" and isinstance(value, dict):
        return _redact_secret({"metadata": value})["metadata"]
    return _redact_secret(value) if isinstance(value, dict) else value
