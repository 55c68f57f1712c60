"""/openapi/v2 and /openapi/v3: document shapes, hashes, caching headers and negotiation (kube-openapi's handlers)."""
from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from apiserver.endpoints.openapi import OpenAPIApp, OpenAPIDocuments, build_openapi_routes, documents_of
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from apiserver.registry.spec import ResourceSpec, Verb
from tests.http.asgi_harness import Response, call

PROTOBUF_V3 = b"application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
PROTOBUF_V2 = b"application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def _holder(*extra: ResourceSpec) -> CatalogHolder:
    return CatalogHolder(ResourceCatalog([*builtin_specs(), *extra]))


@pytest.fixture(scope="module")
def documents() -> OpenAPIDocuments:
    return OpenAPIDocuments(_holder(), clock=lambda: 1_700_000_000.0)


@pytest.fixture(scope="module")
def app(documents: OpenAPIDocuments) -> OpenAPIApp:
    return OpenAPIApp(documents)


async def _get(app: OpenAPIApp, path: str, query: bytes = b"", **headers: str) -> Response:
    encoded = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return await call(app, path=path, query=query, headers=encoded)


def _header(response: Response, name: bytes) -> bytes | None:
    return next((value for key, value in response.headers if key == name), None)


async def _index(app: OpenAPIApp) -> dict[str, Any]:
    response = await _get(app, "/openapi/v3", accept="application/json, */*")
    assert response.status == 200
    index: dict[str, Any] = orjson.loads(response.body)
    return index


async def _document(app: OpenAPIApp, key: str) -> dict[str, Any]:
    index = await _index(app)
    url = index["paths"][key]["serverRelativeURL"]
    path, _, query = url.partition("?")
    response = await _get(app, path, query.encode(), accept="application/json")
    assert response.status == 200
    document: dict[str, Any] = orjson.loads(response.body)
    return document


async def test_index_lists_every_served_group_version_with_its_document_hash(app: OpenAPIApp) -> None:
    index = await _index(app)
    assert set(index) == {"paths"}
    assert "api/v1" in index["paths"] and "apis/apps/v1" in index["paths"]
    assert "apis/rbac.authorization.k8s.io/v1" in index["paths"]
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    path, _, query = url.partition("?")
    assert path == "/openapi/v3/apis/apps/v1" and query.startswith("hash=")
    body = (await _get(app, path, accept="application/json")).body
    assert query == "hash=" + hashlib.sha512(body).hexdigest().upper()


async def test_hashes_are_stable_across_builds() -> None:
    first = OpenAPIDocuments(_holder()).index().body
    second = OpenAPIDocuments(_holder()).index().body
    assert first == second


