"""API Priority and Fairness classification with upstream's bootstrap configuration, and the level limits."""
from __future__ import annotations

import pytest

from apiserver.auth.user import UserInfo
from apiserver.filters.flowcontrol_config import compile_config
from apiserver.filters.flowcontrol_queues import deal_hand
from apiserver.meta.requestinfo import parse_request_info
from apiserver.resources.flowcontrol.bootstrap import (
    FLOW_SCHEMAS,
    MANDATORY_FLOW_SCHEMAS,
    MANDATORY_PRIORITY_LEVELS,
    PRIORITY_LEVELS,
)

CONFIG = compile_config(FLOW_SCHEMAS, PRIORITY_LEVELS, 600)
AUTHENTICATED = ("system:authenticated",)
ANONYMOUS = UserInfo("system:anonymous", groups=("system:unauthenticated",))
ADMIN = UserInfo("kubernetes-admin", groups=("system:masters", *AUTHENTICATED))
KCM = UserInfo("system:kube-controller-manager", groups=AUTHENTICATED)
SCHEDULER = UserInfo("system:kube-scheduler", groups=AUTHENTICATED)
KUBE_SYSTEM_SA = UserInfo("system:serviceaccount:kube-system:bench",
                          groups=("system:serviceaccounts", "system:serviceaccounts:kube-system", *AUTHENTICATED))
ENDPOINT_CONTROLLER = UserInfo("system:serviceaccount:kube-system:endpoint-controller",
                               groups=("system:serviceaccounts", "system:serviceaccounts:kube-system", *AUTHENTICATED))
APP_SA = UserInfo("system:serviceaccount:overload:bench",
                  groups=("system:serviceaccounts", "system:serviceaccounts:overload", *AUTHENTICATED))
NODE = UserInfo("system:node:n1", groups=("system:nodes", *AUTHENTICATED))
ALICE = UserInfo("alice", groups=AUTHENTICATED)
LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"


@pytest.mark.parametrize(
    ("user", "method", "path", "schema", "level", "flow"),
    [
        (ANONYMOUS, "GET", "/readyz", "probes", "exempt", ""),
        (ALICE, "GET", "/livez", "probes", "exempt", ""),
        (ANONYMOUS, "GET", "/healthz", "probes", "exempt", ""),
        (ANONYMOUS, "GET", "/readyz/etcd", "global-default", "global-default", "system:anonymous"),
        (ADMIN, "POST", "/api/v1/namespaces/x/configmaps", "exempt", "exempt", ""),
        (ADMIN, "GET", "/metrics", "exempt", "exempt", ""),
        (KCM, "PUT", LEASE, "system-leader-election", "leader-election", "system:kube-controller-manager"),
        (SCHEDULER, "GET", LEASE, "system-leader-election", "leader-election", "system:kube-scheduler"),
        (KUBE_SYSTEM_SA, "PUT", LEASE, "system-leader-election", "leader-election", KUBE_SYSTEM_SA.name),
        (KUBE_SYSTEM_SA, "PUT", "/apis/coordination.k8s.io/v1/namespaces/apps/leases/l", "system-leader-election",
         "leader-election", KUBE_SYSTEM_SA.name),
        (KUBE_SYSTEM_SA, "PUT", "/api/v1/namespaces/apps/configmaps/lock", "workload-leader-election",
         "leader-election", KUBE_SYSTEM_SA.name),
        (KUBE_SYSTEM_SA, "POST", "/api/v1/namespaces/apps/configmaps", "workload-leader-election",
         "leader-election", KUBE_SYSTEM_SA.name),
        (KCM, "PATCH", LEASE, "kube-controller-manager", "workload-high", "kube-system"),
        (KCM, "PUT", "/api/v1/namespaces/apps/endpoints/web", "endpoint-controller", "workload-high", KCM.name),
        (ENDPOINT_CONTROLLER, "PUT", "/api/v1/namespaces/apps/endpoints/web", "endpoint-controller", "workload-high",
         ENDPOINT_CONTROLLER.name),
        (KCM, "DELETE", "/api/v1/namespaces/apps/pods/p", "kube-controller-manager", "workload-high", "apps"),
        (KCM, "GET", "/api/v1/nodes", "kube-controller-manager", "workload-high", ""),
        (KUBE_SYSTEM_SA, "DELETE", "/api/v1/namespaces/apps/pods/p", "kube-system-service-accounts",
         "workload-high", "apps"),
        (APP_SA, "POST", "/api/v1/namespaces/overload/configmaps", "service-accounts", "workload-low", APP_SA.name),
        (APP_SA, "PUT", LEASE, "service-accounts", "workload-low", APP_SA.name),
        (NODE, "PUT", "/api/v1/nodes/n1/status", "system-node-high", "node-high", NODE.name),
        (NODE, "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1", "system-node-high",
         "node-high", NODE.name),
        (NODE, "GET", "/api/v1/namespaces/apps/pods", "system-nodes", "system", NODE.name),
        (ALICE, "GET", "/api/v1/namespaces/apps/pods", "global-default", "global-default", "alice"),
        (ANONYMOUS, "GET", "/version", "global-default", "global-default", "system:anonymous"),
    ],
    ids=["readyz-anonymous", "livez-authenticated", "healthz", "readyz-subpath", "masters", "masters-nonresource",
         "kcm-lease-update", "scheduler-lease-get", "kube-system-sa-lease", "kube-system-sa-lease-elsewhere",
         "kube-system-sa-configmap-lock", "kube-system-sa-configmap-create", "kcm-lease-patch",
         "kcm-endpoints", "endpoint-controller-sa", "kcm-other", "kcm-cluster-scoped", "kube-system-sa-other",
         "service-account", "service-account-lease", "node-status", "node-lease", "node-other", "user",
         "anonymous-other"],
)
def test_bootstrap_configuration_classifies_like_upstream(
        user: UserInfo, method: str, path: str, schema: str, level: str, flow: str) -> None:
    info = parse_request_info(method, path, {})
    classification = CONFIG.classify(user, info)
    assert (classification.schema.name, classification.level.name, classification.flow) == (schema, level, flow)


