"""The patch metadata a strategic merge patch reads from a type schema, and the directive keys it understands.

The schema is duck-typed (`PatchSchema`) so that the patch algorithms depend on no schema implementation: the
registry's type schemas, CRD schemas and the tests' small fakes all provide the same few members. A missing
schema (`None`) means the type is unknown there: no field has patch metadata, so maps merge recursively and lists
are replaced, the JSON-merge-like behaviour upstream's OpenAPI lookup has where it has no schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apiserver.meta.patch_errors import PatchError, bad_primitive_list, bad_set_element_order
from apiserver.meta.patch_values import format_v

DIRECTIVE = "$patch"
DELETE = "delete"
REPLACE = "replace"
MERGE = "merge"
RETAIN_KEYS_STRATEGY = "retainKeys"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


class PatchSchema(Protocol):
    """One node of a type schema, as the patch algorithms need it.

    `field(name)` returns the schema of the property `name` of an object, or the value schema of a map
    (`additionalProperties`) whatever the name; None when the node has no such property or is not an object.
    `items()` returns the element schema of an array, None otherwise. The node returned by `field` carries the
    patch metadata of that property, as `x-kubernetes-patch-*` extensions sit on the property in OpenAPI:
    `patch_strategy` is "merge", "replace", "retainKeys" or "merge,retainKeys" (None when absent) and
    `patch_merge_key` names the key of a merged list of objects. `list_type`, `list_map_keys` and `map_type`
    are the `x-kubernetes-list-*`/`map-type` extensions; strategic merge patch ignores them (server-side apply
    reads them), as upstream does.
    """

    @property
    def patch_merge_key(self) -> str | None: ...

    @property
    def patch_strategy(self) -> str | None: ...

    @property
    def list_type(self) -> str | None: ...

    @property
    def list_map_keys(self) -> tuple[str, ...]: ...

    @property
    def map_type(self) -> str | None: ...

    def field(self, name: str) -> PatchSchema | None: ...

    def items(self) -> PatchSchema | None: ...


@dataclass(frozen=True, slots=True)
class PatchMeta:
    """The patch metadata of one field: its strategy without `retainKeys`, whether it retains keys, its key."""

    strategy: str = ""
    retain_keys: bool = False
    merge_key: str = ""


NO_META = PatchMeta()


def lookup_map(schema: PatchSchema | None, key: str) -> tuple[PatchSchema | None, PatchMeta]:
    """LookupPatchMetadataForStruct: the schema of field `key` and its patch metadata."""
    node = schema.field(key) if schema is not None else None
    return node, meta_of(node)


def lookup_list(schema: PatchSchema | None, key: str) -> tuple[PatchSchema | None, PatchMeta]:
    """LookupPatchMetadataForSlice: the element schema of list field `key` and the list's patch metadata."""
    node = schema.field(key) if schema is not None else None
    return (node.items() if node is not None else None), meta_of(node)


def meta_of(node: PatchSchema | None) -> PatchMeta:
    if node is None:
        return NO_META
    strategies = node.patch_strategy.split(",") if node.patch_strategy else []
    retain_keys, strategy = _split_retain_keys(strategies)
    return PatchMeta(strategy, retain_keys, node.patch_merge_key or "")


def _split_retain_keys(strategies: list[str]) -> tuple[bool, str]:
    """extractRetainKeysPatchStrategy: `retainKeys` may accompany at most one other strategy."""
    if not strategies:
        return False, ""
    if len(strategies) == 1:
        return (True, "") if strategies[0] == RETAIN_KEYS_STRATEGY else (False, strategies[0])
    if len(strategies) == 2 and RETAIN_KEYS_STRATEGY in strategies:
        other = strategies[1] if strategies[0] == RETAIN_KEYS_STRATEGY else strategies[0]
        return True, other
    raise PatchError(f"unexpected patch strategy: {format_v(strategies)}")


def extract_key(key: str, prefix: str) -> str:
    """The list field a parallel-list directive key names: `$setElementOrder/containers` → `containers`."""
    head, separator, tail = key.partition("/")
    if not separator or head != prefix:
        if prefix == DELETE_FROM_PRIMITIVE_LIST:
            raise bad_primitive_list()
        raise bad_set_element_order()
    return tail
