"""The three patch types of the API: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch,
plus the two- and three-way patches kubectl computes. Pure functions over decoded JSON; decoding the request body
(and its Go-worded syntax errors) is the HTTP layer's business.

Every function leaves its arguments untouched and raises `ApiError`s with kube-apiserver's codes and texts:

- JSON patch: more than 10000 operations is 413 `The allowed maximum operations in a JSON patch is 10000, got N`;
  an operation that does not apply (a failed `test`, a missing path) and `copy` operations that together copy
  more than 3 MiB are the generic 422 `the server rejected our request due to an error in our request`, whose
  details are empty: upstream drops the library's reason from the response.
- JSON merge patch: a patch that is neither an object nor an array is 400 `Invalid JSON Patch`.
- Strategic merge patch: see `patch_strategic` (apply), `patch_diff` (two-way) and `patch_threeway` (kubectl
  apply). The type schema is any object with the members of `PatchSchema` (`patch_meta`); None means unknown.

The implementation of RFC 6902 is the `jsonpatch` library's. Where it differs from the evanphx/json-patch v4
that kube-apiserver uses, upstream's behaviour is not reproduced: negative array indices (accepted upstream),
an `add` without `value` (adds null upstream) and `test` comparing `1` with `1.0` or `true` (unequal upstream).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch  # type: ignore[import-untyped, unused-ignore]
import jsonpointer
import orjson

from apiserver.meta.errors import BadRequest, RequestEntityTooLarge
from apiserver.meta.objects import JSONDict
from apiserver.meta.patch_diff import create_two_way_merge_patch
from apiserver.meta.patch_errors import MergeConflict, PatchError, rejected
from apiserver.meta.patch_meta import PatchSchema
from apiserver.meta.patch_strategic import strategic_merge_patch
from apiserver.meta.patch_threeway import (
    LAST_APPLIED_ANNOTATION,
    client_side_apply_patch,
    last_applied_configuration,
    three_way_merge_patch,
)
from apiserver.meta.patch_values import deep_copy

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "MAX_JSON_PATCH_COPY_BYTES",
    "MAX_JSON_PATCH_OPERATIONS",
    "MergeConflict",
    "PatchError",
    "PatchSchema",
    "client_side_apply_patch",
    "create_two_way_merge_patch",
    "json_patch",
    "last_applied_configuration",
    "merge_patch",
    "strategic_merge_patch",
    "three_way_merge_patch",
]

MAX_JSON_PATCH_OPERATIONS = 10000
"""kube-apiserver's maxJSONPatchOperations."""

MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024
"""kube-apiserver's default JSONPatchMaxCopyBytes: how much all `copy` operations of one patch may copy."""

_APPLY_ERRORS = (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError, TypeError)


def json_patch(original: Any, operations: Sequence[Mapping[str, Any]]) -> Any:
    """`original` with the RFC 6902 `operations` applied in order, with kube-apiserver's bounds and errors."""
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}"
        )
    document = deep_copy(original)
    copied = 0
    try:
        for operation in operations:
            if operation.get("op") == "copy":
                copied += _encoded_size(jsonpointer.resolve_pointer(document, str(operation.get("from"))))
                if copied > MAX_JSON_PATCH_COPY_BYTES:
                    raise rejected()
            document = jsonpatch.JsonPatch([dict(operation)]).apply(document, in_place=True)
    except _APPLY_ERRORS:
        # Upstream wraps the library's error in a generic 422 whose message leaves the reason out.
        raise rejected() from None
    return document


def _encoded_size(value: Any) -> int:
    """The length of encoding/json's output, which escapes `<`, `>`, `&` (6 bytes each) and U+2028/9."""
    encoded = orjson.dumps(value)
    escaped = encoded.count(b"<") + encoded.count(b">") + encoded.count(b"&")
    separators = encoded.count("\u2028".encode()) + encoded.count("\u2029".encode())
    return len(encoded) + 5 * escaped + 3 * separators


def merge_patch(original: JSONDict, patch: Any) -> Any:
    """RFC 7386 as evanphx/json-patch's MergePatch does it for kube-apiserver.

    An array patch replaces the document (with the null members of its objects dropped); any other patch that
    is not an object is 400 `Invalid JSON Patch`. Null deletes; a value that meets no object in the original is
    taken with its null members dropped, except that a non-object value replacing an object is taken verbatim.
    """
    if isinstance(patch, list):
        return [_prune_nulls(item) for item in patch]
    if not isinstance(patch, dict):
        raise BadRequest("Invalid JSON Patch")
    return _merge_into(deep_copy(original), patch)


def _merge_into(merged: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge_into(merged[key], value)
        elif isinstance(merged.get(key), dict):
            merged[key] = deep_copy(value)
        else:
            merged[key] = _prune_nulls(value)
    return merged


def _prune_nulls(value: Any) -> Any:
    """A copy without null members of objects, at any depth; null array elements stay, as upstream."""
    if isinstance(value, dict):
        return {key: _prune_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_prune_nulls(item) for item in value]
    return value