def test_limits_are_shares_of_the_server_limit_rounded_up() -> None:
    limits = {name: level.concurrency_limit for name, level in CONFIG.levels.items() if not level.exempt}
    # 600 seats over 245 shares: ceil(600 x shares / 245), upstream's nominal concurrency limits.
    assert limits == {"catch-all": 13, "system": 74, "node-high": 98, "leader-election": 25, "workload-high": 98,
                      "workload-low": 245, "global-default": 49}
    assert CONFIG.levels["leader-election"].queues == 16 and CONFIG.levels["leader-election"].hand_size == 4
    assert CONFIG.levels["catch-all"].queues == 0  # Reject


def test_without_stored_objects_the_mandatory_configuration_applies() -> None:
    config = compile_config((), (), 600)
    assert [schema.name for schema in config.schemas] == ["exempt", "catch-all"]
    assert config.classify(ANONYMOUS, parse_request_info("GET", "/readyz", {})).level.name == "catch-all"
    assert config.classify(ADMIN, parse_request_info("GET", "/readyz", {})).level.exempt
    assert config.levels["catch-all"].concurrency_limit == 600  # the only limited level holds every share


def test_a_schema_naming_a_missing_level_is_skipped() -> None:
    dangling = {"metadata": {"name": "dangling", "uid": "u1"},
                "spec": {"priorityLevelConfiguration": {"name": "nowhere"}, "matchingPrecedence": 1,
                         "rules": [{"subjects": [{"kind": "Group", "group": {"name": "*"}}],
                                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}}
    config = compile_config([dangling, *MANDATORY_FLOW_SCHEMAS], MANDATORY_PRIORITY_LEVELS, 600)
    assert config.classify(ALICE, parse_request_info("GET", "/version", {})).schema.name == "catch-all"


def test_equal_precedence_is_ordered_by_name() -> None:
    def schema(name: str) -> dict[str, object]:
        return {"metadata": {"name": name, "uid": name},
                "spec": {"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 5,
                         "rules": [{"subjects": [{"kind": "User", "user": {"name": "alice"}}],
                                    "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/version*"]}]}]}}

    config = compile_config([schema("b"), schema("a"), *MANDATORY_FLOW_SCHEMAS], MANDATORY_PRIORITY_LEVELS, 600)
    assert config.classify(ALICE, parse_request_info("GET", "/versions/x", {})).schema.name == "a"


@pytest.mark.parametrize("flow_hash", [0, 1, 12345, 2**63 - 1, 2**64 - 1])
def test_a_hand_holds_distinct_queues_in_range(flow_hash: int) -> None:
    hand = deal_hand(flow_hash, 128, 6)
    assert len(set(hand)) == 6 and all(0 <= card < 128 for card in hand)


def test_a_full_hand_is_every_queue() -> None:
    assert sorted(deal_hand(987654321, 8, 8)) == list(range(8))
