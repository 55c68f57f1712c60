"""OpenAPI 3.0 documents, one per served group-version (`/openapi/v3/apis/apps/v1`), as kube-apiserver builds them.

Paths come from `openapi_operations`; `components.schemas` holds every definition the operations reach, in
upstream's v3 form: `$ref`s point to `#/components/schemas/<name>`, and a reference with siblings (a property's
description, its `x-kubernetes-patch-strategy`) is wrapped as `{"allOf": [{"$ref": ...}], ...siblings}`.
kubectl reads these documents for `explain`, for strict-validation support (the PATCH operation's
`fieldValidation` parameter) and for the client-side three-way strategic merge patch of `kubectl apply`
(merge keys and patch strategies from the component schemas).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.endpoints.openapi_operations import (
    Operation,
    Parameter,
    PathItem,
    group_version_paths,
    referenced_definitions,
    transitive_definitions,
)
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.schema import DEFINITIONS_REF, TypeSchemas

COMPONENTS_REF: Final = "#/components/schemas/"
TITLE: Final = "Kubernetes"
SECURITY_SCHEME: Final = {
    "BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization",
                    "type": "apiKey"},
}
_UNAUTHORIZED: Final = {"description": "Unauthorized"}


def group_version_document(
    catalog: ResourceCatalog, group: str, version: str, schemas: TypeSchemas, *, server_version: str
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one group-version."""
    items = group_version_paths(catalog, group, version, schemas)
    names = transitive_definitions(schemas.definitions, referenced_definitions(items))
    return {
        "openapi": "3.0.0",
        "info": {"title": TITLE, "version": server_version},
        "paths": {item.path: _path_item(item) for item in items},
        "components": {
            "schemas": {name: v3_schema(schemas.definitions[name]) for name in names},
            "securitySchemes": SECURITY_SCHEME,
        },
    }


def v3_schema(value: Any) -> Any:
    """A swagger 2.0 schema in OpenAPI 3.0 form: references re-pointed, referring schemas with siblings wrapped."""
    if not isinstance(value, Mapping):
        return value
    reference = value.get("$ref")
    if isinstance(reference, str):
        target = {"$ref": COMPONENTS_REF + reference.removeprefix(DEFINITIONS_REF)}
        siblings = {key: item for key, item in value.items() if key != "$ref"}
        return {"allOf": [target], **siblings} if siblings else target
    converted: dict[str, Any] = {}
    for key, item in value.items():
        if key == "properties" and isinstance(item, Mapping):
            converted[key] = {name: v3_schema(prop) for name, prop in item.items()}
        elif key in ("items", "additionalProperties") and isinstance(item, Mapping):
            converted[key] = v3_schema(item)
        else:
            converted[key] = item
    return converted


def _schema_ref(name: str | None) -> dict[str, Any]:
    """A body or response schema: a definition, any object (ANY_OBJECT), or a string (None)."""
    if name is None:
        return {"type": "string"}
    return {"$ref": COMPONENTS_REF + name} if name else {"type": "object"}


def _path_item(item: PathItem) -> dict[str, Any]:
    rendered: dict[str, Any] = {operation.method: _operation(operation) for operation in item.operations}
    if item.parameters:
        rendered["parameters"] = _parameters(item.parameters)
    return rendered


def _parameters(parameters: Sequence[Parameter]) -> list[dict[str, Any]]:
    rendered = []
    for parameter in parameters:
        entry: dict[str, Any] = {"description": parameter.description, "in": parameter.location,
                                 "name": parameter.name}
        if parameter.required:
            entry["required"] = True
        entry["schema"] = {"type": parameter.type, "uniqueItems": True}
        rendered.append(entry)
    return rendered


def _operation(operation: Operation) -> dict[str, Any]:
    rendered: dict[str, Any] = {"description": operation.description, "operationId": operation.operation_id}
    if operation.parameters:
        rendered["parameters"] = _parameters(operation.parameters)
    if operation.consumes:
        schema = _schema_ref(operation.request)
        rendered["requestBody"] = {
            "content": {media_type: {"schema": schema} for media_type in operation.consumes}, "required": True,
        }
    response_schema = _schema_ref(operation.response)
    responses: dict[str, Any] = {}
    for code, description in operation.codes:
        responses[code] = {
            "content": {media_type: {"schema": response_schema} for media_type in operation.produces},
            "description": description,
        }
    responses["401"] = _UNAUTHORIZED
    rendered["responses"] = responses
    rendered["tags"] = [operation.tag]
    if operation.action:
        rendered["x-kubernetes-action"] = operation.action
        group, version, kind = operation.group_version_kind
        rendered["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind, "version": version}
    return rendered
