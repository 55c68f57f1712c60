"""The three-way strategic merge patch of client-side `kubectl apply` (CreateThreeWayMergePatch), its conflict
check, and the `kubectl.kubernetes.io/last-applied-configuration` bookkeeping around it.

kubectl compares three documents: the configuration it applied last time (original, kept in the annotation), the
new manifest (modified, carrying the new annotation) and the live object (current). The patch is the difference
from current to modified without deletions, merged with the deletions from original to modified: fields the
manifest dropped are removed, fields other writers set are left alone. An unchanged manifest gives `{}`, which
kubectl reports as `unchanged` without sending anything.
"""
from __future__ import annotations

from typing import Any

import orjson
import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.meta.objects import JSONDict
from apiserver.meta.patch_diff import DiffOptions, diff_maps
from apiserver.meta.patch_errors import MergeConflict, PatchError
from apiserver.meta.patch_meta import (
    DIRECTIVE,
    MERGE,
    REPLACE,
    RETAIN_KEYS,
    PatchMeta,
    PatchSchema,
    lookup_list,
    lookup_map,
)
from apiserver.meta.patch_order import element_type
from apiserver.meta.patch_strategic import MergeOptions, merge_map
from apiserver.meta.patch_values import dedupe_scalars, deep_copy, deep_equal, format_s, format_v, sort_scalars

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

_DELTA = DiffOptions(ignore_deletions=True, set_element_order=True)
_DELETIONS = DiffOptions(set_element_order=True, ignore_changes_and_additions=True)


def three_way_merge_patch(
    original: JSONDict | None, modified: JSONDict, current: JSONDict, schema: PatchSchema | None, *,
    overwrite: bool = True,
) -> JSONDict:
    """The patch `kubectl apply` sends: changes from `current` to `modified` plus deletions from `original`.

    `original` is None when there is no last-applied configuration. None of the arguments is modified.
    With `overwrite=False`, raises MergeConflict when the patch changes a field that was changed differently
    from original to current. Errors are those of the two-way diff and of merging patches.
    """
    original_map = deep_copy(original) if original is not None else {}
    modified_map = deep_copy(modified)
    current_map = deep_copy(current)
    delta = diff_maps(current_map, modified_map, schema, _DELTA)
    deletions = diff_maps(original_map, modified_map, schema, _DELETIONS)
    patch = merge_map(deletions, delta, schema, MergeOptions.PATCHES)
    if not overwrite:
        changed = diff_maps(original_map, current_map, schema, DiffOptions())
        if maps_have_conflicts(patch, changed, schema):
            raise MergeConflict(_to_yaml(patch), _to_yaml(changed))
    return patch


def _to_yaml(value: JSONDict) -> str:
    return str(yaml.safe_dump(value, default_flow_style=False, sort_keys=True))


def maps_have_conflicts(left: JSONDict, right: JSONDict, schema: PatchSchema | None) -> bool:
    """MergingMapsHaveConflicts: do the two patches set some field to different values?"""
    return _fields_conflict(left, right, schema, PatchMeta())


def _fields_conflict(left: Any, right: Any, schema: PatchSchema | None, meta: PatchMeta) -> bool:
    if isinstance(left, dict):
        if not isinstance(right, dict):
            return True
        if (DIRECTIVE in left or DIRECTIVE in right) and (
            (DIRECTIVE in left) != (DIRECTIVE in right) or not deep_equal(left[DIRECTIVE], right[DIRECTIVE])
        ):
            return True
        return meta.strategy != REPLACE and _maps_conflict(left, right, schema)
    if isinstance(left, list):
        if not isinstance(right, list):
            return True
        return _lists_conflict(left, right, schema, meta)
    return not deep_equal(left, right)


def _maps_conflict(left: dict[str, Any], right: dict[str, Any], schema: PatchSchema | None) -> bool:
    for key, left_value in left.items():
        if key in (DIRECTIVE, RETAIN_KEYS) or key not in right:
            continue
        node: PatchSchema | None = None
        meta = PatchMeta()
        if isinstance(left_value, list):
            node, meta = lookup_list(schema, key)
        elif isinstance(left_value, dict):
            node, meta = lookup_map(schema, key)
        if _fields_conflict(left_value, right[key], node, meta):
            return True
    return False


def _lists_conflict(left: list[Any], right: list[Any], schema: PatchSchema | None, meta: PatchMeta) -> bool:
    kind = element_type(left, right)
    if meta.strategy == MERGE:
        if kind is not dict:
            return False
        left_by_key = _by_merge_key(left, meta.merge_key)
        right_by_key = _by_merge_key(right, meta.merge_key)
        return any(
            _fields_conflict(value, right_by_key[key], schema, PatchMeta())
            for key, value in left_by_key.items() if key in right_by_key
        )
    if len(left) != len(right):
        return True
    if kind is not dict:
        left, right = _sorted_unique(left), _sorted_unique(right)
    return any(_fields_conflict(a, b, schema, PatchMeta()) for a, b in zip(left, right, strict=False))


def _sorted_unique(values: list[Any]) -> list[Any]:
    unique = dedupe_scalars(list(values))
    sort_scalars(unique)
    return unique


def _by_merge_key(items: list[Any], merge_key: str) -> dict[str, Any]:
    by_key: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            raise PatchError(f"invalid element type in merging list:{format_v(items)}")
        if merge_key not in item:
            raise PatchError(f"cannot find merge key `{merge_key}` in merging list element:{format_v(item)}")
        by_key[format_s(item[merge_key])] = item
    return by_key


def last_applied_configuration(manifest: JSONDict) -> str:
    """The annotation value kubectl stores: the manifest without the annotation, as Go's JSON encoder writes it.

    kubectl replaces absent annotations by an empty map before encoding, so the value always carries
    `"annotations":{}` at least; keys are sorted, `<`, `>` and `&` escaped, and the text ends with a newline.
    """
    document = deep_copy(manifest)
    metadata = document.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    annotations.pop(LAST_APPLIED_ANNOTATION, None)
    metadata["annotations"] = annotations
    return go_json(document) + "\n"


def go_json(value: Any) -> str:
    """encoding/json's compact output: sorted keys, HTML-sensitive characters and U+2028/9 escaped."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def with_last_applied(manifest: JSONDict) -> JSONDict:
    """The manifest as kubectl sends it: annotated with its own last-applied configuration."""
    document: JSONDict = deep_copy(manifest)
    annotations = document.setdefault("metadata", {}).get("annotations") or {}
    annotations[LAST_APPLIED_ANNOTATION] = last_applied_configuration(manifest)
    document["metadata"]["annotations"] = annotations
    return document


def client_side_apply_patch(manifest: JSONDict, live: JSONDict, schema: PatchSchema | None) -> JSONDict:
    """The strategic merge patch `kubectl apply` computes for `manifest` against the `live` object."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    last_applied = annotations.get(LAST_APPLIED_ANNOTATION)
    original: JSONDict | None = orjson.loads(last_applied) if last_applied else None
    return three_way_merge_patch(original, with_last_applied(manifest), live, schema)
