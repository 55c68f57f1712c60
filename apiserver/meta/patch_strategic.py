"""Applying a strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch's mergeMap and mergeSlice).

A strategic merge patch is a JSON merge patch whose lists follow the patch metadata of the type: a list with
strategy `merge` is merged element by element (by `patchMergeKey` for objects, as a set for scalars), any other
list is replaced, and `null` deletes. Directives refine it: `$patch: replace|delete` on a map or a list element,
`$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys`. Everything here follows upstream
step by step, including its quirks, because kubectl and controllers rely on the exact result:

- `$patch: delete` on a map that exists leaves an empty map; on a map that does not exist it adds nothing.
- `$patch: merge` is refused in both places it could appear (a map: "unknown patch type"; a list element:
  "merging lists cannot yet be specified in the patch").
- A value taken from the patch where the original has none is stripped of directives and (server side) nulls;
  a list or map replaced by strategy is taken verbatim.

The same merge, with nulls and parallel lists kept, combines the two halves of a three-way patch
(`MergeOptions.PATCHES`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from apiserver.meta.objects import JSONDict
from apiserver.meta.patch_errors import (
    LIST_TYPE,
    PatchError,
    bad_arg_type,
    bad_patch_type,
    bad_retain_keys,
    bad_set_element_order,
    no_merge_key,
)
from apiserver.meta.patch_meta import (
    DELETE,
    DELETE_FROM_PRIMITIVE_LIST,
    DIRECTIVE,
    MERGE,
    REPLACE,
    RETAIN_KEYS,
    SET_ELEMENT_ORDER,
    PatchMeta,
    PatchSchema,
    extract_key,
    lookup_list,
    lookup_map,
)
from apiserver.meta.patch_order import (
    element_type,
    find_map,
    normalize_element_order,
    partition_maps,
    partition_primitives,
    split_deletions,
)
from apiserver.meta.patch_values import dedupe_scalars, deep_copy, deep_equal, format_v, go_equal, hash_key


@dataclass(frozen=True, slots=True)
class MergeOptions:
    """`merge_parallel_list`: apply `$deleteFromPrimitiveList` (server) instead of carrying it (patch merging).
    `ignore_unmatched_nulls`: drop nulls the original has nothing for (server) instead of keeping them."""

    merge_parallel_list: bool
    ignore_unmatched_nulls: bool

    SERVER: ClassVar[MergeOptions]
    PATCHES: ClassVar[MergeOptions]


MergeOptions.SERVER = MergeOptions(merge_parallel_list=True, ignore_unmatched_nulls=True)
MergeOptions.PATCHES = MergeOptions(merge_parallel_list=False, ignore_unmatched_nulls=False)


def strategic_merge_patch(original: JSONDict, patch: JSONDict, schema: PatchSchema | None) -> JSONDict:
    """The object `original` with `patch` applied, as kube-apiserver applies a strategic merge patch.

    Neither argument is modified. Raises BadRequest for malformed directives, the generic 422 Invalid for lists
    of lists, and PatchError (500, no reason) for what upstream reports as plain errors, each with upstream's text.
    """
    return merge_map(deep_copy(original), deep_copy(patch), schema, MergeOptions.SERVER)


def merge_map(original: Any, patch: dict[str, Any], schema: PatchSchema | None, options: MergeOptions) -> JSONDict:
    """mergeMap: merge `patch` into `original` in place (both are consumed) and return the result."""
    if DIRECTIVE in patch:
        return _map_directive(patch[DIRECTIVE], patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch, options)
    _merge_ordered_lists(original, patch, schema, options)
    for key, value in list(patch.items()):
        _merge_field(original, key, value, schema, options)
    return original  # type: ignore[no-any-return]


def _map_directive(directive: Any, patch: dict[str, Any]) -> JSONDict:
    if go_equal(directive, REPLACE):
        del patch[DIRECTIVE]
        return patch
    if go_equal(directive, DELETE):
        return {}
    raise bad_patch_type(directive, patch)


def _merge_field(
    original: JSONDict, key: str, value: Any, schema: PatchSchema | None, options: MergeOptions
) -> None:
    is_delete_list = False
    if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
        if not options.merge_parallel_list:
            original[key] = value
            return
        key = extract_key(key, DELETE_FROM_PRIMITIVE_LIST) or key
        is_delete_list = True
    if value is None:
        original.pop(key, None)
        if options.ignore_unmatched_nulls:
            return
    if key not in original or type(original[key]) is not type(value):
        if not is_delete_list:
            _take_patch_value(original, key, value, options)
        return
    if isinstance(value, dict):
        node, meta = lookup_map(schema, key)
        original[key] = value if meta.strategy == REPLACE else merge_map(original[key], value, node, options)
    elif isinstance(value, list):
        node, meta = lookup_list(schema, key)
        original[key] = merge_list_field(original[key], value, node, meta, options, is_delete_list=is_delete_list)
    else:
        original[key] = value


def _take_patch_value(original: JSONDict, key: str, value: Any, options: MergeOptions) -> None:
    if options.ignore_unmatched_nulls:
        discard_nulls(value)
    kept, keep = remove_directives(value)
    if keep:
        original[key] = kept
    else:
        original.pop(key, None)


def discard_nulls(value: Any) -> None:
    """discardNullValuesFromPatch: drop null members of maps at any depth (null list items stay)."""
    if isinstance(value, dict):
        for key in [key for key, item in value.items() if item is None]:
            del value[key]
        for item in value.values():
            discard_nulls(item)
    elif isinstance(value, list):
        for item in value:
            discard_nulls(item)


def remove_directives(value: Any) -> tuple[Any, bool]:
    """removeDirectives: a map holding `$patch` disappears (from its parent map or list); others are kept."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for key in list(value):
            kept, keep = remove_directives(value[key])
            if keep:
                value[key] = kept
            else:
                del value[key]
        return value, True
    if isinstance(value, list):
        cleaned = [remove_directives(item) for item in value]
        return [kept for kept, keep in cleaned if keep], True
    return value, True


