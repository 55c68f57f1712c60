"""Discovery documents, content negotiation, ETags and routing, checked against kube-apiserver v1.32's shapes."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from apiserver.endpoints.discovery import DiscoveryApp, MediaChoice, build_discovery_routes, parse_accept
from apiserver.endpoints.health import HealthRegistry
from apiserver.endpoints.router import build_router
from apiserver.endpoints.version import build_version_info
from apiserver.filters.chain import build_chain
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import send_bytes
from apiserver.registry.catalog import CatalogHolder, Priority, ResourceCatalog, builtin_specs
from apiserver.registry.spec import STATUS_VERBS, ResourceSpec, Subresource
from tests.http.asgi_harness import Response, call

SERVER_ADDRESS = "10.0.0.1:6443"
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
KUBECTL_ACCEPT = f"{AGGREGATED_V2},{AGGREGATED_V2BETA1},application/json"
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS = ["get", "patch", "update"]
NOT_FOUND = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not '
             b'find the requested resource","reason":"NotFound","details":{},"code":404}\n')
# The /apis order of a v1.32 kube-apiserver (its APIService priorities; ties by name).
UPSTREAM_GROUP_ORDER = [
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
    "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io",
]


def _catalog() -> ResourceCatalog:
    return ResourceCatalog(builtin_specs())


def _app(catalog: ResourceCatalog | None = None) -> DiscoveryApp:
    return DiscoveryApp(CatalogHolder(catalog or _catalog()), server_address=SERVER_ADDRESS)


async def _get(app: Any, path: str, accept: str | None = None, method: str = "GET", **headers: str) -> Response:
    sent = [(b"accept", accept.encode())] if accept is not None else []
    sent += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    query = b""
    if "?" in path:
        path, _, raw_query = path.partition("?")
        query = raw_query.encode()
    return await call(app, method=method, path=path, query=query, headers=sent)


def _header(response: Response, name: bytes) -> bytes | None:
    return next((value for key, value in response.headers if key == name), None)


def _json(response: Response) -> Any:
    return json.loads(response.body)


def _status(code: int, reason: str, message: str, *, details: bool = True) -> bytes:
    detail = b'"details":{},' if details else b""
    return (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"%s","reason":"%s",'
            b'%s"code":%d}\n' % (message.encode(), reason.encode(), detail, code))


def _resource(name: str, singular: str, namespaced: bool, kind: str, verbs: list[str], **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "singularName": singular, "namespaced": namespaced}
    entry.update({key: extra.pop(key) for key in ("group", "version") if key in extra})
    entry.update({"kind": kind, "verbs": verbs})
    entry.update(extra)
    return entry


def _sub(name: str, namespaced: bool, kind: str, verbs: list[str], **extra: Any) -> dict[str, Any]:
    return _resource(name, "", namespaced, kind, verbs, **extra)


async def test_api_is_upstreams_apiversions_without_apiversion_field() -> None:
    response = await _get(_app(), "/api", "application/json, */*")
    assert response.status == 200
    assert _header(response, b"content-type") == b"application/json"
    assert response.body == (b'{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":'
                             b'[{"clientCIDR":"0.0.0.0/0","serverAddress":"10.0.0.1:6443"}]}\n')
    assert _header(response, b"etag") is None


async def test_apis_lists_groups_in_upstream_priority_order_with_preferred_version_first() -> None:
    document = _json(await _get(_app(), "/apis", "application/json"))
    assert list(document) == ["kind", "apiVersion", "groups"]
    assert (document["kind"], document["apiVersion"]) == ("APIGroupList", "v1")
    assert [group["name"] for group in document["groups"]] == UPSTREAM_GROUP_ORDER
    autoscaling = next(group for group in document["groups"] if group["name"] == "autoscaling")
    assert autoscaling == {
        "name": "autoscaling",
        "versions": [{"groupVersion": "autoscaling/v2", "version": "v2"},
                     {"groupVersion": "autoscaling/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"},
    }


@pytest.mark.parametrize("path", ["/apis/apps", "/apis/apps/"])
async def test_apis_group_is_an_apigroup_with_apiversion(path: str) -> None:
    response = await _get(_app(), path)
    assert response.body == (b'{"kind":"APIGroup","apiVersion":"v1","name":"apps","versions":[{"groupVersion":'
                             b'"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1",'
                             b'"version":"v1"}}\n')


async def test_apps_v1_resource_list_matches_a_real_v1_32_server() -> None:
    scale = {"group": "autoscaling", "version": "v1"}
    expected = {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
        "resources": [
            _resource("controllerrevisions", "controllerrevision", True, "ControllerRevision", ALL_VERBS,
                      storageVersionHash="85nkx63pcBU="),
            _resource("daemonsets", "daemonset", True, "DaemonSet", ALL_VERBS, shortNames=["ds"],
                      categories=["all"], storageVersionHash="dd7pWHUlMKQ="),
            _sub("daemonsets/status", True, "DaemonSet", STATUS),
            _resource("deployments", "deployment", True, "Deployment", ALL_VERBS, shortNames=["deploy"],
                      categories=["all"], storageVersionHash="8aSe+NMegvE="),
            _sub("deployments/scale", True, "Scale", STATUS, **scale),
            _sub("deployments/status", True, "Deployment", STATUS),
            _resource("replicasets", "replicaset", True, "ReplicaSet", ALL_VERBS, shortNames=["rs"],
                      categories=["all"], storageVersionHash="P1RzHs8/mWQ="),
            _sub("replicasets/scale", True, "Scale", STATUS, **scale),
            _sub("replicasets/status", True, "ReplicaSet", STATUS),
            _resource("statefulsets", "statefulset", True, "StatefulSet", ALL_VERBS, shortNames=["sts"],
                      categories=["all"], storageVersionHash="H+vl74LkKdo="),
            _sub("statefulsets/scale", True, "Scale", STATUS, **scale),
            _sub("statefulsets/status", True, "StatefulSet", STATUS),
        ],
    }
    response = await _get(_app(), "/apis/apps/v1", "application/json, */*")
    assert (response.status, _header(response, b"content-type")) == (200, b"application/json")
    assert response.body == json.dumps(expected, separators=(",", ":")).encode() + b"\n"


async def test_core_v1_resource_list_matches_a_real_v1_32_server() -> None:
    document = _json(await _get(_app(), "/api/v1"))
    assert list(document) == ["kind", "groupVersion", "resources"]  # stripVersion: no apiVersion
    by_name = {entry["name"]: entry for entry in document["resources"]}
    names = [entry["name"] for entry in document["resources"]]
    assert names[names.index("pods"):names.index("podtemplates")] == [
        "pods", "pods/attach", "pods/binding", "pods/ephemeralcontainers", "pods/eviction", "pods/exec",
        "pods/log", "pods/portforward", "pods/proxy", "pods/status",
    ]
    assert by_name["pods"] == _resource("pods", "pod", True, "Pod", ALL_VERBS, shortNames=["po"],
                                        categories=["all"], storageVersionHash="xPOwRZ+Yhw8=")
    assert by_name["pods/eviction"] == _sub("pods/eviction", True, "Eviction", ["create"], group="policy",
                                            version="v1")
    assert list(by_name["pods/eviction"]) == ["name", "singularName", "namespaced", "group", "version", "kind",
                                              "verbs"]
    assert by_name["pods/exec"] == _sub("pods/exec", True, "PodExecOptions", ["create", "get"])
    assert by_name["pods/proxy"] == _sub("pods/proxy", True, "PodProxyOptions",
                                         ["create", "delete", "get", "patch", "update"])
    assert by_name["pods/log"] == _sub("pods/log", True, "Pod", ["get"])
    assert by_name["serviceaccounts/token"] == _sub("serviceaccounts/token", True, "TokenRequest", ["create"],
                                                    group="authentication.k8s.io", version="v1")
    assert by_name["namespaces"]["verbs"] == ["create", "delete", "get", "list", "patch", "update", "watch"]
    assert by_name["namespaces/finalize"] == _sub("namespaces/finalize", False, "Namespace", ["update"])
    assert by_name["bindings"] == _resource("bindings", "binding", True, "Binding", ["create"])
    assert by_name["componentstatuses"] == _resource("componentstatuses", "componentstatus", False,
                                                     "ComponentStatus", ["get", "list"], shortNames=["cs"])
    assert by_name["endpoints"]["singularName"] == "endpoints"


async def test_authentication_v1_virtual_resources_have_no_storage_version_hash() -> None:
    document = _json(await _get(_app(), "/apis/authentication.k8s.io/v1"))
    assert document["resources"] == [
        _resource("selfsubjectreviews", "selfsubjectreview", False, "SelfSubjectReview", ["create"]),
        _resource("tokenreviews", "tokenreview", False, "TokenReview", ["create"]),
    ]


async def test_aggregated_api_is_the_core_group_alone() -> None:
    response = await _get(_app(), "/api", KUBECTL_ACCEPT)
    assert _header(response, b"content-type") == AGGREGATED_V2.encode()
    document = _json(response)
    assert list(document) == ["kind", "apiVersion", "metadata", "items"]
    assert (document["kind"], document["apiVersion"], document["metadata"]) == (
        "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2", {})
    [core] = document["items"]
    assert core["metadata"] == {"creationTimestamp": None}
    [version] = core["versions"]
    assert (list(version), version["version"], version["freshness"]) == (
        ["version", "resources", "freshness"], "v1", "Current")
    pods = next(entry for entry in version["resources"] if entry["resource"] == "pods")
    assert list(pods) == ["resource", "responseKind", "scope", "singularResource", "verbs", "shortNames",
                          "categories", "subresources"]
    assert pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert (pods["scope"], pods["singularResource"], pods["verbs"]) == ("Namespaced", "pod", ALL_VERBS)
    assert pods["subresources"][3] == {
        "subresource": "eviction", "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
        "verbs": ["create"]}
    assert pods["subresources"][-1] == {
        "subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "verbs": STATUS}
    nodes = next(entry for entry in version["resources"] if entry["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"


async def test_aggregated_apis_orders_groups_and_versions_by_priority() -> None:
    document = _json(await _get(_app(), "/apis", KUBECTL_ACCEPT))
    assert [item["metadata"]["name"] for item in document["items"]] == UPSTREAM_GROUP_ORDER
    assert all(item["metadata"]["creationTimestamp"] is None for item in document["items"])
    autoscaling = next(item for item in document["items"] if item["metadata"]["name"] == "autoscaling")
    assert [version["version"] for version in autoscaling["versions"]] == ["v2", "v1"]
    apiservices = document["items"][0]["versions"][0]["resources"][0]
    assert apiservices == {
        "resource": "apiservices", "responseKind": {"group": "", "version": "", "kind": "APIService"},
        "scope": "Cluster", "singularResource": "apiservice", "verbs": ALL_VERBS, "categories": ["api-extensions"],
        "subresources": [{"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "APIService"},
                          "verbs": STATUS}],
    }


def _content_type(kind: str) -> bytes:
    return {
        "v2": AGGREGATED_V2.encode(), "v2beta1": AGGREGATED_V2BETA1.encode(), "json": b"application/json",
        "yaml": b"application/yaml", "yaml-v2": AGGREGATED_V2.replace("json", "yaml").encode(),
    }[kind]


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/api", KUBECTL_ACCEPT, "v2"),
        ("/apis", KUBECTL_ACCEPT, "v2"),
        ("/apis", f"{AGGREGATED_V2BETA1},application/json", "v2beta1"),
        ("/apis", f"{AGGREGATED_V2BETA1},{AGGREGATED_V2}", "v2beta1"),
        ("/apis", f"{AGGREGATED_V2BETA1};q=0.5,{AGGREGATED_V2};q=0.9", "v2"),
        # The wrapper looks only at aggregated clauses: any one of them, whatever its q, selects aggregated.
        ("/apis", f"{AGGREGATED_V2};q=0.5,application/json", "v2"),
        ("/apis", "application/json", "json"),
        ("/apis", "", "json"),
        ("/apis", None, "json"),
        ("/apis", "*/*", "json"),
        ("/apis", "application/yaml", "yaml"),
        ("/apis", AGGREGATED_V2.replace("json", "yaml"), "yaml-v2"),
        ("/apis", "*/*;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", "v2"),
        ("/apis", "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json", "json"),
        ("/apis", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "json"),
        ("/apis", "application/json;g=apidiscovery.k8s.io;v=v1;as=APIGroupDiscoveryList,application/json", "json"),
        ("/apis/", KUBECTL_ACCEPT, "json"),
        ("/api/", KUBECTL_ACCEPT, "v2"),
        ("/apis/apps", KUBECTL_ACCEPT, "json"),
        ("/apis/apps/v1", KUBECTL_ACCEPT, "json"),
        ("/api/v1", KUBECTL_ACCEPT, "json"),
    ],
    ids=["kubectl-api", "kubectl-apis", "v2beta1-first", "first-of-equals-wins", "higher-q-wins",
         "aggregated-whatever-its-q", "plain-json", "empty-accept", "no-accept", "any", "yaml",
         "aggregated-yaml", "aggregated-any-type", "aggregated-protobuf-not-served", "table-not-for-discovery",
         "unknown-aggregated-version", "apis-slash-is-never-aggregated", "api-slash-is", "group-never-aggregated",
         "version-never-aggregated", "core-version-never-aggregated"],
)
async def test_content_negotiation(path: str, accept: str | None, expected: str) -> None:
    response = await _get(_app(), path, accept)
    assert response.status == 200, response.body
    assert _header(response, b"content-type") == _content_type(expected)
    aggregated = expected in ("v2", "v2beta1", "yaml-v2")
    assert (_header(response, b"etag") is not None) is aggregated
    assert (_header(response, b"vary") == b"Accept") is aggregated
    if expected in ("v2", "v2beta1"):
        assert _json(response)["apiVersion"] == f"apidiscovery.k8s.io/{expected}"


@pytest.mark.parametrize(
    ("path", "accept", "body"),
    [
        ("/apis", "text/html", _status(406, "NotAcceptable", "only the following media types are accepted: "
                                       "application/json, application/yaml", details=False)),
        ("/apis/apps", AGGREGATED_V2, _status(406, "NotAcceptable", "only the following media types are accepted: "
                                              "application/json, application/yaml", details=False)),
        ("/api/v1", AGGREGATED_V2, _status(406, "NotAcceptable", "only the following media types are accepted: "
                                           "application/json, application/yaml", details=False)),
        ("/api", "text/html", _status(406, "NotAcceptable", "406: Not Acceptable")),
        ("/api/v1", "application/*", _status(406, "NotAcceptable", "406: Not Acceptable")),
        ("/apis/apps/v1", "text/plain", _status(406, "NotAcceptable", "406: Not Acceptable")),
    ],
    ids=["apis-html", "group-aggregated-only", "core-aggregated-only", "go-restful-api-html",
         "go-restful-wildcard-subtype", "go-restful-version-text"],
)
async def test_not_acceptable(path: str, accept: str, body: bytes) -> None:
    response = await _get(_app(), path, accept)
    assert (response.status, response.body) == (406, body)


@pytest.mark.parametrize(
    ("method", "path", "content_type", "status", "body"),
    [
        ("POST", "/api", "", 405,
         _status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")),
        ("PUT", "/api/v1", "", 405,
         _status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")),
        ("DELETE", "/apis/apps/v1", "", 405,
         _status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")),
        ("GET", "/apis/apps/v1", "text/plain", 415,
         _status(415, "UnsupportedMediaType", "415: Unsupported Media Type")),
        ("GET", "/api", "application/json", 200, None),
        ("POST", "/apis", "", 200, None),
        ("PUT", "/apis/apps", "text/plain", 200, None),
    ],
    ids=["post-api", "put-core-version", "delete-version", "get-with-text-body", "get-with-json-body",
         "aggregator-apis-any-method", "aggregator-group-any-method"],
)
async def test_go_restful_paths_check_method_and_content_type_first(
    method: str, path: str, content_type: str, status: int, body: bytes | None
) -> None:
    headers = {"content_type": content_type} if content_type else {}
    response = await _get(_app(), path, "application/json", method=method, **headers)
    assert response.status == status
    if body is not None:
        assert response.body == body


async def test_aggregated_etag_is_sha512_of_the_v2_list_and_same_for_every_format() -> None:
    app = _app()
    v2 = await _get(app, "/apis", AGGREGATED_V2)
    v2beta1 = await _get(app, "/apis", AGGREGATED_V2BETA1)
    as_yaml = await _get(app, "/apis", AGGREGATED_V2.replace("json", "yaml"))
    document = _json(v2)
    digest = hashlib.sha512(json.dumps({"metadata": {}, "items": document["items"]}, separators=(",", ":")).encode())
    etag = b'"' + digest.hexdigest().upper().encode() + b'"'
    assert _header(v2, b"etag") == _header(v2beta1, b"etag") == _header(as_yaml, b"etag") == etag
    assert _header(v2, b"cache-control") == b"public"
    core = await _get(app, "/api", AGGREGATED_V2)
    assert _header(core, b"etag") != etag


async def test_if_none_match_with_the_etag_gets_304_without_a_body() -> None:
    app = _app()
    first = await _get(app, "/api", KUBECTL_ACCEPT)
    etag = _header(first, b"etag")
    assert etag is not None
    again = await _get(app, "/api", KUBECTL_ACCEPT, if_none_match=etag.decode())
    assert (again.status, again.body) == (304, b"")
    assert sorted(again.headers) == sorted([(b"etag", etag), (b"vary", b"Accept"), (b"cache-control", b"public")])
    stale = await _get(app, "/api", KUBECTL_ACCEPT, if_none_match='"0123"')
    assert (stale.status, stale.body) == (200, first.body)
    unquoted = await _get(app, "/api", KUBECTL_ACCEPT, if_none_match=etag.decode().strip('"'))
    assert unquoted.status == 200
    legacy = await _get(app, "/api", "application/json", if_none_match=etag.decode())
    assert legacy.status == 200


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/apis/apps?pretty=true", {}), ("/apis/apps", {"user_agent": "curl/8.5.0"}),
     ("/apis/apps?pretty=1", {"user_agent": "kubectl/v1.32.4"})],
    ids=["pretty-query", "curl", "pretty-one"],
)
async def test_pretty_output_is_indented_without_trailing_newline(path: str, headers: dict[str, str]) -> None:
    response = await _get(_app(), path, "application/json", **headers)
    assert response.body.startswith(b'{\n  "kind": "APIGroup",\n  "apiVersion": "v1",\n  "name": "apps",')
    assert response.body.endswith(b"}")


async def test_pretty_false_wins_over_a_curl_user_agent() -> None:
    response = await _get(_app(), "/apis/apps?pretty=false", "application/json", user_agent="curl/8.5.0")
    assert response.body.endswith(b"}\n") and b"\n " not in response.body


async def test_yaml_has_sorted_keys_like_upstreams_yaml_serializer() -> None:
    response = await _get(_app(), "/apis/apps", "application/yaml")
    assert response.body == (b"apiVersion: v1\nkind: APIGroup\nname: apps\npreferredVersion:\n"
                             b"  groupVersion: apps/v1\n  version: v1\nversions:\n- groupVersion: apps/v1\n"
                             b"  version: v1\n")


async def _downstream(scope: Scope, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, b"downstream " + scope["path"].encode(), content_type=b"text/plain")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/namespaces/default/pods", "/api/v1/pods", "/api/v2", "/apis/foo", "/apis/apps/v2",
     "/apis/apps/v1/deployments", "/apis/foo/v1", "/api/v1/watch/pods", "/apis//v1", "/apisx"],
)
async def test_other_paths_go_to_the_next_app(path: str) -> None:
    app = DiscoveryApp(CatalogHolder(_catalog()), server_address=SERVER_ADDRESS, next_app=_downstream)
    response = await _get(app, path)
    assert response.body == b"downstream " + path.encode()


async def test_routes_plug_into_the_router_and_default_to_go_restfuls_404() -> None:
    router = build_router(health=HealthRegistry(), version=build_version_info(),
                          routes=build_discovery_routes(CatalogHolder(_catalog()), server_address=SERVER_ADDRESS))
    assert (await _get(router, "/apis/apps")).status == 200
    assert (await _get(router, "/api")).status == 200
    assert (await _get(router, "/apis/foo")).body == NOT_FOUND
    assert (await _get(router, "/api/v1/namespaces")).body == NOT_FOUND
    assert (await _get(router, "/version")).status == 200
    assert (await _get(router, "/apisx")).status == 404


async def test_filter_chain_keeps_aggregated_caching_and_marks_the_rest_private() -> None:
    app = build_chain(build_router(health=HealthRegistry(), version=build_version_info(),
                                   routes=build_discovery_routes(CatalogHolder(_catalog()),
                                                                 server_address=SERVER_ADDRESS)))
    aggregated = await _get(app, "/apis", KUBECTL_ACCEPT)
    legacy = await _get(app, "/apis", "application/json")
    assert _header(aggregated, b"cache-control") == b"public"
    assert _header(legacy, b"cache-control") == b"no-cache, private"
    revalidated = await _get(app, "/apis", KUBECTL_ACCEPT, if_none_match=_header(aggregated, b"etag").decode())
    assert (revalidated.status, _header(revalidated, b"cache-control")) == (304, b"public")


async def test_routes_hand_resource_paths_to_the_resource_app() -> None:
    holder = CatalogHolder(_catalog())
    router = build_router(health=HealthRegistry(), version=build_version_info(),
                          routes=build_discovery_routes(holder, server_address=SERVER_ADDRESS, resources=_downstream))
    assert (await _get(router, "/apis/apps/v1/deployments")).body == b"downstream /apis/apps/v1/deployments"
    assert (await _get(router, "/apis/apps/v1")).status == 200


WIDGETS = ResourceSpec(
    group="example.com", version="v1alpha1", kind="Widget", plural="widgets", namespaced=True,
    short_names=("wd",), categories=("all",), subresources=(Subresource("status", "Widget", verbs=STATUS_VERBS),),
)


async def test_discovery_follows_the_catalog_the_holder_currently_serves() -> None:
    holder = CatalogHolder(_catalog())
    app = DiscoveryApp(holder, server_address=SERVER_ADDRESS, next_app=_downstream)
    before = await _get(app, "/apis", AGGREGATED_V2)
    assert (await _get(app, "/apis/example.com/v1alpha1")).body == b"downstream /apis/example.com/v1alpha1"

    holder.replace(holder.current.with_specs(WIDGETS).with_priority("example.com", "v1alpha1", Priority(1000, 100)))

    after = await _get(app, "/apis", AGGREGATED_V2)
    assert _header(after, b"etag") != _header(before, b"etag")
    assert (await _get(app, "/apis", AGGREGATED_V2, if_none_match=_header(before, b"etag").decode())).status == 200
    widgets = _json(after)["items"][-1]
    assert widgets["metadata"] == {"name": "example.com", "creationTimestamp": None}
    # Custom resources' discovery names their own group-version (the apiextensions server fills it in).
    assert widgets["versions"][0]["resources"][0]["responseKind"] == {
        "group": "example.com", "version": "v1alpha1", "kind": "Widget"}
    assert widgets["versions"][0]["resources"][0]["subresources"][0]["responseKind"] == {
        "group": "example.com", "version": "v1alpha1", "kind": "Widget"}
    legacy = _json(await _get(app, "/apis/example.com/v1alpha1"))
    assert legacy["resources"] == [
        _resource("widgets", "widget", True, "Widget", ALL_VERBS, shortNames=["wd"], categories=["all"],
                  storageVersionHash=WIDGETS.storage_version_hash),
        _sub("widgets/status", True, "Widget", STATUS),
    ]
    assert _json(await _get(app, "/apis"))["groups"][-1]["name"] == "example.com"


async def test_documents_are_built_once_per_catalog() -> None:
    app = _app()
    documents = app.documents()
    await _get(app, "/apis", AGGREGATED_V2)
    assert app.documents() is documents
    choice = MediaChoice(b"application/json", aggregated_version="v2")
    assert documents.body(("apis",), choice) is documents.body(("apis",), choice)


async def test_core_group_disabled_leaves_api_to_the_next_app() -> None:
    catalog = _catalog().without("")
    app = DiscoveryApp(CatalogHolder(catalog), server_address=SERVER_ADDRESS, next_app=_downstream)
    assert (await _get(app, "/api")).body == b"downstream /api"
    assert (await _get(app, "/api/v1")).body == b"downstream /api/v1"
    assert (await _get(app, "/apis")).status == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a/b, c/d;q=0.5, */*;q=0.1", [("a", "b", 1.0), ("c", "d", 0.5), ("*", "*", 0.1)]),
        ("*/*, application/json;q=0.5", [("application", "json", 0.5), ("*", "*", 1.0)]),
        ("text/*, text/html", [("text", "html", 1.0), ("text", "*", 1.0)]),
        ("*, bad, a/b/c, x/y;q=abc", [("x", "y", 0.0), ("*", "*", 1.0)]),
    ],
    ids=["by-quality", "concrete-before-wildcard-whatever-q", "subtype-wildcard-last", "malformed"],
)
def test_parse_accept_sorts_as_goautoneg(header: str, expected: list[tuple[str, str, float]]) -> None:
    assert [(clause.type, clause.subtype, clause.quality) for clause in parse_accept(header)] == expected
