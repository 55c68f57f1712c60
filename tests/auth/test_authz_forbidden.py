"""Forbidden responses worded as kube-apiserver words them, with their Status bodies."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from apiserver.auth.authz.forbidden import forbidden_error, forbidden_message, go_format_without_arguments
from apiserver.auth.authz.interface import Attributes


@dataclass(frozen=True)
class User:
    name: str
    groups: Sequence[str] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


KUBECTL = User("kubectl")


def resource_request(verb: str, resource: str, *, namespace: str = "", group: str = "", subresource: str = "",
                     name: str = "", user: User = KUBECTL) -> Attributes:
    return Attributes(user=user, verb=verb, is_resource_request=True, api_group=group, api_version="v1",
                      resource=resource, subresource=subresource, namespace=namespace, name=name)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (resource_request("list", "services", namespace="default"),
         'services is forbidden: User "kubectl" cannot list resource "services" in API group "" '
         'in the namespace "default"'),
        (resource_request("get", "pods", namespace="default", name="x"),
         'pods "x" is forbidden: User "kubectl" cannot get resource "pods" in API group "" in the namespace "default"'),
        (resource_request("list", "nodes"),
         'nodes is forbidden: User "kubectl" cannot list resource "nodes" in API group "" at the cluster scope'),
        (resource_request("get", "pods", namespace="ns", subresource="log", name="web"),
         'pods "web" is forbidden: User "kubectl" cannot get resource "pods/log" in API group "" '
         'in the namespace "ns"'),
        (resource_request("create", "deployments", namespace="ns", group="apps"),
         'deployments.apps is forbidden: User "kubectl" cannot create resource "deployments" in API group "apps" '
         'in the namespace "ns"'),
        (Attributes(user=User("x"), verb="get", path="/metrics"), 'forbidden: User "x" cannot get path "/metrics"'),
        (Attributes(user=User("system:anonymous"), verb="post", path="/api"),
         'forbidden: User "system:anonymous" cannot post path "/api"'),
    ],
    ids=["namespaced-list", "named", "cluster-scope", "subresource", "group", "non-resource", "anonymous-post"],
)
def test_forbidden_error_message(attributes: Attributes, message: str) -> None:
    assert forbidden_error(attributes, "").message == message


def test_reason_is_appended_after_a_colon() -> None:
    error = forbidden_error(resource_request("list", "pods", namespace="ns"), "Everything is forbidden.")
    assert error.message.endswith('in the namespace "ns": Everything is forbidden.')


def test_resource_status_body_names_group_kind_and_name() -> None:
    error = forbidden_error(resource_request("delete", "deployments", namespace="ns", group="apps", name="web"), "")
    assert error.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'deployments.apps "web" is forbidden: User "kubectl" cannot delete resource "deployments" '
                   'in API group "apps" in the namespace "ns"',
        "reason": "Forbidden",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 403,
    }


def test_non_resource_status_body_has_empty_details() -> None:
    error = forbidden_error(Attributes(user=User("system:anonymous"), verb="get", path="/metrics"), "")
    assert error.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'forbidden: User "system:anonymous" cannot get path "/metrics"',
        "reason": "Forbidden", "details": {}, "code": 403,
    }


def test_names_are_go_quoted_and_html_is_escaped() -> None:
    attributes = Attributes(user=User('ev"il<b>&'), verb="get", path="/x\ty")
    assert forbidden_message(attributes) == 'User "ev\\"il&lt;b&gt;&amp;" cannot get path "/x\\ty"'


def test_percent_signs_come_out_as_go_formatting_errors() -> None:
    attributes = Attributes(user=User("alice"), verb="get", path="/a%d/100%")
    assert forbidden_error(attributes, "").message == (
        'forbidden: User "alice" cannot get path "/a%!d(MISSING)/100%!"(MISSING)')


@pytest.mark.parametrize(
    ("text", "printed"),
    [("plain", "plain"), ("%%", "%"), ("%d", "%!d(MISSING)"), ("%-08.3f", "%!f(MISSING)"), ("end%", "end%!(NOVERB)"),
     ("%*d", "%!(BADWIDTH)%!d(MISSING)"), ("%.*s", "%!(BADPREC)%!s(MISSING)"), ("%[1]q", "%!q(BADINDEX)"),
     ("%[x]v", "%!v(BADINDEX)"), ("%é", "%!é(MISSING)"), ("%5%", "%")],
    ids=["plain", "percent", "verb", "flags-width-precision", "no-verb", "star-width", "star-precision",
         "index", "bad-index", "unicode-verb", "percent-with-width"],
)
def test_go_format_without_arguments(text: str, printed: str) -> None:
    assert go_format_without_arguments(text) == printed
