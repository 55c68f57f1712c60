"""Builders for the bootstrap RBAC objects: rules, roles, bindings and subjects as plain dicts.

Like upstream's rbacv1helpers builders, every rule's lists come out sorted, and every object carries the
`kubernetes.io/bootstrapping: rbac-defaults` label and the `rbac.authorization.kubernetes.io/autoupdate: "true"`
annotation that reconciliation respects. Key order follows the Go structs' JSON field order.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from apiserver.auth.authz.interface import RBAC_GROUP
from apiserver.meta.objects import JSONDict

API_VERSION = f"{RBAC_GROUP}/v1"
AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAPPING_LABEL = "kubernetes.io/bootstrapping"
BOOTSTRAPPING_VALUE = "rbac-defaults"

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = (*READ, *WRITE)
READ_UPDATE = ("get", "list", "watch", "update", "patch")

LEGACY = ""
APPS = "apps"
AUTHENTICATION = "authentication.k8s.io"
AUTHORIZATION = "authorization.k8s.io"
AUTOSCALING = "autoscaling"
BATCH = "batch"
CERTIFICATES = "certificates.k8s.io"
COORDINATION = "coordination.k8s.io"
DISCOVERY = "discovery.k8s.io"
EVENTS = "events.k8s.io"
EXTENSIONS = "extensions"
NETWORKING = "networking.k8s.io"
NODE = "node.k8s.io"
POLICY = "policy"
STORAGE = "storage.k8s.io"
RBAC = RBAC_GROUP
ADMISSIONREGISTRATION = "admissionregistration.k8s.io"


def rule(
    *verbs: str, groups: Iterable[str] = (), resources: Iterable[str] = (), names: Iterable[str] = (),
    urls: Iterable[str] = (),
) -> JSONDict:
    """One PolicyRule with sorted lists, empty ones omitted."""
    policy_rule: JSONDict = {"verbs": sorted(verbs)}
    for key, values in (("apiGroups", groups), ("resources", resources), ("resourceNames", names),
                        ("nonResourceURLs", urls)):
        if sorted_values := sorted(values):
            policy_rule[key] = sorted_values
    return policy_rule


def events_rule() -> JSONDict:
    """Recording events through either events API (upstream's eventsRule)."""
    return rule("create", "update", "patch", groups=(LEGACY, EVENTS), resources=("events",))


def bootstrap_metadata(name: str, *, namespace: str = "", labels: Mapping[str, str] | None = None) -> JSONDict:
    metadata: JSONDict = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {**(labels or {}), BOOTSTRAPPING_LABEL: BOOTSTRAPPING_VALUE}
    metadata["annotations"] = {AUTOUPDATE_ANNOTATION: "true"}
    return metadata


def cluster_role(
    name: str, *rules: JSONDict, labels: Mapping[str, str] | None = None,
    aggregate_from: Iterable[Mapping[str, str]] = (),
) -> JSONDict:
    """A ClusterRole; `aggregate_from` makes it aggregated (one matchLabels selector each, no own rules)."""
    role: JSONDict = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                      "metadata": bootstrap_metadata(name, labels=labels)}
    if rules:
        role["rules"] = list(rules)
    selectors = [{"matchLabels": dict(match)} for match in aggregate_from]
    if selectors:
        role["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return role


def role(namespace: str, name: str, *rules: JSONDict) -> JSONDict:
    return {"apiVersion": API_VERSION, "kind": "Role", "metadata": bootstrap_metadata(name, namespace=namespace),
            "rules": list(rules)}


def user(name: str) -> JSONDict:
    return {"kind": "User", "apiGroup": RBAC_GROUP, "name": name}


def group(name: str) -> JSONDict:
    return {"kind": "Group", "apiGroup": RBAC_GROUP, "name": name}


def service_account(namespace: str, name: str) -> JSONDict:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def cluster_role_binding(name: str, *subjects: JSONDict, role_name: str = "") -> JSONDict:
    """A ClusterRoleBinding to the ClusterRole `role_name` (default: the binding's own name)."""
    binding: JSONDict = {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding",
                         "metadata": bootstrap_metadata(name)}
    if subjects:
        binding["subjects"] = list(subjects)
    binding["roleRef"] = {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role_name or name}
    return binding


def role_binding(namespace: str, name: str, *subjects: JSONDict, role_name: str = "") -> JSONDict:
    """A RoleBinding to the Role `role_name` of its namespace (default: the binding's own name)."""
    return {
        "apiVersion": API_VERSION, "kind": "RoleBinding",
        "metadata": bootstrap_metadata(name, namespace=namespace), "subjects": list(subjects),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role_name or name},
    }
