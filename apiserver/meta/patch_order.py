"""The order of merged lists in a strategic merge patch: partitioning, `$setElementOrder` and live-order merging.

Upstream's rule (the "preserve order in strategic merge patch" design) is `$setElementOrder` > order in the patch
list > order in the live list: items the patch names are sorted into the patch's order, items only the server has
keep the live order, and the two runs are interleaved by their live positions. The comparison upstream sorts with
is not a strict weak order when an item is missing from the order list, so Go's stable sort itself is reproduced
(insertion sort in blocks of 20, then SymMerge) to give the same answer on such inputs.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiserver.meta.patch_errors import MAP_TYPE, PatchError, bad_arg_type, no_list_of_lists, no_merge_key
from apiserver.meta.patch_meta import DELETE, DIRECTIVE
from apiserver.meta.patch_values import format_slices, go_equal, hash_key

Less = Callable[[Any, Any], bool]


def element_type(*lists: list[Any]) -> type:
    """sliceElementType: the one Python type (Go type) of every element of the given lists."""
    found: type | None = None
    for items in lists:
        for item in items:
            if found is None:
                if item is None:
                    # Upstream dereferences the nil type of a leading null element and panics (a 500).
                    raise TypeError("strategic merge patch: a list starts with a null element")
                found = type(item)
                if found is list:
                    raise no_list_of_lists()
            elif type(item) is not found:
                raise PatchError(f"list element types are not identical: {format_slices(lists)}")
    if found is None:
        raise PatchError("no elements in any of the given slices")
    return found


def lookup_value(item: Any, merge_key: str, is_map: bool) -> Any:
    """What an item is compared by: its merge key's value for maps (null when absent), itself otherwise."""
    if not is_map:
        return item
    return item.get(merge_key) if isinstance(item, dict) else None


def index_of(items: list[Any], value: Any, merge_key: str, is_map: bool) -> int:
    probe = lookup_value(value, merge_key, is_map)
    for position, item in enumerate(items):
        if go_equal(probe, lookup_value(item, merge_key, is_map)):
            return position
    return -1


class _Positions:
    """`index_of` over one fixed list, answered from a table (sorting asks it O(n log n) times).

    Values Go could not hash (maps, lists) fall back to the linear search.
    """

    def __init__(self, items: list[Any], merge_key: str, is_map: bool) -> None:
        self._items, self._merge_key, self._is_map = items, merge_key, is_map
        self._table: dict[Any, int] | None = {}
        try:
            for position, item in enumerate(items):
                self._table.setdefault(hash_key(lookup_value(item, merge_key, is_map)), position)
        except TypeError:
            self._table = None

    def of(self, value: Any) -> int:
        probe = lookup_value(value, self._merge_key, self._is_map)
        if self._table is not None and not isinstance(probe, dict | list):
            return self._table.get(hash_key(probe), -1)
        return index_of(self._items, value, self._merge_key, self._is_map)


def find_map(items: list[Any], merge_key: str, value: Any) -> tuple[dict[str, Any] | None, int]:
    """findMapInSliceBasedOnKeyValue: the first map whose merge key equals `value`, and its position (-1)."""
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchError(f"value for key {position} is not a map")
        if merge_key in item and go_equal(item[merge_key], value):
            return item, position
    return None, -1


def require_merge_key(merge_key: str, *lists: list[Any]) -> None:
    """validateMergeKeyInLists: every element is a map that has the merge key."""
    for items in lists:
        for item in items:
            if not isinstance(item, dict):
                raise bad_arg_type(MAP_TYPE, item)
            if merge_key not in item:
                raise no_merge_key(item, merge_key)


