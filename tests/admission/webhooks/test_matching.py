"""Which webhooks a request calls: selectors, rules, matchConditions, matchPolicy Equivalent."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.admission.plugins.rule_matching import rule_matches
from apiserver.admission.plugins.webhooks_matching import invocation_for
from apiserver.admission.plugins.webhooks_request import build_review, versioned_object
from apiserver.admission.plugins.webhooks_source import Webhook
from apiserver.meta.selectors import LabelSelector
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from tests.admission.fakes import FakeContext
from tests.admission.webhooks.conftest import CONFIGMAPS, VALIDATING, config_map, configure, webhook
from tests.support.resource_app import ResourceApp
from tests.support.webhook_server import WebhookServer, deny


async def test_an_object_selector_matches_new_or_old_labels(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("labelled")
    await configure(app, VALIDATING, "objects", webhook(hooks, "objects.example.com", "/deny",
                                                       objectSelector={"matchLabels": {"guard": "on"}}))
    assert (await app.request("POST", CONFIGMAPS, config_map("plain"))).status == 201
    refused = await app.request("POST", CONFIGMAPS, config_map("guarded", {"guard": "on"}))
    assert refused.status == 400
    update = (await app.request("GET", f"{CONFIGMAPS}/plain")).json()
    update["metadata"]["labels"] = {"guard": "on"}
    assert (await app.request("PUT", f"{CONFIGMAPS}/plain", update)).status == 400


async def test_a_namespace_selector_matches_namespace_labels(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("guarded namespace")
    for name, labels in (("guarded", {"guard": "on"}), ("open", {})):
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        assert (await app.request("POST", "/api/v1/namespaces", namespace)).status == 201
    await app.registry.wait_caught_up(5)
    await configure(app, VALIDATING, "namespaces", webhook(hooks, "namespaces.example.com", "/deny",
                                                          namespaceSelector={"matchLabels": {"guard": "on"}}))
    opened = await app.request("POST", "/api/v1/namespaces/open/configmaps", config_map("a", namespace="open"))
    assert opened.status == 201
    guarded = await app.request("POST", "/api/v1/namespaces/guarded/configmaps",
                                config_map("a", namespace="guarded"))
    assert guarded.json()["message"] == ('admission webhook "namespaces.example.com" denied the request: guarded '
                                         "namespace")


async def test_a_namespace_matches_on_its_own_labels(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("no guarded namespaces")
    await configure(app, VALIDATING, "namespaces", webhook(
        hooks, "namespaces.example.com", "/deny", namespaceSelector={"matchLabels": {"guard": "on"}},
        rules=[{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["namespaces"]}]))
    guarded = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "g", "labels": {"guard": "on"}}}
    assert (await app.request("POST", "/api/v1/namespaces", guarded)).status == 400
    plain = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "p"}}
    assert (await app.request("POST", "/api/v1/namespaces", plain)).status == 201


@pytest.mark.parametrize(
    ("conditions", "failure_policy", "called", "status"),
    [
        ([{"name": "named-x", "expression": "object.metadata.name == 'x'"}], "Fail", False, 201),
        ([{"name": "create", "expression": "request.operation == 'CREATE'"}], "Fail", True, 400),
        ([{"name": "missing", "expression": "object.spec.bogus == 'x'"}], "Ignore", False, 201),
        ([{"name": "missing", "expression": "object.spec.bogus == 'x'"},
          {"name": "false", "expression": "false"}], "Fail", False, 201),
    ],
    ids=["false-skips", "true-calls", "error-ignored", "false-wins-over-error"],
)
async def test_match_conditions(app: ResourceApp, hooks: WebhookServer, conditions: list[dict[str, str]],
                                failure_policy: str, called: bool, status: int) -> None:
    hooks.routes["/deny"] = deny("matched")
    await configure(app, VALIDATING, "conditions", webhook(hooks, "conditions.example.com", "/deny",
                                                          matchConditions=conditions, failurePolicy=failure_policy))
    before = len(hooks.recorded("/deny"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.status == status
    assert (len(hooks.recorded("/deny")) > before) is called


async def test_a_match_condition_error_fails_closed(app: ResourceApp, hooks: WebhookServer) -> None:
    await configure(app, VALIDATING, "conditions", webhook(hooks, "conditions.example.com", "/deny", matchConditions=[
        {"name": "missing", "expression": "object.spec.bogus == 'x'"}]))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert (answer.status, answer.json()["reason"]) == (403, "Forbidden")
    assert answer.json()["message"] == ('configmaps "one" is forbidden: expression \'object.spec.bogus == \'x\'\' '
                                        "resulted in error: no such key: spec")


def _hook(rules: list[dict[str, Any]], match_policy: str = "Equivalent") -> Webhook:
    spec = {"name": "h.example.com", "rules": rules, "matchPolicy": match_policy}
    return Webhook("c/h.example.com/0", "c", spec, LabelSelector(), LabelSelector())


EVENTS_V1_RULE = {"operations": ["CREATE"], "apiGroups": ["events.k8s.io"], "apiVersions": ["v1"],
                  "resources": ["events"]}


class _Context(FakeContext):
    def current_catalog(self) -> ResourceCatalog:
        return ResourceCatalog(builtin_specs())


def _core_event() -> AdmissionAttributes:
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Started", "message": "hello"}
    return AdmissionAttributes(Operation.CREATE, "", "v1", "events", "Event", namespace="default", name="e",
                               object=event)


@pytest.mark.parametrize(("match_policy", "matched"), [("Equivalent", True), ("Exact", False)])
async def test_match_policy_equivalent_matches_another_version(match_policy: str, matched: bool) -> None:
    context = _Context()
    attributes = _core_event()
    invocation = await invocation_for(_hook([EVENTS_V1_RULE], match_policy), attributes, context,
                                      context.current_catalog())
    assert (invocation is not None) is matched
    if invocation is not None:
        assert (invocation.group, invocation.version, invocation.resource, invocation.kind) == (
            "events.k8s.io", "v1", "events", "Event")
        converted = versioned_object(attributes.object, invocation, attributes)
        assert converted is not None
        assert (converted["apiVersion"], converted["note"], converted["regarding"]) == (
            "events.k8s.io/v1", "hello", {"kind": "Pod", "name": "p"})
        _, review = build_review(invocation, attributes, "v1", obj=converted, old=None)
        assert review["request"]["resource"] == {"group": "events.k8s.io", "version": "v1", "resource": "events"}
        assert review["request"]["requestResource"] == {"group": "", "version": "v1", "resource": "events"}


@pytest.mark.parametrize(
    ("rule", "subresource", "namespace", "matches"),
    [
        ({"resources": ["pods"]}, "", "default", True),
        ({"resources": ["pods"]}, "status", "default", False),
        ({"resources": ["pods/status"]}, "status", "default", True),
        ({"resources": ["*/status"]}, "status", "default", True),
        ({"resources": ["pods/*"]}, "", "default", True),
        ({"resources": ["*"]}, "status", "default", False),
        ({"resources": ["*/*"]}, "status", "default", True),
        ({"resources": ["pods"], "scope": "Cluster"}, "", "default", False),
        ({"resources": ["pods"], "scope": "Namespaced"}, "", "default", True),
        ({"resources": ["pods"], "operations": ["UPDATE"]}, "", "default", False),
    ],
    ids=["plain", "plain-vs-status", "status", "any-status", "pods-any-sub", "star-vs-status", "star-star",
         "cluster-scope", "namespaced-scope", "other-operation"],
)
def test_rule_matching(rule: dict[str, Any], subresource: str, namespace: str, matches: bool) -> None:
    full = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], **rule}
    attributes = AdmissionAttributes(Operation.CREATE, "", "v1", "pods", "Pod", namespace=namespace,
                                     subresource=subresource)
    assert rule_matches(full, attributes, "", "v1", "pods") is matches


@pytest.mark.parametrize(("scope", "matches"), [("Cluster", True), ("Namespaced", False), ("*", True), (None, True)],
                         ids=["cluster", "namespaced", "any", "unset"])
def test_a_namespace_is_cluster_scoped_even_though_it_names_itself(scope: str | None, matches: bool) -> None:
    rule = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["namespaces"],
            "scope": scope}
    attributes = AdmissionAttributes(Operation.CREATE, "", "v1", "namespaces", "Namespace", namespace="team",
                                     name="team")
    assert rule_matches(rule, attributes, "", "v1", "namespaces") is matches


async def test_a_match_condition_may_ask_the_authorizer(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("authorized")
    expression = "authorizer.group('').resource('configmaps').namespace('default').check('create').allowed()"
    await configure(app, VALIDATING, "authz", webhook(hooks, "authz.example.com", "/deny", matchConditions=[
        {"name": "allowed", "expression": expression}]))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.json()["message"] == 'admission webhook "authz.example.com" denied the request: authorized'
