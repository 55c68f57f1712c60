"""Remote APIServices' OpenAPI documents: downloaded as system:aggregator, listed in /openapi/v3, merged into
/openapi/v2, and their v3 documents proxied."""
from __future__ import annotations

from typing import Any

import orjson

from apiserver.aggregation.apiservices import APIServiceIndex, RemoteAPIService, remote_api_service
from apiserver.aggregation.backend import BackendError, BackendResponse
from apiserver.aggregation.openapi import RemoteOpenAPI
from apiserver.aggregation.proxy import remote_target
from apiserver.endpoints.openapi import OpenAPIDocuments
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs


def _api_service(group: str, version: str, priority: int = 100) -> dict[str, Any]:
    return {"metadata": {"name": f"{version}.{group}"},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": priority, "versionPriority": 10,
                     "service": {"namespace": "ns", "name": "api"}},
            "status": {"conditions": [{"type": "Available", "status": "True"}]}}


def _remote(group: str, version: str, priority: int = 100) -> RemoteAPIService:
    remote = remote_api_service(_api_service(group, version, priority))
    assert remote is not None
    return remote


def _swagger(group: str, kind: str) -> dict[str, Any]:
    ref = {"$ref": f"#/definitions/io.example.{kind}"}
    return {"swagger": "2.0", "info": {"title": "Remote", "version": "v0"},
            "paths": {f"/apis/{group}/v1/{kind.lower()}s": {"get": {"responses": {"200": {"schema": ref}}}},
                      "/api/v1/pods": {"get": {"responses": {"200": {"schema": {"type": "string"}}}}}},
            "definitions": {f"io.example.{kind}": {"type": "object", "x-kubernetes-group-version-kind": [
                {"group": group, "version": "v1", "kind": kind}]}}}


class FakeBackend:
    """Answers as an extension server would; records who asked for what."""

    def __init__(self, answers: dict[tuple[str, str], BackendResponse | Exception]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def url(self, remote: RemoteAPIService, path: str) -> str:
        return f"https://10.0.0.5:443{path}"

    async def get(self, remote: RemoteAPIService, url: str, **options: Any) -> BackendResponse:
        path = url.removeprefix("https://10.0.0.5:443")
        self.calls.append((remote.name, path, options))
        answer = self.answers.get((remote.group, path), BackendResponse(404, "text/plain", b"404 page not found"))
        if isinstance(answer, Exception):
            raise answer
        return answer


def _json(value: Any, etag: str = "") -> BackendResponse:
    return BackendResponse(200, "application/json", orjson.dumps(value), etag)


def _index_body(group: str, hash_: str) -> dict[str, Any]:
    return {"paths": {f"apis/{group}/v1": {"serverRelativeURL": f"/openapi/v3/apis/{group}/v1?hash={hash_}"},
                      "api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=REMOTECORE"},
                      "version": {"serverRelativeURL": "/openapi/v3/version?hash=V"}}}


def _backend() -> FakeBackend:
    return FakeBackend({
        ("wardle.example.com", "/openapi/v3"): _json(_index_body("wardle.example.com", "AAA")),
        ("wardle.example.com", "/openapi/v2"): _json(_swagger("wardle.example.com", "Flunder"), '"etag-1"'),
    })


async def test_downloads_are_made_as_system_aggregator_and_revalidated_with_the_etag() -> None:
    backend = _backend()
    clock = [0.0]
    openapi = RemoteOpenAPI(backend, clock=lambda: clock[0])  # type: ignore[arg-type]
    remote = _remote("wardle.example.com", "v1")
    await openapi.refresh(remote)
    assert [(path, options["user"], options["groups"], options["verify"]) for _, path, options in backend.calls] == [
        ("/openapi/v3", "system:aggregator", (), True), ("/openapi/v2", "system:aggregator", (), True)]
    generation = openapi.generation
    backend.answers[("wardle.example.com", "/openapi/v2")] = BackendResponse(304, "", b"", '"etag-1"')
    await openapi.refresh(remote)  # the v2 document is not due again within a minute
    assert [path for _, path, _ in backend.calls[2:]] == ["/openapi/v3"]
    clock[0] = 61.0
    await openapi.refresh(remote)
    assert backend.calls[-1][1:] == ("/openapi/v2", {**backend.calls[-1][2], "if_none_match": '"etag-1"'})
    assert openapi.generation == generation  # nothing changed: the documents' caches stay valid


async def test_only_the_apiservice_group_version_joins_the_v3_index() -> None:
    openapi = RemoteOpenAPI(_backend())  # type: ignore[arg-type]
    await openapi.refresh(_remote("wardle.example.com", "v1"))
    assert openapi.index_paths() == {"apis/wardle.example.com/v1": {
        "serverRelativeURL": "/openapi/v3/apis/wardle.example.com/v1?hash=AAA"}}
    assert openapi.owner("apis/wardle.example.com/v1") == ("wardle.example.com", "v1")
    assert openapi.owner("api/v1") is None