def split_deletions(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """extractToDeleteItems: the items to keep, and the `$patch: delete` items."""
    keep: list[Any] = []
    delete: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise bad_arg_type(MAP_TYPE, item)
        is_delete = DIRECTIVE in item and go_equal(item[DIRECTIVE], DELETE)
        (delete if is_delete else keep).append(item)
    return keep, delete


def normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    """normalizeSliceOrder: `to_sort` in the order of `order`; deletion directives go last."""
    deletions: list[Any] = []
    if is_map:
        require_merge_key(merge_key, to_sort, order)
        to_sort, deletions = split_deletions(to_sort)

    positions = _Positions(order, merge_key, is_map)

    def less(left: Any, right: Any) -> bool:
        left_index, right_index = positions.of(left), positions.of(right)
        if left_index >= 0 and right_index >= 0:
            return left_index < right_index
        return True

    return go_stable_sort(list(to_sort), less) + deletions


def normalize_element_order(
    patch: list[Any], server_only: list[Any], patch_order: list[Any], server_order: list[Any], merge_key: str,
    is_map: bool,
) -> list[Any]:
    """normalizeElementOrder: patch items in patch order, server-only items in live order, interleaved."""
    patch = normalize_slice_order(patch, patch_order, merge_key, is_map)
    server_only = normalize_slice_order(server_only, server_order, merge_key, is_map)
    return merge_sorted(server_only, patch, server_order, merge_key, is_map)


def merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    """mergeSortedSlice: a left item goes first only when both are in the live list and it comes earlier there."""
    positions = _Positions(server_order, merge_key, is_map)
    merged: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i < len(left) and (j >= len(right) or _live_before(left[i], right[j], positions)):
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged


def _live_before(left: Any, right: Any, positions: _Positions) -> bool:
    left_index, right_index = positions.of(left), positions.of(right)
    return left_index >= 0 and right_index >= 0 and left_index < right_index


def partition_primitives(values: list[Any], partition_by: list[Any]) -> tuple[list[Any], list[Any]]:
    """Items present in `partition_by`, and the rest (each keeping its relative order)."""
    present = {hash_key(item) for item in partition_by}
    inside = [item for item in values if hash_key(item) in present]
    outside = [item for item in values if hash_key(item) not in present]
    return inside, outside


def partition_maps(values: list[Any], partition_by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Maps whose merge key appears in `partition_by`, and the rest."""
    inside: list[Any] = []
    outside: list[Any] = []
    for item in values:
        if not isinstance(item, dict):
            raise bad_arg_type(MAP_TYPE, item)
        if merge_key not in item:
            raise no_merge_key(item, merge_key)
        _, position = find_map(partition_by, merge_key, item[merge_key])
        (inside if position >= 0 else outside).append(item)
    return inside, outside


def go_stable_sort(items: list[Any], less: Less) -> list[Any]:
    """sort.SliceStable, step for step: insertion sort in blocks of 20, then pairwise SymMerge of the runs."""
    length = len(items)
    block = 20
    start = 0
    while start + block <= length:
        _insertion_sort(items, less, start, start + block)
        start += block
    _insertion_sort(items, less, start, length)
    while block < length:
        start = 0
        while start + 2 * block <= length:
            _sym_merge(items, less, start, start + block, start + 2 * block)
            start += 2 * block
        if start + block < length:
            _sym_merge(items, less, start, start + block, length)
        block *= 2
    return items


def _insertion_sort(items: list[Any], less: Less, low: int, high: int) -> None:
    for i in range(low + 1, high):
        j = i
        while j > low and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1


def _sym_merge(items: list[Any], less: Less, low: int, middle: int, high: int) -> None:
    # Go's SymMerge (sort/zsortfunc.go); kept in its recursive shape so equal-element moves match exactly.
    if middle - low == 1:
        i, j = middle, high
        while i < j:
            h = (i + j) // 2
            i, j = (h + 1, j) if less(items[h], items[low]) else (i, h)
        for k in range(low, i - 1):
            items[k], items[k + 1] = items[k + 1], items[k]
        return
    if high - middle == 1:
        i, j = low, middle
        while i < j:
            h = (i + j) // 2
            i, j = (h + 1, j) if not less(items[middle], items[h]) else (i, h)
        for k in range(middle, i, -1):
            items[k], items[k - 1] = items[k - 1], items[k]
        return
    mid = (low + high) // 2
    n = mid + middle
    start, r = (n - high, mid) if middle > mid else (low, middle)
    p = n - 1
    while start < r:
        c = (start + r) // 2
        start, r = (c + 1, r) if not less(items[p - c], items[c]) else (start, c)
    end = n - start
    if start < middle < end:
        _rotate(items, start, middle, end)
    if low < start < mid:
        _sym_merge(items, less, low, start, mid)
    if mid < end < high:
        _sym_merge(items, less, mid, end, high)


def _rotate(items: list[Any], low: int, middle: int, high: int) -> None:
    i, j = middle - low, high - middle
    while i != j:
        if i > j:
            _swap_range(items, middle - i, middle, j)
            i -= j
        else:
            _swap_range(items, middle - i, middle + j - i, i)
            j -= i
    _swap_range(items, middle - i, middle, i)


def _swap_range(items: list[Any], a: int, b: int, count: int) -> None:
    for offset in range(count):
        items[a + offset], items[b + offset] = items[b + offset], items[a + offset]
