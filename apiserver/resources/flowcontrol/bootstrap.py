"""The API Priority and Fairness configuration a cluster starts with: upstream's mandatory and suggested objects.

Names, specs and the `apf.kubernetes.io/autoupdate-spec: "true"` annotation follow kube-apiserver v1.32
(k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap). The mandatory objects (`exempt` and `catch-all`, each a
FlowSchema and a PriorityLevelConfiguration) are what the filter falls back to while nothing is stored;
`ensure_configuration` creates every object that is missing and puts back the spec of an object whose
annotation is "true", the way upstream's configuration producer keeps them.
"""
from __future__ import annotations

import copy
from typing import Any

JSONDict = dict[str, Any]
GROUP = "flowcontrol.apiserver.k8s.io"
API_VERSION = f"{GROUP}/v1"
AUTOUPDATE_ANNOTATION = "apf.kubernetes.io/autoupdate-spec"

ALL = ["*"]
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
NODES = "system:nodes"
SERVICE_ACCOUNTS = "system:serviceaccounts"
KUBE_CONTROLLER_MANAGER = "system:kube-controller-manager"
KUBE_SCHEDULER = "system:kube-scheduler"
LEADER_ELECTION_VERBS = ["get", "create", "update"]


def _meta(name: str) -> JSONDict:
    return {"name": name, "annotations": {AUTOUPDATE_ANNOTATION: "true"}}


def _limited(name: str, shares: int, lendable: int, queues: int = 0, hand_size: int = 0) -> JSONDict:
    response: JSONDict = {"type": "Reject"}
    if queues:
        response = {"type": "Queue", "queuing": {"queues": queues, "handSize": hand_size, "queueLengthLimit": 50}}
    return {"apiVersion": API_VERSION, "kind": "PriorityLevelConfiguration", "metadata": _meta(name),
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": shares, "lendablePercent": lendable,
                                                     "limitResponse": response}}}


def _groups(*names: str) -> list[JSONDict]:
    return [{"kind": "Group", "group": {"name": name}} for name in names]


def _users(*names: str) -> list[JSONDict]:
    return [{"kind": "User", "user": {"name": name}} for name in names]


def _kube_system_accounts(*names: str) -> list[JSONDict]:
    return [{"kind": "ServiceAccount", "serviceAccount": {"name": name, "namespace": "kube-system"}}
            for name in names]


def _resource_rule(verbs: list[str], groups: list[str], resources: list[str], namespaces: list[str],
                   cluster_scope: bool) -> JSONDict:
    rule: JSONDict = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if cluster_scope:
        rule["clusterScope"] = True
    rule["namespaces"] = namespaces
    return rule


EVERYTHING = {"resourceRules": [_resource_rule(ALL, ALL, ALL, ALL, True)],
              "nonResourceRules": [{"verbs": ALL, "nonResourceURLs": ALL}]}


def _schema(name: str, level: str, precedence: int, distinguisher: str, subjects: list[JSONDict],
            rules: JSONDict | None = None) -> JSONDict:
    spec: JSONDict = {"priorityLevelConfiguration": {"name": level}, "matchingPrecedence": precedence}
    if distinguisher:
        spec["distinguisherMethod"] = {"type": distinguisher}
    spec["rules"] = [{"subjects": subjects, **copy.deepcopy(rules if rules is not None else EVERYTHING)}]
    return {"apiVersion": API_VERSION, "kind": "FlowSchema", "metadata": _meta(name), "spec": spec}


MANDATORY_PRIORITY_LEVELS: tuple[JSONDict, ...] = (
    _limited("catch-all", 5, 0),
    {"apiVersion": API_VERSION, "kind": "PriorityLevelConfiguration", "metadata": _meta("exempt"),
     "spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}}},
)
MANDATORY_FLOW_SCHEMAS: tuple[JSONDict, ...] = (
    _schema("exempt", "exempt", 1, "", _groups(MASTERS)),
    _schema("catch-all", "catch-all", 10000, "ByUser", _groups(UNAUTHENTICATED, AUTHENTICATED)),
)

SUGGESTED_PRIORITY_LEVELS: tuple[JSONDict, ...] = (
    _limited("system", 30, 33, 64, 6),
    _limited("node-high", 40, 25, 64, 6),
    _limited("leader-election", 10, 0, 16, 4),
    _limited("workload-high", 40, 50, 128, 6),
    _limited("workload-low", 100, 90, 128, 6),
    _limited("global-default", 20, 50, 128, 6),
)


def _leader_election_rules(config_namespaces: list[str]) -> JSONDict:
    return {"resourceRules": [
        _resource_rule(LEADER_ELECTION_VERBS, [""], ["endpoints", "configmaps"], config_namespaces, False),
        _resource_rule(LEADER_ELECTION_VERBS, ["coordination.k8s.io"], ["leases"], ALL, False),
    ]}


SUGGESTED_FLOW_SCHEMAS: tuple[JSONDict, ...] = (
    _schema("system-nodes", "system", 500, "ByUser", _groups(NODES)),
    _schema("system-node-high", "node-high", 400, "ByUser", _groups(NODES), {"resourceRules": [
        _resource_rule(ALL, [""], ["nodes", "nodes/status"], ALL, True),
        _resource_rule(ALL, ["coordination.k8s.io"], ["leases"], ALL, False),
    ]}),
    _schema("probes", "exempt", 2, "", _groups(UNAUTHENTICATED, AUTHENTICATED), {"nonResourceRules": [
        {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/readyz", "/livez"]},
    ]}),
    _schema("system-leader-election", "leader-election", 100, "ByUser",
            [*_users(KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER), *_kube_system_accounts("*")],
            _leader_election_rules(["kube-system"])),
    _schema("workload-leader-election", "leader-election", 200, "ByUser", _kube_system_accounts("*"),
            _leader_election_rules(ALL)),
    _schema("endpoint-controller", "workload-high", 150, "ByUser",
            [*_users(KUBE_CONTROLLER_MANAGER),
             *_kube_system_accounts("endpoint-controller", "endpointslicemirroring-controller")],
            {"resourceRules": [_resource_rule(LEADER_ELECTION_VERBS, [""], ["endpoints"], ALL, False)]}),
    _schema("kube-controller-manager", "workload-high", 800, "ByNamespace", _users(KUBE_CONTROLLER_MANAGER)),
    _schema("kube-scheduler", "workload-high", 800, "ByNamespace", _users(KUBE_SCHEDULER)),
    _schema("kube-system-service-accounts", "workload-high", 900, "ByNamespace", _kube_system_accounts("*")),
    _schema("service-accounts", "workload-low", 9000, "ByUser", _groups(SERVICE_ACCOUNTS)),
    _schema("global-default", "global-default", 9900, "ByUser", _groups(UNAUTHENTICATED, AUTHENTICATED)),
)

PRIORITY_LEVELS = (*MANDATORY_PRIORITY_LEVELS, *SUGGESTED_PRIORITY_LEVELS)
FLOW_SCHEMAS = (*MANDATORY_FLOW_SCHEMAS, *SUGGESTED_FLOW_SCHEMAS)


def wants_spec_update(stored: JSONDict, wanted: JSONDict) -> bool:
    """Whether the producer puts `wanted`'s spec back: the stored object says autoupdate "true" and differs."""
    annotations = stored.get("metadata", {}).get("annotations") or {}
    return annotations.get(AUTOUPDATE_ANNOTATION) == "true" and stored.get("spec") != wanted["spec"]