async def test_group_version_document_shape_and_patch_operation(app: OpenAPIApp) -> None:
    document = await _document(app, "api/v1")
    assert document["openapi"] == "3.0.0"
    assert document["info"]["title"] == "Kubernetes"
    patch = document["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert patch["x-kubernetes-action"] == "patch"
    names = {(parameter["name"], parameter["in"]) for parameter in patch["parameters"]}
    assert {("fieldValidation", "query"), ("dryRun", "query"), ("fieldManager", "query"), ("force", "query")} <= names
    assert set(patch["requestBody"]["content"]) == {
        "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    }
    assert patch["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.core.v1.Pod"}


async def test_every_writable_kind_has_a_patch_operation_with_field_validation(app: OpenAPIApp) -> None:
    index = await _index(app)
    for key in index["paths"]:
        document = await _document(app, key)
        patched = {
            (gvk["group"], gvk["version"], gvk["kind"])
            for item in document["paths"].values() if "patch" in item
            for gvk in [item["patch"]["x-kubernetes-group-version-kind"]]
            if any(parameter["name"] == "fieldValidation" for parameter in item["patch"].get("parameters", []))
        }
        kinds = {(spec.group, spec.version, spec.kind) for spec in builtin_specs()
                 if f"{'apis/' + spec.group if spec.group else 'api'}/{spec.version}" == key
                 and spec.verbs & {Verb.CREATE, Verb.UPDATE, Verb.PATCH}}
        assert kinds <= patched, key


async def test_list_watch_and_subresource_operations(app: OpenAPIApp) -> None:
    document = await _document(app, "apis/apps/v1")
    paths = document["paths"]
    listing = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]["get"]
    assert listing["x-kubernetes-action"] == "list"
    assert {"watch", "labelSelector", "limit", "continue", "resourceVersion"} <= {
        parameter["name"] for parameter in listing["parameters"]}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentList"}
    assert paths["/apis/apps/v1/deployments"]["get"]["operationId"] == "listAppsV1DeploymentForAllNamespaces"
    assert paths["/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}"]["get"]["x-kubernetes-action"] == (
        "watch")
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert "io.k8s.api.autoscaling.v1.Scale" in document["components"]["schemas"]
    collection = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert collection["delete"]["operationId"] == "deleteAppsV1CollectionNamespacedDeployment"
    assert {"namespace", "pretty"} == {parameter["name"] for parameter in collection["parameters"]}


async def test_components_keep_patch_markers_and_wrap_described_references(app: OpenAPIApp) -> None:
    schemas = (await _document(app, "api/v1"))["components"]["schemas"]
    pod_spec = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert pod_spec["containers"]["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert pod_spec["containers"]["x-kubernetes-patch-merge-key"] == "name"
    assert pod_spec["containers"]["x-kubernetes-list-type"] == "map"
    affinity = pod_spec["affinity"]
    assert affinity["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Affinity"}]
    assert affinity["description"]
    assert schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Pod", "version": "v1"}]
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    encoded = orjson.dumps(schemas).decode()
    assert "#/definitions/" not in encoded
    referenced = {part.split('"')[0] for part in encoded.split("#/components/schemas/")[1:]}
    assert referenced <= set(schemas)


async def test_create_only_kinds_get_a_patch_operation_for_field_validation_detection(app: OpenAPIApp) -> None:
    paths = (await _document(app, "apis/authorization.k8s.io/v1"))["paths"]
    review = paths["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]
    assert set(review) == {"post", "patch", "parameters"}
    assert review["patch"]["x-kubernetes-group-version-kind"]["kind"] == "SelfSubjectAccessReview"


async def test_hashed_url_is_immutable_and_a_stale_hash_redirects(app: OpenAPIApp) -> None:
    index = await _index(app)
    path, _, query = index["paths"]["apis/apps/v1"]["serverRelativeURL"].partition("?")
    current = query.removeprefix("hash=")
    fresh = await _get(app, path, query.encode(), accept="application/json")
    assert _header(fresh, b"cache-control") == b"public, immutable"
    assert _header(fresh, b"expires", ) is not None
    assert _header(fresh, b"etag") == f'"{current}"'.encode()
    assert _header(fresh, b"content-type") == b"application/json"
    assert _header(fresh, b"vary") == b"Accept"
    stale = await _get(app, path, b"hash=0123", accept="application/json")
    assert stale.status == 301
    assert _header(stale, b"location") == f"{path}?hash={current}".encode()
    assert stale.body == b""
    unhashed = await _get(app, path, accept="application/json")
    assert _header(unhashed, b"cache-control") is None
    assert _header(unhashed, b"etag") == f'"{current}"'.encode()


async def test_if_none_match_gets_304_without_a_body(app: OpenAPIApp) -> None:
    first = await _get(app, "/openapi/v3", accept="application/json")
    etag = _header(first, b"etag")
    assert etag is not None and first.body
    again = await _get(app, "/openapi/v3", if_none_match=etag.decode())
    assert again.status == 304 and again.body == b""
    assert _header(again, b"content-type") is None
    gv = await _get(app, "/openapi/v3/api/v1", accept="application/json", if_none_match=f"W/{etag.decode()}, *")
    assert gv.status == 304
    modified = await _get(app, "/openapi/v3", if_modified_since="Tue, 14 Nov 2023 22:13:20 GMT")
    assert modified.status == 304
    older = await _get(app, "/openapi/v3", if_modified_since="Tue, 14 Nov 2023 22:13:19 GMT")
    assert older.status == 200
    assert _header(older, b"last-modified") == b"Tue, 14 Nov 2023 22:13:20 GMT"


async def test_protobuf_only_accept_is_not_acceptable(app: OpenAPIApp) -> None:
    v3 = await call(app, path="/openapi/v3/api/v1", headers=[(b"accept", PROTOBUF_V3)])
    assert (v3.status, v3.body, _header(v3, b"vary")) == (406, b"", b"Accept")
    v2 = await call(app, path="/openapi/v2", headers=[(b"accept", PROTOBUF_V2)])
    assert (v2.status, v2.body) == (406, b"")
    mixed = await call(app, path="/openapi/v2", headers=[(b"accept", PROTOBUF_V2 + b", application/json;q=0.9")])
    assert mixed.status == 200


async def test_unknown_group_version_gets_an_empty_200_as_upstream(app: OpenAPIApp) -> None:
    response = await _get(app, "/openapi/v3/apis/nope.example.com/v1", accept="application/json")
    assert (response.status, response.body) == (200, b"")


async def test_swagger_2_document(app: OpenAPIApp) -> None:
    response = await _get(app, "/openapi/v2", accept="application/json")
    assert response.status == 200
    assert _header(response, b"etag") == f'"{hashlib.sha512(response.body).hexdigest().upper()}"'.encode()
    swagger = orjson.loads(response.body)
    assert swagger["swagger"] == "2.0"
    patch = swagger["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["consumes"][0] == "application/apply-patch+yaml"
    assert patch["parameters"][0] == {"name": "body", "in": "body", "required": True,
                                      "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
    assert any(parameter["name"] == "fieldValidation" for parameter in patch["parameters"])
    assert swagger["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"] == {
        "$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec",
        "description": swagger["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"][
            "description"],
    }


async def test_documents_follow_catalog_changes_and_reuse_unchanged_group_versions() -> None:
    holder = _holder()
    documents = OpenAPIDocuments(holder)
    before = orjson.loads(documents.index().body)["paths"]
    apps_before = documents.group_version("apis/apps/v1")
    widgets = ResourceSpec(group="example.com", version="v1", kind="Widget", plural="widgets", namespaced=True)
    holder.update(lambda catalog: catalog.with_specs(widgets))
    after = orjson.loads(documents.index().body)["paths"]
    assert set(after) - set(before) == {"apis/example.com/v1"}
    assert documents.group_version("apis/apps/v1") is apps_before
    widget_doc = orjson.loads(documents.group_version("apis/example.com/v1").body)  # type: ignore[union-attr]
    create = widget_doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets"]["post"]
    assert create["requestBody"]["content"]["*/*"]["schema"] == {"type": "object"}


async def test_routes_serve_under_openapi_and_unknown_paths_404() -> None:
    routes = build_openapi_routes(_holder())
    assert [route.prefix for route in routes] == ["/openapi"]
    documents_of(routes[0]).index()
    response = await call(routes[0].app, path="/openapi/v4")
    assert response.status == 404
    assert orjson.loads(response.body)["reason"] == "NotFound"