def merge_list_field(
    original: list[Any], patch: list[Any], schema: PatchSchema | None, meta: PatchMeta, options: MergeOptions,
    *, is_delete_list: bool,
) -> list[Any]:
    """mergeSliceHandler: lists with strategy `merge` are merged, all others replaced by the patch's list."""
    if meta.strategy != MERGE:
        return patch
    return _merge_list(original, patch, schema, meta.merge_key, options, is_delete_list=is_delete_list)


def _merge_list(
    original: list[Any], patch: list[Any], schema: PatchSchema | None, merge_key: str, options: MergeOptions,
    *, is_delete_list: bool,
) -> list[Any]:
    if not original and not patch:
        return original
    is_map = element_type(original, patch) is dict
    if not is_map:
        if options.merge_parallel_list and is_delete_list:
            return _delete_from_list(original, patch)
        merged = dedupe_scalars(original + patch)
    else:
        if not merge_key:
            # Upstream names the Go kind of the element type here; built-in element types are structs.
            raise PatchError("cannot merge lists without merge key for struct")
        original, patch = _apply_list_directives(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, schema, options)
    if merge_key:
        patch_items, server_only = partition_maps(merged, patch, merge_key)
    else:
        patch_items, server_only = partition_primitives(merged, patch)
    return normalize_element_order(patch_items, server_only, patch, original, merge_key, is_map)


def _delete_from_list(current: list[Any], to_delete: list[Any]) -> list[Any]:
    doomed = {hash_key(item) for item in to_delete}
    return [item for item in current if hash_key(item) not in doomed]


