"""Structural defaulting of custom resources (apiextensions' `structuraldefaulting.Default`).

A property's `default` is set where the parent object exists and the property is absent, or null while the
property is not nullable; array items and additionalProperties values that are null (and not nullable) get
their schema's default. Defaults are deep copies, and a default that was just set is itself walked, so its
own absent properties are defaulted too. A `default: null` is never applied. Metadata is not defaulted.
"""
from __future__ import annotations

import copy
from typing import Any

from apiserver.registry.schema import NO_DEFAULT, Schema
from apiserver.registry.structural.nodes import StructuralNode


def default(value: Any, node: Schema | None) -> None:
    """Apply every default of `node` below `value`, in place."""
    if not isinstance(node, StructuralNode):
        return
    if isinstance(value, dict):
        _default_object(value, node)
    elif isinstance(value, list):
        items = node.items()
        for index, item in enumerate(value):
            if item is None and _has_default(items) and not items.nullable:  # type: ignore[union-attr]
                value[index] = copy.deepcopy(items.default)  # type: ignore[union-attr]
            default(value[index], items)


def _default_object(value: dict[str, Any], node: StructuralNode) -> None:
    for name, child in node.properties.items():
        if not _has_default(child):
            continue
        if name not in value or (value[name] is None and not child.nullable):
            value[name] = copy.deepcopy(child.default)
    values = node.additional_properties
    for key, item in value.items():
        if key in node.properties:
            default(item, node.properties[key])
        elif values is not None:
            if item is None and _has_default(values) and not values.nullable:
                value[key] = copy.deepcopy(values.default)
            default(value[key], values)


def _has_default(node: Schema | None) -> bool:
    return isinstance(node, StructuralNode) and node.default is not NO_DEFAULT and node.default is not None
