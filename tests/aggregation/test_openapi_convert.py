"""Swagger 2.0 → OpenAPI 3.0 as kube-openapi's openapiconv.ConvertV2ToV3."""
from __future__ import annotations

from apiserver.aggregation.openapi_convert import convert_schema, convert_v2_to_v3

SWAGGER = {
    "swagger": "2.0", "info": {"title": "Wardle", "version": "v0"},
    "paths": {"/apis/w.io/v1/namespaces/{namespace}/flunders": {
        "post": {
            "consumes": ["*/*"], "produces": ["application/json", "application/yaml"], "operationId": "createFlunder",
            "parameters": [{"name": "body", "in": "body", "required": True,
                            "schema": {"$ref": "#/definitions/io.w.Flunder"}},
                           {"uniqueItems": True, "type": "string", "description": "dry run", "name": "dryRun",
                            "in": "query"}],
            "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/io.w.Flunder"}},
                          "401": {"description": "Unauthorized"}},
            "tags": ["wardle_v1"], "x-kubernetes-action": "post"},
        "parameters": [{"$ref": "#/parameters/namespace-vZcwg5iY"}]}},
    "definitions": {"io.w.Flunder": {"type": "object", "properties": {
        "metadata": {"$ref": "#/definitions/io.k8s.meta.ObjectMeta", "description": "Standard metadata."},
        "items": {"type": "array", "items": {"$ref": "#/definitions/io.w.Item"}}}}},
    "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                                            "description": "Bearer Token authentication"}},
    "parameters": {"namespace-vZcwg5iY": {"name": "namespace", "in": "path", "type": "string"}},
}


def test_operations_bodies_and_responses_are_converted() -> None:
    document = convert_v2_to_v3(SWAGGER)
    assert document["openapi"] == "3.0.0" and document["info"] == SWAGGER["info"]
    item = document["paths"]["/apis/w.io/v1/namespaces/{namespace}/flunders"]
    assert item["parameters"] == [{"$ref": "#/components/parameters/namespace-vZcwg5iY"}]
    post = item["post"]
    assert post["requestBody"] == {"content": {"*/*": {"schema": {"$ref": "#/components/schemas/io.w.Flunder"}}}}
    assert post["parameters"] == [{"name": "dryRun", "description": "dry run", "in": "query",
                                   "schema": {"type": "string", "uniqueItems": True}}]
    ok = {"schema": {"$ref": "#/components/schemas/io.w.Flunder"}}
    assert post["responses"] == {"200": {"description": "OK", "content": {"application/json": ok,
                                                                          "application/yaml": ok}},
                                 "401": {"description": "Unauthorized"}}
    assert (post["operationId"], post["tags"], post["x-kubernetes-action"]) == ("createFlunder", ["wardle_v1"],
                                                                                "post")
    assert document["components"]["securitySchemes"] == SWAGGER["securityDefinitions"]
    assert "parameters" not in document["components"]  # upstream does not carry them over


def test_schemas_repoint_references_and_wrap_those_with_siblings() -> None:
    converted = convert_schema(SWAGGER["definitions"]["io.w.Flunder"])
    assert converted["properties"]["metadata"] == {"allOf": [{"$ref": "#/components/schemas/io.k8s.meta.ObjectMeta"}],
                                                   "description": "Standard metadata."}
    assert converted["properties"]["items"]["items"] == {"$ref": "#/components/schemas/io.w.Item"}
