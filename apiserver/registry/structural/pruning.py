"""Pruning of custom resources: fields the schema does not declare are dropped, as apiextensions' pruning does.

Kept: everything under `x-kubernetes-preserve-unknown-fields` (declared children are still pruned), the root's and
every embedded resource's `apiVersion` and `kind`; their `metadata` is pruned to ObjectMeta's fields. The removed
paths come back in upstream's form (`spec.foo`, `spec.list[0].bar`, `metadata.bogus`): the root's metadata first,
then the rest sorted, for `unknown field "<path>"` warnings and strict errors.

`prune_nulls` is PruneNonNullableNullsWithoutDefaults: a null in a field that is neither nullable nor defaulted
is removed, as the decoder does before defaulting.
"""
from __future__ import annotations

from typing import Any

from apiserver.registry.schema import NO_DEFAULT, Schema
from apiserver.registry.schema_normalize import prune_unknown_fields
from apiserver.registry.structural.nodes import StructuralNode


def prune(obj: Any, root: StructuralNode) -> list[str]:
    """Remove undeclared fields from `obj` in place; returns their paths."""
    removed = prune_unknown_fields(obj, root)
    metadata = sorted(path for path in removed if path.startswith("metadata."))
    return metadata + sorted(path for path in removed if not path.startswith("metadata."))


def prune_nulls(value: Any, node: Schema | None) -> None:
    """Drop nulls the schema neither allows (`nullable`) nor replaces (a non-null `default`), in place."""
    if not isinstance(node, StructuralNode):
        return
    if isinstance(value, dict):
        for key in list(value):
            child = node.properties.get(key) if key in node.properties else node.additional_properties
            if child is None or not isinstance(child, StructuralNode):
                continue
            if value[key] is None and not child.nullable and child.default in (NO_DEFAULT, None):
                del value[key]
            else:
                prune_nulls(value[key], child)
    elif isinstance(value, list):
        items = node.items()
        for item in value:
            prune_nulls(item, items)
