"""A Swagger 2.0 document as OpenAPI 3.0, as kube-openapi's (deprecated) openapiconv.ConvertV2ToV3 does it.

kube-aggregator v1.32 uses it for a remote server that answers 404 to `/openapi/v3`: its whole `/openapi/v2`
document, converted, is served by the aggregator itself as `/openapi/v3/apis/<group>/<version>`. Like upstream:
a `body` parameter with a schema becomes the operation's `requestBody`, one entry per operation `consumes` type;
a response's schema goes under each of the operation's `produces` types (none without them); a simple parameter
gets a schema of its type, format and uniqueItems; `#/definitions/` references become `#/components/schemas/`,
and a reference with siblings is wrapped in `allOf`; components hold the schemas, security schemes and responses
(top-level parameters are not carried over, as upstream).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

V2_DEFINITIONS = "#/definitions/"
V3_SCHEMAS = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

JSONDict = dict[str, Any]


def convert_v2_to_v3(swagger: Mapping[str, Any]) -> JSONDict:
    """ConvertV2ToV3 of a Swagger 2.0 document (a JSON dict)."""
    document: JSONDict = {"openapi": "3.0.0"}
    if swagger.get("info") is not None:
        document["info"] = swagger["info"]
    if (docs := _external_docs(swagger.get("externalDocs"))) is not None:
        document["externalDocs"] = docs
    if isinstance(swagger.get("paths"), Mapping):
        document["paths"] = {path: _path_item(item) for path, item in swagger["paths"].items()}
    document["components"] = _components(swagger)
    return document


def convert_schema(schema: Any) -> Any:
    """ConvertSchema: references re-pointed, nested schemas converted, a reference with siblings wrapped."""
    if not isinstance(schema, Mapping):
        return schema
    converted: JSONDict = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str) and V2_DEFINITIONS in value:
            converted[key] = V3_SCHEMAS + value[value.index(V2_DEFINITIONS) + len(V2_DEFINITIONS):]
        elif key == "properties" and isinstance(value, Mapping):
            converted[key] = {name: convert_schema(item) for name, item in value.items()}
        elif key == "items" and isinstance(value, list):
            converted[key] = [convert_schema(item) for item in value]
        elif key in ("items", "additionalProperties", "additionalItems") and isinstance(value, Mapping):
            converted[key] = convert_schema(value)
        else:
            converted[key] = value
    reference = converted.get("$ref")
    if isinstance(reference, str) and len(converted) > 1:  # builder3's WrapRefs
        return {"allOf": [{"$ref": reference}], **{key: value for key, value in converted.items() if key != "$ref"}}
    return converted


def _external_docs(docs: Any) -> JSONDict | None:
    if not isinstance(docs, Mapping):
        return None
    return {key: docs[key] for key in ("description", "url") if docs.get(key)}


def _components(swagger: Mapping[str, Any]) -> JSONDict:
    components: JSONDict = {}
    if isinstance(swagger.get("definitions"), Mapping):
        components["schemas"] = {name: convert_schema(schema) for name, schema in swagger["definitions"].items()}
    if isinstance(swagger.get("securityDefinitions"), Mapping):
        components["securitySchemes"] = {name: _security_scheme(scheme)
                                         for name, scheme in swagger["securityDefinitions"].items()}
    if isinstance(swagger.get("responses"), Mapping):
        produces = swagger.get("produces")
        components["responses"] = {name: _response(response, produces)
                                   for name, response in swagger["responses"].items()}
    return components


def _security_scheme(scheme: Mapping[str, Any]) -> JSONDict:
    converted = {key: scheme[key] for key in ("description", "type", "name", "in") if scheme.get(key)}
    converted.update({key: value for key, value in scheme.items() if key.startswith("x-")})
    if scheme.get("flow"):
        flow = {"authorizationUrl": scheme.get("authorizationUrl"), "tokenUrl": scheme.get("tokenUrl"),
                "scopes": scheme.get("scopes")}
        converted["flows"] = {scheme["flow"]: {key: value for key, value in flow.items() if value}}
    return converted


def _extensions(value: Mapping[str, Any]) -> JSONDict:
    return {key: item for key, item in value.items() if key.startswith("x-")}


def _path_item(item: Mapping[str, Any]) -> JSONDict:
    converted: JSONDict = {"$ref": item["$ref"]} if item.get("$ref") else {}
    for method in METHODS:
        if isinstance(item.get(method), Mapping):
            converted[method] = _operation(item[method])
    if item.get("parameters"):
        converted["parameters"] = [_parameter(parameter) for parameter in item["parameters"]]
    converted.update(_extensions(item))
    return converted


def _operation(operation: Mapping[str, Any]) -> JSONDict:
    converted: JSONDict = {key: operation[key] for key in ("tags", "summary", "description") if operation.get(key)}
    if (docs := _external_docs(operation.get("externalDocs"))) is not None:
        converted["externalDocs"] = docs
    if operation.get("operationId"):
        converted["operationId"] = operation["operationId"]
    parameters: list[JSONDict] = []
    for parameter in operation.get("parameters") or ():
        if parameter.get("name") == "body" and parameter.get("schema") is not None:
            body: JSONDict = {}
            if operation.get("consumes") is not None:
                body["content"] = {media_type: {"schema": convert_schema(parameter["schema"])}
                                   for media_type in operation["consumes"]}
            converted["requestBody"] = body
        else:
            parameters.append(_parameter(parameter))
    if parameters:
        converted["parameters"] = parameters
    responses = operation.get("responses") or {}
    produces = operation.get("produces")
    converted["responses"] = {code: _response(response, produces) for code, response in responses.items()
                              if isinstance(response, Mapping)}
    if operation.get("deprecated"):
        converted["deprecated"] = True
    converted.update(_extensions(operation))
    return converted


def _response(response: Mapping[str, Any], produces: Any) -> JSONDict:
    reference = response.get("$ref")
    converted: JSONDict = {}
    if isinstance(reference, str) and reference:
        converted["$ref"] = reference.replace("#/responses/", "#/components/responses/", 1)
    converted["description"] = response.get("description", "")
    if response.get("schema") is not None and produces is not None:
        converted["content"] = {media_type: {"schema": convert_schema(response["schema"])} for media_type in produces}
    converted.update(_extensions(response))
    return converted


def _parameter(parameter: Mapping[str, Any]) -> JSONDict:
    reference = parameter.get("$ref")
    if isinstance(reference, str) and reference:
        return {"$ref": reference.replace("#/parameters/", "#/components/parameters/", 1)}
    converted: JSONDict = {key: parameter[key] for key in ("name", "description", "in", "required")
                           if parameter.get(key)}
    schema = convert_schema(parameter.get("schema")) if parameter.get("schema") is not None else None
    if schema is None:
        schema = {"type": parameter.get("type", "")}
        if parameter.get("format"):
            schema["format"] = parameter["format"]
        if parameter.get("uniqueItems"):
            schema["uniqueItems"] = True
    converted["schema"] = schema
    if parameter.get("allowEmptyValue"):
        converted["allowEmptyValue"] = True
    converted.update(_extensions(parameter))
    return converted
