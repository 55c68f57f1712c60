"""Pod create refused as upstream v1.32 refuses it: affinity, topology spread, gates, DNS config, host aliases."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import PODS, invalid, pod
from tests.support.resource_app import ResourceApp, resource_app

NODE_REQUIRED = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
POD_REQUIRED = "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution"
ANTI_PREFERRED = "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"
IP_MESSAGE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
QUALIFIED = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def node_terms(*expressions: dict[str, Any]) -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": list(expressions)}]}}}}


def pod_term(**term: Any) -> dict[str, Any]:
    return {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def spread(*constraints: dict[str, Any]) -> dict[str, Any]:
    return {"topologySpreadConstraints": list(constraints)}


ZONE = {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}}}

CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("node-affinity-no-terms",
     {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}},
     [("FieldValueRequired", f"{NODE_REQUIRED}.nodeSelectorTerms",
       "Required value: must have at least one node selector term")]),
    ("node-affinity-operators",
     node_terms({"key": "a", "operator": "In"}, {"key": "b", "operator": "Exists", "values": ["x"]},
                {"key": "c", "operator": "Gt", "values": ["1", "2"]}, {"key": "d", "operator": "Near"}),
     [("FieldValueRequired", f"{NODE_REQUIRED}.nodeSelectorTerms[0].matchExpressions[0].values",
       "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
      ("FieldValueForbidden", f"{NODE_REQUIRED}.nodeSelectorTerms[0].matchExpressions[1].values",
       "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
      ("FieldValueRequired", f"{NODE_REQUIRED}.nodeSelectorTerms[0].matchExpressions[2].values",
       "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"),
      ("FieldValueInvalid", f"{NODE_REQUIRED}.nodeSelectorTerms[0].matchExpressions[3].operator",
       'Invalid value: "Near": not a valid selector operator')]),
    ("node-affinity-match-fields",
     {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
         {"matchFields": [{"key": "metadata.labels", "operator": "In", "values": ["a", "b"]}]}]}}}},
     [("FieldValueRequired", f"{NODE_REQUIRED}.nodeSelectorTerms[0].matchFields[0].values",
       "Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector"),
      ("FieldValueInvalid", f"{NODE_REQUIRED}.nodeSelectorTerms[0].matchFields[0].key",
       'Invalid value: "metadata.labels": not a valid field selector key')]),
    ("preferred-node-weight",
     {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
         {"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["!"]}]}}]}}},
     [("FieldValueInvalid", "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
       "Invalid value: 0: must be in the range 1-100")]),
    ("pod-affinity-topology-key-required", pod_term(labelSelector={"matchLabels": {"app": "web"}}),
     [("FieldValueRequired", f"{POD_REQUIRED}[0].topologyKey", "Required value: can not be empty"),
      ("FieldValueInvalid", f"{POD_REQUIRED}[0].topologyKey", 'Invalid value: "": name part must be non-empty'),
      ("FieldValueInvalid", f"{POD_REQUIRED}[0].topologyKey", f'Invalid value: "": {QUALIFIED}')]),
    ("pod-affinity-namespaces", pod_term(topologyKey="zone", namespaces=["Bad_NS"]),
     [("FieldValueInvalid", f"{POD_REQUIRED}[0].namespace",
       'Invalid value: "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '
       "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")]),
    ("pod-affinity-match-label-keys-without-selector", pod_term(topologyKey="zone", matchLabelKeys=["app"]),
     [("FieldValueForbidden", f"{POD_REQUIRED}[0].matchLabelKeys",
       "Forbidden: must not be specified when labelSelector is not set")]),
    ("pod-affinity-key-in-match-and-mismatch",
     pod_term(topologyKey="zone", labelSelector={}, matchLabelKeys=["tier"], mismatchLabelKeys=["tier"]),
     [("FieldValueInvalid", f"{POD_REQUIRED}[0].matchLabelKeys[0]",
       'Invalid value: "tier": exists in both matchLabelKeys and mismatchLabelKeys')]),
    ("pod-affinity-key-in-match-label-keys-and-selector",
     pod_term(topologyKey="zone", matchLabelKeys=["tier", "app"], labelSelector={
         "matchLabels": {"app": "web"}, "matchExpressions": [{"key": "app", "operator": "Exists"}]}),
     [("FieldValueInvalid", f"{POD_REQUIRED}[0][1]",
       'Invalid value: "app": exists in both matchLabelKeys and labelSelector')]),
    ("anti-affinity-weight-and-selector",
     {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
         {"weight": 101, "podAffinityTerm": {"topologyKey": "zone", "labelSelector": {
             "matchExpressions": [{"key": "app", "operator": "In"}]}}}]}}},
     [("FieldValueInvalid", f"{ANTI_PREFERRED}[0].weight", "Invalid value: 101: must be in the range 1-100"),
      ("FieldValueRequired", f"{ANTI_PREFERRED}[0].podAffinityTerm.labelSelector.matchExpressions[0].values",
       "Required value: must be specified when `operator` is 'In' or 'NotIn'")]),
    ("spread-basics", spread({"maxSkew": 0, "topologyKey": "", "whenUnsatisfiable": "Maybe"}),
     [("FieldValueInvalid", "spec.topologySpreadConstraints[0].maxSkew", "Invalid value: 0: must be greater than zero"),
      ("FieldValueRequired", "spec.topologySpreadConstraints[0].topologyKey", "Required value: can not be empty"),
      ("FieldValueNotSupported", "spec.topologySpreadConstraints[0].whenUnsatisfiable",
       'Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"')]),
    ("spread-duplicate-pair", spread(ZONE, ZONE),
     [("FieldValueDuplicate", "spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}",
       'Duplicate value: "{zone, DoNotSchedule}"')]),
    ("spread-min-domains", spread({**ZONE, "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 0}),
     [("FieldValueInvalid", "spec.topologySpreadConstraints[0].minDomains",
       "Invalid value: 0: must be greater than zero"),
      ("FieldValueInvalid", "spec.topologySpreadConstraints[0].minDomains",
       "Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway")]),
    ("spread-policies-and-keys",
     spread({**ZONE, "nodeAffinityPolicy": "Sometimes", "nodeTaintsPolicy": "Honor", "matchLabelKeys": ["app"]}),
     [("FieldValueNotSupported", "spec.topologySpreadConstraints[0].nodeAffinityPolicy",
       'Unsupported value: "Sometimes": supported values: "Honor", "Ignore"'),
      ("FieldValueInvalid", "spec.topologySpreadConstraints[0].matchLabelKeys[0]",
       'Invalid value: "app": exists in both matchLabelKeys and labelSelector')]),
    ("readiness-and-scheduling-gates",
     {"readinessGates": [{"conditionType": "bad type"}], "schedulingGates": [{"name": "a"}, {"name": "a"}]},
     [("FieldValueInvalid", "spec.readinessGates[0].conditionType", f'Invalid value: "bad type": {QUALIFIED}'),
      ("FieldValueDuplicate", "spec.schedulingGates[1]", 'Duplicate value: "a"')]),
    ("dns-config",
     {"dnsConfig": {"nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9", "nope"], "searches": ["Bad.example.", "ok."],
                    "options": [{"value": "2"}]}},
     [("FieldValueInvalid", "spec.dnsConfig.nameservers",
       'Invalid value: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "nope"}: must not have more than 3 nameservers'),
      ("FieldValueInvalid", "spec.dnsConfig.nameservers[3]", f'Invalid value: "nope": {IP_MESSAGE}'),
      ("FieldValueInvalid", "spec.dnsConfig.searches[0]",
       'Invalid value: "Bad.example": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
       "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
       "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
      ("FieldValueRequired", "spec.dnsConfig.options[0]", "Required value: must not be empty")]),
    ("dns-policy-none-needs-nameservers", {"dnsPolicy": "None", "dnsConfig": {"searches": ["a"]}},
     [("FieldValueRequired", "spec.dnsConfig.nameservers",
       "Required value: must provide at least one DNS nameserver when `dnsPolicy` is None")]),
    ("host-aliases", {"hostAliases": [{"ip": "300.1.1.1", "hostnames": ["ok", "Not_OK"]}]},
     [("FieldValueInvalid", "spec.hostAliases[0].ip", f'Invalid value: "300.1.1.1": {IP_MESSAGE}'),
      ("FieldValueInvalid", "spec.hostAliases[0].hostnames[1]",
       'Invalid value: "Not_OK": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
       "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
       "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_create_refused_with_upstream_causes(api: ResourceApp, spec: dict[str, Any],
                                                   causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", PODS, pod(**spec))
    assert (answer.status, answer.json()) == (422, invalid("p", causes))
    assert (await api.request("GET", f"{PODS}/p")).status == 404


async def test_valid_scheduling_constraints_are_created(api: ResourceApp) -> None:
    body = pod(
        affinity={
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                                      {"key": "cores", "operator": "Gt", "values": ["4"]}],
                 "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]}},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                    "labelSelector": {"matchLabels": {"app": "web"}}}}]}},
        topologySpreadConstraints=[ZONE, {**ZONE, "whenUnsatisfiable": "ScheduleAnyway"}],
        dnsPolicy="None", dnsConfig={"nameservers": ["10.0.0.10", "fd00::a"], "searches": ["svc.cluster.local."],
                                     "options": [{"name": "ndots", "value": "2"}]},
        hostAliases=[{"ip": "127.0.0.1", "hostnames": ["foo.local"]}],
        readinessGates=[{"conditionType": "example.com/ready"}])
    answer = await api.request("POST", PODS, body)
    assert answer.status == 201, answer.json()


async def test_match_label_keys_become_selector_expressions_on_create(api: ResourceApp) -> None:
    body = pod(affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "web"}},
         "matchLabelKeys": ["pod-template-hash", "absent"], "mismatchLabelKeys": ["tenant"]}]}})
    body["metadata"]["labels"] = {"app": "web", "pod-template-hash": "abc", "tenant": "t1"}
    answer = await api.request("POST", PODS, body)
    assert answer.status == 201, answer.json()
    term = answer.json()["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"] == {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "pod-template-hash", "operator": "In", "values": ["abc"]},
        {"key": "tenant", "operator": "NotIn", "values": ["t1"]}]}


async def test_match_label_key_already_in_the_selector_is_refused_after_the_merge(api: ResourceApp) -> None:
    body = pod(affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["app"]}]}})
    body["metadata"]["labels"] = {"app": "web"}
    answer = await api.request("POST", PODS, body)
    assert (answer.status, answer.json()) == (422, invalid("p", [
        ("FieldValueInvalid", "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0][0]",
         'Invalid value: "app": exists in both matchLabelKeys and labelSelector')]))


async def test_node_name_with_scheduling_gates_is_refused_on_create(api: ResourceApp) -> None:
    answer = await api.request("POST", PODS, pod(nodeName="node-1", schedulingGates=[{"name": "example.com/wait"}]))
    assert (answer.status, answer.json()) == (422, invalid("p", [
        ("FieldValueForbidden", "spec.nodeName",
         "Forbidden: cannot be set until all schedulingGates have been cleared")]))
