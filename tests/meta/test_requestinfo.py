"""parse_request_info against kube-apiserver's RequestInfoFactory (prefixes `api` groupless, `apis`)."""
from __future__ import annotations

import pytest

from apiserver.meta.requestinfo import RequestInfo, RequestInfoError, parse_request_info

Q = dict[str, list[str]]

RESOURCE_CASES = [
    # method, path, query, (verb, group, version, namespace, resource, subresource, name, parts)
    ("GET", "/api/v1/namespaces", {}, ("list", "", "v1", "", "namespaces", "", "", ("namespaces",))),
    ("GET", "/api/v1/namespaces/other", {},
     ("get", "", "v1", "other", "namespaces", "", "other", ("namespaces", "other"))),
    ("GET", "/api/v1/namespaces/other/pods", {}, ("list", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods/foo", {},
     ("get", "", "v1", "other", "pods", "", "foo", ("pods", "foo"))),
    ("HEAD", "/api/v1/namespaces/other/pods/foo", {},
     ("get", "", "v1", "other", "pods", "", "foo", ("pods", "foo"))),
    ("GET", "/api/v1/pods", {}, ("list", "", "v1", "", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods/foo/status", {},
     ("get", "", "v1", "other", "pods", "status", "foo", ("pods", "foo", "status"))),
    ("GET", "/api/v1/namespaces/other/pods/", {}, ("list", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods", {"watch": ["true"]},
     ("watch", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods", {"watch": ["1"]},
     ("watch", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods", {"watch": [""]},
     ("watch", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods", {"watch": ["false"]},
     ("list", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods", {"watch": ["FALSE"]},
     ("list", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/pods", {"watch": ["0", "1"]},
     ("list", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/watch/namespaces/other/pods", {},
     ("watch", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/watch/pods", {}, ("watch", "", "v1", "", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/watch/namespaces/other/pods/foo", {},
     ("watch", "", "v1", "other", "pods", "", "foo", ("pods", "foo"))),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo/bar/baz", {},
     ("proxy", "", "v1", "other", "pods", "", "foo", ("pods", "foo", "bar", "baz"))),
    ("POST", "/api/v1/namespaces/other/pods", {}, ("create", "", "v1", "other", "pods", "", "", ("pods",))),
    ("PUT", "/api/v1/namespaces/other/pods/foo", {},
     ("update", "", "v1", "other", "pods", "", "foo", ("pods", "foo"))),
    ("PATCH", "/api/v1/namespaces/other/pods/foo", {},
     ("patch", "", "v1", "other", "pods", "", "foo", ("pods", "foo"))),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", {},
     ("delete", "", "v1", "other", "pods", "", "foo", ("pods", "foo"))),
    ("DELETE", "/api/v1/namespaces/other/pods", {},
     ("deletecollection", "", "v1", "other", "pods", "", "", ("pods",))),
    ("OPTIONS", "/api/v1/namespaces/other/pods", {}, ("", "", "v1", "other", "pods", "", "", ("pods",))),
    ("GET", "/api/v1/namespaces/other/status", {},
     ("get", "", "v1", "other", "namespaces", "status", "other", ("namespaces", "other", "status"))),
    ("PUT", "/api/v1/namespaces/other/finalize", {},
     ("update", "", "v1", "other", "namespaces", "finalize", "other", ("namespaces", "other", "finalize"))),
    ("GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale", {},
     ("get", "apps", "v1", "ns", "deployments", "scale", "web", ("deployments", "web", "scale"))),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {},
     ("create", "authorization.k8s.io", "v1", "", "selfsubjectaccessreviews", "", "",
      ("selfsubjectaccessreviews",))),
    ("GET", "/apis/apps/v1/watch/namespaces/ns/deployments", {},
     ("watch", "apps", "v1", "ns", "deployments", "", "", ("deployments",))),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    RESOURCE_CASES,
    ids=[f"{method} {path} {query or ''}".strip() for method, path, query, _ in RESOURCE_CASES],
)
def test_resource_request(method: str, path: str, query: Q, expected: tuple[object, ...]) -> None:
    info = parse_request_info(method, path, query)
    assert info.is_resource_request
    assert info.path == path
    assert info.api_prefix == ("api" if path.startswith("/api/") else "apis")
    assert (info.verb, info.api_group, info.api_version, info.namespace, info.resource, info.subresource,
            info.name, info.parts) == expected


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("GET", "/", "get"),
        ("GET", "/api", "get"),
        ("GET", "/api/v1", "get"),
        ("GET", "/apis", "get"),
        ("GET", "/apis/apps", "get"),
        ("GET", "/apis/apps/v1", "get"),
        ("GET", "/healthz", "get"),
        ("GET", "/livez/poststarthook/start-apiserver-admission-initializer", "get"),
        ("POST", "/foo/bar/baz", "post"),
        ("GET", "/openapi/v3/apis/apps/v1", "get"),
        ("HEAD", "/version", "head"),
    ],
)
def test_non_resource_request_uses_the_lower_case_method(method: str, path: str, verb: str) -> None:
    assert parse_request_info(method, path, {}) == RequestInfo(path=path, verb=verb)


@pytest.mark.parametrize(
    ("method", "query", "verb", "name", "field_selector", "label_selector"),
    [
        ("GET", {"fieldSelector": ["metadata.name=foo"]}, "list", "foo", "metadata.name=foo", ""),
        ("GET", {"fieldSelector": ["metadata.name==foo"], "watch": ["true"]}, "watch", "foo", "metadata.name==foo", ""),
        ("GET", {"fieldSelector": ["spec.nodeName=n,metadata.name=foo"]}, "list", "foo",
         "spec.nodeName=n,metadata.name=foo", ""),
        ("GET", {"fieldSelector": ["metadata.name=b,metadata.name=a"]}, "list", "a", "metadata.name=b,metadata.name=a",
         ""),
        ("GET", {"fieldSelector": ["metadata.name!=foo"]}, "list", "", "metadata.name!=foo", ""),
        ("GET", {"fieldSelector": ["metadata.name=a\\,b"]}, "list", "a,b", "metadata.name=a\\,b", ""),
        ("GET", {"fieldSelector": ["metadata.name=.."]}, "list", "", "metadata.name=..", ""),
        ("GET", {"fieldSelector": ["metadata.name=a%b"]}, "list", "", "metadata.name=a%b", ""),
        ("GET", {"fieldSelector": ["metadata.name"]}, "list", "", "metadata.name", ""),
        ("GET", {"fieldSelector": ["metadata.name=a=b"]}, "list", "", "metadata.name=a=b", ""),
        ("GET", {"fieldSelector": ["metadata.name=foo"], "limit": ["abc"]}, "list", "", "metadata.name=foo", ""),
        ("GET", {"fieldSelector": ["metadata.name=foo"], "limit": ["500"], "timeoutSeconds": ["-3"]}, "list", "foo",
         "metadata.name=foo", ""),
        ("GET", {"labelSelector": ["app=web", "ignored"]}, "list", "", "", "app=web"),
        ("DELETE", {"labelSelector": ["app=web"], "fieldSelector": ["metadata.name=foo"]}, "deletecollection", "",
         "metadata.name=foo", "app=web"),
        ("POST", {"labelSelector": ["app=web"]}, "create", "", "", ""),
    ],
    ids=["list-by-name", "watch-by-name-double-equals", "name-among-terms", "terms-sorted-first-wins",
         "not-equal-names-nothing", "escaped-comma", "dot-dot-invalid-segment", "percent-invalid-segment",
         "unparseable-selector", "unescaped-equals-in-value", "undecodable-limit", "decodable-integers",
         "first-label-selector", "deletecollection-keeps-selectors", "create-drops-selectors"],
)
def test_selectors_and_name_from_field_selector(
    method: str, query: Q, verb: str, name: str, field_selector: str, label_selector: str
) -> None:
    info = parse_request_info(method, "/api/v1/namespaces/default/pods", query)
    assert (info.verb, info.name, info.field_selector, info.label_selector) == (
        verb, name, field_selector, label_selector
    )


def test_verb_in_path_keeps_no_selectors_and_takes_no_name_from_them() -> None:
    info = parse_request_info("GET", "/api/v1/watch/namespaces/default/pods", {"fieldSelector": ["metadata.name=x"]})
    assert (info.verb, info.name, info.field_selector) == ("watch", "", "")


def test_get_with_a_name_keeps_no_selectors() -> None:
    info = parse_request_info("GET", "/api/v1/namespaces/default/pods/p", {"labelSelector": ["a=b"]})
    assert (info.verb, info.label_selector) == ("get", "")


@pytest.mark.parametrize("path", ["/api/v1/watch", "/api/v1/proxy/", "/apis/apps/v1/watch"])
def test_special_verb_without_anything_after_it_fails(path: str) -> None:
    with pytest.raises(RequestInfoError) as raised:
        parse_request_info("GET", path, {})
    assert str(raised.value) == "unable to determine kind and namespace from url"
    assert raised.value.info.is_resource_request
    assert raised.value.info.api_version == "v1"


@pytest.mark.parametrize(
    ("method", "path", "query", "long_running", "mutating"),
    [
        ("GET", "/api/v1/pods", {"watch": ["1"]}, True, False),
        ("GET", "/api/v1/watch/pods", {}, True, False),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", {}, True, False),
        ("POST", "/api/v1/namespaces/ns/pods/p/exec", {}, True, True),
        ("GET", "/api/v1/namespaces/ns/pods/p/portforward", {}, True, False),
        ("GET", "/api/v1/proxy/namespaces/ns/pods/p", {}, True, True),
        ("GET", "/api/v1/pods", {}, False, False),
        ("GET", "/api/v1/namespaces/ns/pods/p", {}, False, False),
        ("PATCH", "/api/v1/namespaces/ns/pods/p", {}, False, True),
        ("DELETE", "/api/v1/namespaces/ns/pods", {}, False, True),
        ("GET", "/debug/pprof/profile", {}, True, False),
        ("GET", "/healthz/log", {}, False, False),
        ("POST", "/foo", {}, False, True),
    ],
)
def test_long_running_and_mutating(method: str, path: str, query: Q, long_running: bool, mutating: bool) -> None:
    info = parse_request_info(method, path, query)
    assert (info.is_long_running, info.is_mutating) == (long_running, mutating)
