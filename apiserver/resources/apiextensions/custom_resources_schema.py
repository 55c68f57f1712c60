"""The type schema of one custom resource version, as the generic code navigates type schemas.

Built from the version's `openAPIV3Schema` with `registry.schema.TypeSchemas`, like a built-in definition: the
root's (and every embedded resource's) `metadata` is ObjectMeta and `apiVersion`/`kind` are strings, as
upstream's CR handler completes the schema for managed fields (it splices ObjectMeta in from the static OpenAPI
spec). List types, map keys and map types come from the CRD's `x-kubernetes-*` markers, so server-side apply
and managedFields merge custom resources by their own schema. A version without a schema (or with
`x-kubernetes-preserve-unknown-fields` at the root) keeps every field.

The node is what `ResourceSpec.schema` holds. Pruning and defaulting of request bodies use the structural schema
engine (`registry.structural`) when it is installed, and this node's markers (`prune_unknown_fields`,
`apply_schema_defaults`) otherwise.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, Final

from apiserver.registry.schema import DEFINITIONS_REF, Schema, TypeSchemas

META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META: Final = META + "ObjectMeta"
_META_DEFINITIONS: Final = ("ObjectMeta", "ManagedFieldsEntry", "OwnerReference", "Time", "FieldsV1")
ROOT: Final = "custom.resource"


@functools.cache
def _meta_definitions() -> dict[str, Any]:
    builtin = TypeSchemas.builtin().definitions
    return {META + name: builtin[META + name] for name in _META_DEFINITIONS if META + name in builtin}


def version_schema(crd: Mapping[str, Any], version: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The openAPIV3Schema of a CRD version (per version, or the CRD-wide one of older objects), or None."""
    validation = version.get("schema") or (crd.get("spec") or {}).get("validation") or {}
    schema = validation.get("openAPIV3Schema") if isinstance(validation, Mapping) else None
    return schema if isinstance(schema, Mapping) else None


def _completed(schema: Mapping[str, Any] | None, *, root: bool) -> dict[str, Any]:
    """The schema with ObjectMeta at `metadata` and string apiVersion/kind at the root and embedded resources."""
    if schema is None:
        completed: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    else:
        completed = {key: _complete_children(key, value) for key, value in schema.items()}
    if root or completed.get("x-kubernetes-embedded-resource"):
        properties = dict(completed.get("properties") or {})
        properties["apiVersion"] = {"type": "string", **_without_type(properties.get("apiVersion"))}
        properties["kind"] = {"type": "string", **_without_type(properties.get("kind"))}
        properties["metadata"] = {"$ref": DEFINITIONS_REF + OBJECT_META}
        completed["properties"] = properties
        completed.setdefault("type", "object")
    return completed


def _without_type(prop: Any) -> dict[str, Any]:
    if not isinstance(prop, Mapping):
        return {}
    return {key: value for key, value in prop.items() if key in ("description",)}


def _complete_children(key: str, value: Any) -> Any:
    if key == "properties" and isinstance(value, Mapping):
        return {name: _completed(prop, root=False) for name, prop in value.items() if isinstance(prop, Mapping)}
    if key in ("items", "additionalProperties") and isinstance(value, Mapping):
        return _completed(value, root=False)
    return copy.deepcopy(value)


def _for_builder(schema: Any) -> Any:
    """Keep only what the node builder reads: value-space keywords (allOf, anyOf, ...) carry no structure."""
    if isinstance(schema, list):
        return [_for_builder(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    dropped = ("allOf", "anyOf", "oneOf", "not", "x-kubernetes-validations")
    return {key: _for_builder(value) for key, value in schema.items() if key not in dropped}


def schema_node(schema: Mapping[str, Any] | None) -> Schema:
    """The navigable root node of a custom resource version's objects."""
    definitions = dict(_meta_definitions())
    definitions[ROOT] = _for_builder(_completed(schema, root=True))
    node = TypeSchemas(definitions).definition(ROOT)
    assert node is not None
    return node


def completed_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The version's schema as OpenAPI publishes it: ObjectMeta referenced at `metadata`, apiVersion/kind strings."""
    return _completed(schema, root=True)