async def test_a_failed_download_keeps_the_last_documents_until_the_apiservice_goes() -> None:
    backend = _backend()
    openapi = RemoteOpenAPI(backend, clock=lambda: 1000.0)  # type: ignore[arg-type]
    remote = _remote("wardle.example.com", "v1")
    await openapi.refresh(remote)
    backend.answers[("wardle.example.com", "/openapi/v3")] = BackendError("connection refused")
    backend.answers[("wardle.example.com", "/openapi/v2")] = BackendResponse(503, "text/plain", b"unavailable")
    await openapi.refresh(remote)
    assert list(openapi.index_paths()) == ["apis/wardle.example.com/v1"]
    assert len(openapi.swagger_sources()) == 1
    openapi.forget(remote.name)
    assert (openapi.index_paths(), openapi.swagger_sources()) == ({}, [])


def _documents(openapi: RemoteOpenAPI) -> OpenAPIDocuments:
    return OpenAPIDocuments(CatalogHolder(ResourceCatalog(builtin_specs())), remote=openapi,
                            clock=lambda: 1_700_000_000.0)


async def test_the_v3_index_lists_the_remote_group_version_with_the_remote_hash() -> None:
    openapi = RemoteOpenAPI(_backend())  # type: ignore[arg-type]
    documents = _documents(openapi)
    before = orjson.loads(documents.index().body)["paths"]
    assert "apis/wardle.example.com/v1" not in before
    await openapi.refresh(_remote("wardle.example.com", "v1"))
    assert documents.cached_index() is None  # the remote's documents changed the index
    paths = orjson.loads(documents.index().body)["paths"]
    assert paths["apis/wardle.example.com/v1"] == {
        "serverRelativeURL": "/openapi/v3/apis/wardle.example.com/v1?hash=AAA"}
    assert paths["api/v1"] == before["api/v1"]  # other entries of the remote's index are not taken
    assert list(paths) == sorted(paths)


async def test_v2_merges_the_remote_paths_under_its_group_version_after_the_local_ones() -> None:
    backend = _backend()
    backend.answers[("metrics.k8s.io", "/openapi/v3")] = _json(_index_body("metrics.k8s.io", "BBB"))
    metrics = _swagger("metrics.k8s.io", "Flunder")
    metrics["definitions"]["io.example.Flunder"]["description"] = "differs from wardle's"
    backend.answers[("metrics.k8s.io", "/openapi/v2")] = _json(metrics)
    openapi = RemoteOpenAPI(backend)  # type: ignore[arg-type]
    documents = _documents(openapi)
    local = orjson.loads(documents.swagger().body)
    await openapi.refresh(_remote("wardle.example.com", "v1", priority=100))
    await openapi.refresh(_remote("metrics.k8s.io", "v1", priority=200))
    merged = orjson.loads(documents.swagger().body)
    assert merged["info"] == local["info"]
    assert merged["paths"]["/api/v1/pods"] == local["paths"]["/api/v1/pods"]
    assert set(merged["paths"]) - set(local["paths"]) == {"/apis/wardle.example.com/v1/flunders",
                                                          "/apis/metrics.k8s.io/v1/flunders"}
    # metrics.k8s.io (priority 200) merged first keeps the name; wardle's differing Flunder is renamed.
    assert merged["definitions"]["io.example.Flunder"]["x-kubernetes-group-version-kind"] == [
        {"group": "metrics.k8s.io", "version": "v1", "kind": "Flunder"}]
    wardle = merged["paths"]["/apis/wardle.example.com/v1/flunders"]["get"]["responses"]["200"]["schema"]
    assert wardle == {"$ref": "#/definitions/io.example.Flunder_v2"}
    assert list(merged["definitions"]) == sorted(merged["definitions"])


async def test_remote_v3_documents_are_routed_to_the_remote_once_listed() -> None:
    index = APIServiceIndex()
    index.observe("ADDED", _api_service("wardle.example.com", "v1"))
    openapi = RemoteOpenAPI(_backend())  # type: ignore[arg-type]
    path = "/openapi/v3/apis/wardle.example.com/v1"
    assert remote_target(path, index, openapi) is None  # not downloaded yet: served locally
    await openapi.refresh(_remote("wardle.example.com", "v1"))
    target = remote_target(path, index, openapi)
    assert target is not None and target.name == "v1.wardle.example.com"
    assert remote_target("/openapi/v3/api/v1", index, openapi) is None
    assert remote_target("/openapi/v2", index, openapi) is None


async def test_a_server_without_openapi_v3_gets_its_v2_converted_and_served_here() -> None:
    backend = FakeBackend({("wardle.example.com", "/openapi/v2"): _json(_swagger("wardle.example.com", "Flunder"))})
    openapi = RemoteOpenAPI(backend, wall_clock=lambda: 1_700_000_000.0)  # type: ignore[arg-type]
    remote = _remote("wardle.example.com", "v1")
    await openapi.refresh(remote)
    key = "apis/wardle.example.com/v1"
    assert openapi.owner(key) is None  # not proxied: this server serves the converted document
    converted = openapi.converted_document(key)
    assert converted is not None
    body, hash_, generated = converted
    assert openapi.index_paths() == {key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={hash_}"}}
    document = orjson.loads(body)
    assert document["openapi"] == "3.0.0" and "/api/v1/pods" in document["paths"]  # the whole v2, as upstream
    assert document["components"]["schemas"]["io.example.Flunder"]["type"] == "object"
    served = _documents(openapi).group_version(key)
    assert served is not None and (served.body, served.hash, served.generated) == (body, hash_, generated)
    await openapi.refresh(remote)  # legacy for as long as the APIService exists: /openapi/v3 is not asked again
    assert [path for _, path, _ in backend.calls] == ["/openapi/v3", "/openapi/v2"]
