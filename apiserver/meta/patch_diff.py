"""Computing a strategic merge patch from two objects (strategicpatch's diffMaps), as `kubectl edit` and the two
halves of `kubectl apply`'s three-way patch do.

The patch holds what was added or changed, `null` for removed fields, `$patch: delete` elements for removed
members of merged object lists, `$deleteFromPrimitiveList/<list>` for removed scalars of merged lists,
`$setElementOrder/<list>` whenever a merged list's contents or order changed, and `$retainKeys` for fields with the
`retainKeys` strategy. `DiffOptions` selects which of these a caller wants.

Upstream sorts a merged scalar list of the original in place before comparing it with the modified one; the
sorted list then differs from an unsorted modified list, so such a list always yields a `$setElementOrder`. This
is reproduced (kubectl sends exactly that patch), and callers must not rely on their inputs being untouched:
`create_two_way_merge_patch` works on copies.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from apiserver.meta.objects import JSONDict
from apiserver.meta.patch_errors import MAP_TYPE, PatchError, bad_arg_type, no_list_of_lists, no_merge_key
from apiserver.meta.patch_meta import (
    DELETE,
    DELETE_FROM_PRIMITIVE_LIST,
    DIRECTIVE,
    MERGE,
    REPLACE,
    RETAIN_KEYS,
    SET_ELEMENT_ORDER,
    PatchSchema,
    lookup_list,
    lookup_map,
)
from apiserver.meta.patch_order import element_type, normalize_slice_order
from apiserver.meta.patch_values import (
    dedupe_scalars,
    deep_copy,
    deep_equal,
    format_v,
    go_equal,
    sort_maps_by_field,
    sort_scalars,
)


@dataclass(frozen=True, slots=True)
class DiffOptions:
    """DiffOptions: which parts of the difference to put in the patch."""

    set_element_order: bool = False
    ignore_changes_and_additions: bool = False
    ignore_deletions: bool = False
    build_retain_keys_directive: bool = False


def create_two_way_merge_patch(original: JSONDict, modified: JSONDict, schema: PatchSchema | None) -> JSONDict:
    """The strategic merge patch that turns `original` into `modified` (CreateTwoWayMergePatch).

    Neither argument is modified. Applying the result to `original` with `strategic_merge_patch` yields
    `modified` for any pair of objects without duplicate merge keys or null values.
    """
    return diff_maps(deep_copy(original), deep_copy(modified), schema, DiffOptions(set_element_order=True))


def diff_maps(
    original: dict[str, Any], modified: dict[str, Any], schema: PatchSchema | None, options: DiffOptions
) -> JSONDict:
    """diffMaps. May sort merged scalar lists of `original` in place; the patch may share values with `modified`."""
    patch: JSONDict = {}
    retained = [key for key, value in modified.items() if options.build_retain_keys_directive and value is not None]
    for key, value in modified.items():
        if key not in original:
            if not options.ignore_changes_and_additions:
                patch[key] = value
            continue
        _diff_field(key, original[key], value, patch, schema, options)
    if not options.ignore_deletions:
        for key in original:
            if key not in modified:
                patch[key] = None
    if retained and (patch or _has_additional_field(original, modified)):
        sort_scalars(retained)
        patch[RETAIN_KEYS] = retained
    return patch


def _diff_field(
    key: str, original: Any, modified: Any, patch: JSONDict, schema: PatchSchema | None, options: DiffOptions
) -> None:
    if key == DIRECTIVE:
        if not isinstance(original, str) or not isinstance(modified, str):
            raise PatchError(f"invalid value for special key: {DIRECTIVE}")
        if modified != original:
            patch[DIRECTIVE] = modified
        return
    if type(original) is not type(modified):
        if not options.ignore_changes_and_additions:
            patch[key] = modified
        return
    if isinstance(original, dict):
        _diff_map_field(key, original, modified, patch, schema, options)
    elif isinstance(original, list):
        _diff_list_field(key, original, modified, patch, schema, options)
    elif not options.ignore_changes_and_additions and not deep_equal(original, modified):
        patch[key] = modified


def _diff_map_field(
    key: str, original: dict[str, Any], modified: dict[str, Any], patch: JSONDict, schema: PatchSchema | None,
    options: DiffOptions,
) -> None:
    node, meta = lookup_map(schema, key)
    options = replace(options, build_retain_keys_directive=meta.retain_keys)
    if meta.strategy == REPLACE:
        if not options.ignore_changes_and_additions:
            patch[key] = modified
        return
    if value := diff_maps(original, modified, node, options):
        patch[key] = value


def _diff_list_field(
    key: str, original: list[Any], modified: list[Any], patch: JSONDict, schema: PatchSchema | None,
    options: DiffOptions,
) -> None:
    node, meta = lookup_list(schema, key)
    if meta.strategy != MERGE:
        if not options.ignore_changes_and_additions and not deep_equal(original, modified):
            patch[key] = modified
        return
    options = replace(options, build_retain_keys_directive=meta.retain_keys)
    additions, deletions, order = diff_lists(original, modified, node, meta.merge_key, options)
    if additions:
        patch[key] = additions
    if deletions:
        patch[f"{DELETE_FROM_PRIMITIVE_LIST}/{key}"] = deletions
    if order:
        patch[f"{SET_ELEMENT_ORDER}/{key}"] = order


def diff_lists(
    original: list[Any], modified: list[Any], schema: PatchSchema | None, merge_key: str, options: DiffOptions
) -> tuple[list[Any], list[Any], list[Any]]:
    """diffLists: the patch list, the scalar deletion list and the `$setElementOrder` list of a merged list."""
    if not original:
        if not modified or options.ignore_changes_and_additions:
            return [], [], []
        return modified, [], []
    kind = element_type(original, modified)
    if kind is dict:
        return _diff_lists_of_maps(original, modified, schema, merge_key, options)
    if kind is list:
        raise no_list_of_lists()
    additions, deletions = _diff_lists_of_scalars(original, modified, options)
    additions = normalize_slice_order(additions, modified, merge_key, is_map=False)
    changed = not options.ignore_changes_and_additions and not deep_equal(original, modified)
    wants_order = options.set_element_order and ((not options.ignore_deletions and deletions) or changed)
    return additions, deletions, (modified if wants_order else [])


def _diff_lists_of_maps(
    original: list[Any], modified: list[Any], schema: PatchSchema | None, merge_key: str, options: DiffOptions
) -> tuple[list[Any], list[Any], list[Any]]:
    changes, deletions = _walk_maps(original, modified, schema, merge_key, options)
    changes = normalize_slice_order(changes, modified, merge_key, is_map=True)
    order_same = _is_order_same(original, modified, merge_key)
    changes = changes + deletions
    wants_order = options.set_element_order and (
        (not options.ignore_changes_and_additions and (changes or not order_same))
        or (not options.ignore_deletions and changes)
    )
    order = [{merge_key: item.get(merge_key)} for item in modified] if wants_order else []
    return changes, [], order


def _walk_maps(
    original: list[Any], modified: list[Any], schema: PatchSchema | None, merge_key: str, options: DiffOptions
) -> tuple[list[Any], list[Any]]:
    """diffListsOfMaps: walk both lists sorted by the `%v` text of their merge keys, as upstream does."""
    originals = sort_maps_by_field(original, merge_key)
    modifieds = sort_maps_by_field(modified, merge_key)
    changes: list[Any] = []
    deletions: list[Any] = []
    i = j = 0
    while i < len(originals) or j < len(modifieds):
        old, old_key = _keyed(originals, i, merge_key) if i < len(originals) else (None, None)
        new, new_key = _keyed(modifieds, j, merge_key) if j < len(modifieds) else (None, None)
        old_text = format_v(old_key) if old is not None else ""
        new_text = format_v(new_key) if new is not None else ""
        if old is not None and new is not None and old_text == new_text:
            if value := diff_maps(old, new, schema, options):
                value[merge_key] = new_key
                changes.append(value)
            i, j = i + 1, j + 1
        elif old is None or (new is not None and old_text > new_text):
            if not options.ignore_changes_and_additions:
                changes.append(new)
            j += 1
        else:
            if not options.ignore_deletions:
                deletions.append({merge_key: old_key, DIRECTIVE: DELETE})
            i += 1
    return changes, deletions


def _keyed(items: list[Any], index: int, merge_key: str) -> tuple[dict[str, Any], Any]:
    item = items[index]
    if not isinstance(item, dict):
        raise bad_arg_type(MAP_TYPE, item)
    if merge_key not in item:
        raise no_merge_key(item, merge_key)
    return item, item[merge_key]


def _is_order_same(original: list[Any], modified: list[Any], merge_key: str) -> bool:
    if len(original) != len(modified):
        return False
    for left, right in zip(original, modified, strict=True):
        for item in (left, right):
            if merge_key not in item:
                raise no_merge_key(item, merge_key)
        if not go_equal(left[merge_key], right[merge_key]):
            return False
    return True


def _diff_lists_of_scalars(
    original: list[Any], modified: list[Any], options: DiffOptions
) -> tuple[list[Any], list[Any]]:
    """diffListsOfScalars: additions and deletions found by walking both lists in `%v` order.

    `original` is sorted in place, as upstream's is.
    """
    sort_scalars(original)
    modifieds = list(modified)
    sort_scalars(modifieds)
    additions: list[Any] = []
    deletions: list[Any] = []
    i = j = 0
    while i < len(original) or j < len(modifieds):
        old_text = format_v(original[i]) if i < len(original) else None
        new_text = format_v(modifieds[j]) if j < len(modifieds) else None
        if old_text is not None and new_text is not None and old_text == new_text:
            i, j = i + 1, j + 1
        elif old_text is None or (new_text is not None and old_text > new_text):
            if not options.ignore_changes_and_additions:
                additions.append(modifieds[j])
            j += 1
        else:
            if not options.ignore_deletions:
                deletions.append(original[i])
            i += 1
    return additions, dedupe_scalars(deletions)


def _has_additional_field(original: dict[str, Any], modified: dict[str, Any]) -> bool:
    """hasAdditionalNewField: `original` has a non-null field that `modified` lacks."""
    return any(value is not None and key not in modified for key, value in original.items())
