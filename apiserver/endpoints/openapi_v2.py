"""The Swagger 2.0 document of the whole API (`/openapi/v2`), in JSON.

Same operations as the v3 documents, rendered in Swagger 2.0 form (`consumes`/`produces`, a `body` parameter,
`#/definitions/` references), with `definitions` holding every definition the operations reach, byte for byte
as upstream's swagger.json has them (see `registry.schema.upstream_definitions`).

Only JSON is served. kubectl asks for v2 only as a fallback, and only in gnostic protobuf
(`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), which gets 406: kubectl works from the v3
documents, which are complete.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from apiserver.endpoints.openapi_operations import (
    Operation,
    Parameter,
    PathItem,
    group_version_paths,
    referenced_definitions,
    transitive_definitions,
)
from apiserver.endpoints.openapi_v3 import TITLE
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.schema import DEFINITIONS_REF, TypeSchemas

SECURITY_DEFINITIONS: Final = {
    "BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization",
                    "type": "apiKey"},
}


def swagger_document(catalog: ResourceCatalog, schemas: TypeSchemas, *, server_version: str) -> dict[str, Any]:
    """The Swagger 2.0 document of every served group-version."""
    items: list[PathItem] = []
    for group, version in catalog.group_versions():
        items.extend(group_version_paths(catalog, group, version, schemas))
    names = transitive_definitions(schemas.definitions, referenced_definitions(items))
    return {
        "swagger": "2.0",
        "info": {"title": TITLE, "version": server_version},
        "paths": {item.path: _path_item(item) for item in sorted(items, key=lambda item: item.path)},
        "definitions": {name: schemas.definitions[name] for name in names},
        "securityDefinitions": SECURITY_DEFINITIONS,
        "security": [{"BearerToken": []}],
    }


def _schema_ref(name: str | None) -> dict[str, Any]:
    if name is None:
        return {"type": "string"}
    return {"$ref": DEFINITIONS_REF + name} if name else {"type": "object"}


def _parameters(parameters: Sequence[Parameter]) -> list[dict[str, Any]]:
    rendered = []
    for parameter in parameters:
        entry: dict[str, Any] = {"uniqueItems": True, "type": parameter.type, "description": parameter.description,
                                 "name": parameter.name, "in": parameter.location}
        if parameter.required:
            entry["required"] = True
        rendered.append(entry)
    return rendered


def _path_item(item: PathItem) -> dict[str, Any]:
    rendered: dict[str, Any] = {operation.method: _operation(operation) for operation in item.operations}
    if item.parameters:
        rendered["parameters"] = _parameters(item.parameters)
    return rendered


def _operation(operation: Operation) -> dict[str, Any]:
    rendered: dict[str, Any] = {"description": operation.description}
    if operation.consumes:
        rendered["consumes"] = list(operation.consumes)
    rendered["produces"] = list(operation.produces)
    rendered["schemes"] = ["https"]
    rendered["tags"] = [operation.tag]
    rendered["operationId"] = operation.operation_id
    parameters = _parameters(operation.parameters)
    if operation.consumes:
        parameters.insert(0, {"name": "body", "in": "body", "required": True,
                              "schema": _schema_ref(operation.request)})
    if parameters:
        rendered["parameters"] = parameters
    responses: dict[str, Any] = {
        code: {"description": description, "schema": _schema_ref(operation.response)}
        for code, description in operation.codes
    }
    responses["401"] = {"description": "Unauthorized"}
    rendered["responses"] = responses
    if operation.action:
        rendered["x-kubernetes-action"] = operation.action
        group, version, kind = operation.group_version_kind
        rendered["x-kubernetes-group-version-kind"] = {"group": group, "kind": kind, "version": version}
    return rendered