def _apply_list_directives(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    """mergeSliceWithSpecialElements: apply `$patch` elements; returns (original, patch without them)."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if go_equal(directive, DELETE):
            if merge_key not in item:
                raise no_merge_key(item, merge_key)
            original = _delete_matching(original, merge_key, item[merge_key])
        elif go_equal(directive, REPLACE):
            replace = True
        elif go_equal(directive, MERGE):
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise bad_patch_type(directive, item)
    return (plain, []) if replace else (original, plain)


def _delete_matching(original: list[Any], merge_key: str, value: Any) -> list[Any]:
    remaining = list(original)
    while (position := find_map(remaining, merge_key, value)[1]) >= 0:
        del remaining[position]
    return remaining


def _merge_by_key(
    original: list[Any], patch: list[Any], merge_key: str, schema: PatchSchema | None, options: MergeOptions
) -> list[Any]:
    """mergeSliceWithoutSpecialElements: merge into the element with the same key, else append as given.

    Works on a copy: the caller still orders server-only items by the original list, as upstream's does.
    """
    original = list(original)
    for item in patch:
        if merge_key not in item:
            raise no_merge_key(item, merge_key)
        found, position = find_map(original, merge_key, item[merge_key])
        if found is not None:
            original[position] = merge_map(found, item, schema, options)
        else:
            original.append(item)
    return original


def _apply_retain_keys(original: JSONDict, patch: dict[str, Any], options: MergeOptions) -> None:
    """applyRetainKeysDirective: clear every original key the `$retainKeys` list does not name."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not options.merge_parallel_list:
        if RETAIN_KEYS not in original:
            original[RETAIN_KEYS] = retained
        elif not deep_equal(original[RETAIN_KEYS], retained):
            raise PatchError(
                f"{format_v(original[RETAIN_KEYS])} and {format_v(retained)} are not deep equal: "
                "this may happen when calculating the 3-way diff patch"
            )
        return
    if not isinstance(retained, list):
        raise bad_retain_keys()
    names = {hash_key(name) for name in retained}
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if hash_key(key) not in names:
            raise bad_retain_keys()
    for key in [key for key in original if hash_key(key) not in names]:
        del original[key]


def _merge_ordered_lists(
    original: JSONDict, patch: dict[str, Any], schema: PatchSchema | None, options: MergeOptions
) -> None:
    """mergePatchIntoOriginal: merge each list that has a `$setElementOrder` together with it, then order it."""
    for key in [key for key in patch if key.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not options.merge_parallel_list:
            if key not in original:
                original[key] = order
            elif not deep_equal(original[key], order):
                raise bad_set_element_order()
        if not isinstance(order, list):
            raise bad_arg_type(LIST_TYPE, order)
        list_key = extract_key(key, SET_ELEMENT_ORDER)
        _merge_ordered_list(original, patch, list_key, order, schema, options)


def _merge_ordered_list(
    original: JSONDict, patch: dict[str, Any], list_key: str, order: list[Any], schema: PatchSchema | None,
    options: MergeOptions,
) -> None:
    # One invariant forces this length: upstream validates, merges, partitions and orders in a single pass,
    # and the error raised first must be the one upstream raises first.
    has_original, has_patch = list_key in original, list_key in patch
    original_list, patch_list = original.get(list_key), patch.get(list_key)
    if has_original and not isinstance(original_list, list):
        raise bad_arg_type(LIST_TYPE, original_list)
    if has_patch and not isinstance(patch_list, list):
        raise bad_arg_type(LIST_TYPE, patch_list)
    original_values: list[Any] = original_list if has_original else []  # type: ignore[assignment]
    patch_values: list[Any] = patch_list if has_patch else []  # type: ignore[assignment]
    node, meta = lookup_list(schema, list_key)
    _check_order(patch_values, order, meta.merge_key)
    if has_original and has_patch:
        merged = merge_list_field(original_values, patch_values, node, meta, options, is_delete_list=False)
    elif has_patch:
        merged = remove_directives(patch_values)[0]
    elif has_original:
        merged = original_values
    else:
        return
    if meta.merge_key:
        patch_items, server_only = partition_maps(merged, order, meta.merge_key)
    else:
        patch_items, server_only = partition_primitives(merged, order)
    is_map = element_type(original_values, patch_values) is dict
    original[list_key] = normalize_element_order(
        patch_items, server_only, order, original_values, meta.merge_key, is_map
    )
    patch.pop(list_key, None)


def _check_order(patch_values: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch list's items appear in `$setElementOrder`, in the same order."""
    if not order or not patch_values:
        return
    if merge_key:
        non_deletions, _ = split_deletions(patch_values)
    else:
        non_deletions = patch_values
    patch_index = order_index = 0
    while patch_index < len(non_deletions) and order_index < len(order):
        if isinstance(non_deletions[patch_index], dict) and DIRECTIVE in non_deletions[patch_index]:
            patch_index += 1
            continue
        if _merge_key_equal(non_deletions[patch_index], order[order_index], merge_key):
            patch_index += 1
        order_index += 1
    if patch_index < len(non_deletions) and order_index >= len(order):
        raise PatchError(
            f"The order in patch list:\n{format_v(patch_values)}\n doesn't match {SET_ELEMENT_ORDER} list:\n"
            f"{format_v(order)}\n"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    """mergeKeyValueEqual: scalars compare as they are; maps by their merge key, which both must have."""
    if not merge_key:
        return go_equal(left, right)
    for item in (left, right):
        if not isinstance(item, dict):
            raise bad_arg_type("map[string]interface {}", item)
    for item in (left, right):
        if merge_key not in item:
            raise no_merge_key(item, merge_key)
    return go_equal(left[merge_key], right[merge_key])
