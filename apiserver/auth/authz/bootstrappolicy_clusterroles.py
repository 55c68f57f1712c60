"""The default ClusterRoles of kube-apiserver v1.32 (bootstrappolicy/policy.go, default feature gates).

`admin`, `edit` and `view` are aggregated: their rules come from every ClusterRole labelled
`rbac.authorization.k8s.io/aggregate-to-<role>: "true"`, starting with `system:aggregate-to-*` below, and
`view` feeds `edit`, which feeds `admin`. Users extend them by labelling their own ClusterRoles.
"""
from __future__ import annotations

from apiserver.auth.authz.bootstrappolicy_build import (
    APPS,
    AUTHENTICATION,
    AUTHORIZATION,
    AUTOSCALING,
    BATCH,
    CERTIFICATES,
    COORDINATION,
    DISCOVERY,
    EXTENSIONS,
    LEGACY,
    NETWORKING,
    NODE,
    POLICY,
    RBAC,
    READ,
    READ_WRITE,
    STORAGE,
    WRITE,
    cluster_role,
    events_rule,
    rule,
)
from apiserver.meta.objects import JSONDict

AGGREGATE_TO_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin"
AGGREGATE_TO_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit"
AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"
_CSR = "certificatesigningrequests"


def cluster_roles() -> list[JSONDict]:
    """Every default ClusterRole except the controller roles, in upstream's order. Long because it is one table."""
    return [
        # The root role: everything, including every non-resource URL.
        cluster_role("cluster-admin", rule("*", groups=("*",), resources=("*",)), rule("*", urls=("*",))),
        # Enough to tell whether the server is up and to discover its API for negotiation.
        cluster_role("system:discovery", rule("get", urls=(
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
            "/api", "/api/*", "/apis", "/apis/*",
        ))),
        cluster_role("system:monitoring", rule("get", urls=(
            "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*",
        ))),
        # What any signed-in user may learn about themselves.
        cluster_role(
            "system:basic-user",
            rule("create", groups=(AUTHORIZATION,), resources=("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
            rule("create", groups=(AUTHENTICATION,), resources=("selfsubjectreviews",)),
        ),
        # Insensitive information, open even to unauthenticated clients.
        cluster_role("system:public-info-viewer", rule("get", urls=(
            "/livez", "/readyz", "/healthz", "/version", "/version/",
        ))),
        cluster_role("admin", aggregate_from=({AGGREGATE_TO_ADMIN: "true"},)),
        cluster_role("edit", labels={AGGREGATE_TO_ADMIN: "true"}, aggregate_from=({AGGREGATE_TO_EDIT: "true"},)),
        cluster_role("view", labels={AGGREGATE_TO_EDIT: "true"}, aggregate_from=({AGGREGATE_TO_VIEW: "true"},)),
        cluster_role(
            "system:aggregate-to-admin",
            rule("create", groups=(AUTHORIZATION,), resources=("localsubjectaccessreviews",)),
            rule(*READ_WRITE, groups=(RBAC,), resources=("roles", "rolebindings")),
            labels={AGGREGATE_TO_ADMIN: "true"},
        ),
        cluster_role("system:aggregate-to-edit", *_edit_rules(), labels={AGGREGATE_TO_EDIT: "true"}),
        cluster_role("system:aggregate-to-view", *_view_rules(), labels={AGGREGATE_TO_VIEW: "true"}),
        cluster_role(
            "system:heapster",
            rule(*READ, groups=(LEGACY,), resources=("events", "pods", "nodes", "namespaces")),
            rule(*READ, groups=(EXTENSIONS,), resources=("deployments",)),
        ),
        cluster_role("system:node", *_node_rules()),
        cluster_role(
            "system:node-problem-detector",
            rule("get", groups=(LEGACY,), resources=("nodes",)),
            rule("patch", groups=(LEGACY,), resources=("nodes/status",)),
            events_rule(),
        ),
        cluster_role(
            "system:kubelet-api-admin",
            rule(*READ, groups=(LEGACY,), resources=("nodes",)),
            rule("proxy", groups=(LEGACY,), resources=("nodes",)),
            rule("*", groups=(LEGACY,), resources=("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log")),
        ),
        cluster_role("system:node-bootstrapper", rule("create", "get", "list", "watch", groups=(CERTIFICATES,),
                                                      resources=(_CSR,))),
        cluster_role(
            "system:auth-delegator",
            rule("create", groups=(AUTHENTICATION,), resources=("tokenreviews",)),
            rule("create", groups=(AUTHORIZATION,), resources=("subjectaccessreviews",)),
        ),
        cluster_role("system:kube-aggregator", rule(*READ, groups=(LEGACY,), resources=("services", "endpoints"))),
        cluster_role("system:kube-controller-manager", *_controller_manager_rules()),
        cluster_role("system:kube-dns", rule("list", "watch", groups=(LEGACY,), resources=("endpoints", "services"))),
        cluster_role(
            "system:persistent-volume-provisioner",
            rule("get", "list", "watch", "create", "delete", groups=(LEGACY,), resources=("persistentvolumes",)),
            rule("get", "list", "watch", "update", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            rule(*READ, groups=(STORAGE,), resources=("storageclasses",)),
            rule("watch", groups=(LEGACY,), resources=("events",)),
            events_rule(),
        ),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                     rule("create", groups=(CERTIFICATES,), resources=(f"{_CSR}/nodeclient",))),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                     rule("create", groups=(CERTIFICATES,), resources=(f"{_CSR}/selfnodeclient",))),
        cluster_role(
            "system:volume-scheduler",
            rule(*READ, "patch", "update", groups=(LEGACY,), resources=("persistentvolumes",)),
            rule(*READ, groups=(STORAGE,), resources=("storageclasses",)),
            rule(*READ, "patch", "update", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
        ),
        *(_signer_approver(signer) for signer in (
            "legacy-unknown", "kubelet-serving", "kube-apiserver-client", "kube-apiserver-client-kubelet",
        )),
        # Lets in-cluster workloads fetch the ServiceAccount issuer's OIDC discovery document and keys.
        cluster_role("system:service-account-issuer-discovery",
                     rule("get", urls=("/.well-known/openid-configuration", "/openid/v1/jwks"))),
        cluster_role("system:node-proxier", *_node_proxier_rules()),
        cluster_role("system:kube-scheduler", *_scheduler_rules()),
    ]


def _signer_approver(signer: str) -> JSONDict:
    approve = rule("approve", groups=(CERTIFICATES,), resources=("signers",), names=(f"kubernetes.io/{signer}",))
    return cluster_role(f"system:certificates.k8s.io:{signer}-approver", approve)


def _view_rules() -> tuple[JSONDict, ...]:
    """Read access to what is not sensitive (no Secrets) in a namespace."""
    return (
        rule(*READ, groups=(LEGACY,), resources=(
            "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
            "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps",
        )),
        rule(*READ, groups=(LEGACY,), resources=(
            "limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
            "namespaces/status", "replicationcontrollers/status", "pods/log",
        )),
        # Reading namespaces at namespace scope means reading *this* namespace.
        rule(*READ, groups=(LEGACY,), resources=("namespaces",)),
        rule(*READ, groups=(DISCOVERY,), resources=("endpointslices",)),
        rule(*READ, groups=(APPS,), resources=(
            "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale", "daemonsets",
            "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets",
            "replicasets/status", "replicasets/scale",
        )),
        rule(*READ, groups=(AUTOSCALING,), resources=("horizontalpodautoscalers", "horizontalpodautoscalers/status")),
        rule(*READ, groups=(BATCH,), resources=("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
        rule(*READ, groups=(EXTENSIONS,), resources=(
            "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "ingresses",
            "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status",
            "replicationcontrollers/scale", "networkpolicies",
        )),
        rule(*READ, groups=(POLICY,), resources=("poddisruptionbudgets", "poddisruptionbudgets/status")),
        rule(*READ, groups=(NETWORKING,), resources=("networkpolicies", "ingresses", "ingresses/status")),
    )


def _edit_rules() -> tuple[JSONDict, ...]:
    """Writing workloads and their configuration, reading Secrets; never roles, quota or status."""
    return (
        # Reading these escalates (exec, proxy, secrets), so view leaves them to edit.
        rule(*READ, groups=(LEGACY,), resources=(
            "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy",
        )),
        rule("impersonate", groups=(LEGACY,), resources=("serviceaccounts",)),
        rule(*WRITE, groups=(LEGACY,),
             resources=("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
        rule("create", groups=(LEGACY,), resources=("pods/eviction",)),
        rule(*WRITE, groups=(LEGACY,), resources=(
            "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/proxy",
            "persistentvolumeclaims", "configmaps", "secrets", "events",
        )),
        rule("create", groups=(LEGACY,), resources=("serviceaccounts/token",)),
        rule(*WRITE, groups=(APPS,), resources=(
            "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
            "deployments/rollback", "replicasets", "replicasets/scale",
        )),
        rule(*WRITE, groups=(AUTOSCALING,), resources=("horizontalpodautoscalers",)),
        rule(*WRITE, groups=(BATCH,), resources=("jobs", "cronjobs")),
        rule(*WRITE, groups=(EXTENSIONS,), resources=(
            "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses", "replicasets",
            "replicasets/scale", "replicationcontrollers/scale", "networkpolicies",
        )),
        rule(*WRITE, groups=(POLICY,), resources=("poddisruptionbudgets",)),
        rule(*WRITE, groups=(NETWORKING,), resources=("networkpolicies", "ingresses")),
        rule(*READ_WRITE, groups=(COORDINATION,), resources=("leases",)),
    )


def _node_rules() -> tuple[JSONDict, ...]:
    """What a kubelet needs; the Node authorizer and NodeRestriction narrow it upstream."""
    return (
        rule("create", groups=(AUTHENTICATION,), resources=("tokenreviews",)),
        rule("create", groups=(AUTHORIZATION,), resources=("subjectaccessreviews", "localsubjectaccessreviews")),
        rule(*READ, groups=(LEGACY,), resources=("services",)),
        rule("create", "get", "list", "watch", groups=(LEGACY,), resources=("nodes",)),
        rule("update", "patch", groups=(LEGACY,), resources=("nodes/status",)),
        rule("update", "patch", groups=(LEGACY,), resources=("nodes",)),
        rule("create", "update", "patch", groups=(LEGACY,), resources=("events",)),
        rule(*READ, groups=(LEGACY,), resources=("pods",)),
        rule("create", "delete", groups=(LEGACY,), resources=("pods",)),
        rule("update", "patch", groups=(LEGACY,), resources=("pods/status",)),
        rule("create", groups=(LEGACY,), resources=("pods/eviction",)),
        rule(*READ, groups=(LEGACY,), resources=("secrets", "configmaps")),
        rule("get", groups=(LEGACY,), resources=("persistentvolumeclaims", "persistentvolumes")),
        rule("get", groups=(LEGACY,), resources=("endpoints",)),
        rule("create", "get", "list", "watch", groups=(CERTIFICATES,), resources=(_CSR,)),
        rule("get", "create", "update", "patch", "delete", groups=(COORDINATION,), resources=("leases",)),
        rule("get", groups=(STORAGE,), resources=("volumeattachments",)),
        rule("create", groups=(LEGACY,), resources=("serviceaccounts/token",)),
        rule("get", "update", "patch", groups=(LEGACY,), resources=("persistentvolumeclaims/status",)),
        rule(*READ, groups=(STORAGE,), resources=("csidrivers",)),
        rule("get", "create", "update", "patch", "delete", groups=(STORAGE,), resources=("csinodes",)),
        rule(*READ, groups=(NODE,), resources=("runtimeclasses",)),
    )


def _controller_manager_rules() -> tuple[JSONDict, ...]:
    """Enough to start shared informers and mint the per-controller ServiceAccount credentials."""
    return (
        events_rule(),
        rule("create", groups=(COORDINATION,), resources=("leases",)),
        rule("get", "update", groups=(COORDINATION,), resources=("leases",), names=("kube-controller-manager",)),
        rule("create", groups=(LEGACY,), resources=("secrets", "serviceaccounts")),
        rule("delete", groups=(LEGACY,), resources=("secrets",)),
        rule("get", groups=(LEGACY,), resources=("namespaces", "secrets", "serviceaccounts", "configmaps")),
        rule("update", groups=(LEGACY,), resources=("secrets", "serviceaccounts")),
        rule("create", groups=(AUTHENTICATION,), resources=("tokenreviews",)),
        rule("create", groups=(AUTHORIZATION,), resources=("subjectaccessreviews",)),
        rule("list", "watch", groups=("*",), resources=("*",)),
        rule("create", groups=(LEGACY,), resources=("serviceaccounts/token",)),
    )


def _node_proxier_rules() -> tuple[JSONDict, ...]:
    return (
        rule("list", "watch", groups=(LEGACY,), resources=("services", "endpoints")),
        rule(*READ, groups=(LEGACY,), resources=("nodes",)),
        events_rule(),
        rule("list", "watch", groups=(DISCOVERY,), resources=("endpointslices",)),
    )


def _scheduler_rules() -> tuple[JSONDict, ...]:
    return (
        events_rule(),
        rule("create", groups=(COORDINATION,), resources=("leases",)),
        rule("get", "update", groups=(COORDINATION,), resources=("leases",), names=("kube-scheduler",)),
        rule(*READ, groups=(LEGACY,), resources=("nodes",)),
        rule("get", "list", "watch", "delete", groups=(LEGACY,), resources=("pods",)),
        rule("create", groups=(LEGACY,), resources=("pods/binding", "bindings")),
        rule("patch", "update", groups=(LEGACY,), resources=("pods/status",)),
        rule(*READ, groups=(LEGACY,), resources=("replicationcontrollers", "services")),
        rule(*READ, groups=(APPS, EXTENSIONS), resources=("replicasets",)),
        rule(*READ, groups=(APPS,), resources=("statefulsets",)),
        rule(*READ, groups=(POLICY,), resources=("poddisruptionbudgets",)),
        rule(*READ, groups=(LEGACY,), resources=("persistentvolumeclaims", "persistentvolumes")),
        # Delegated authentication and authorization of the scheduler's own endpoints.
        rule("create", groups=(AUTHENTICATION,), resources=("tokenreviews",)),
        rule("create", groups=(AUTHORIZATION,), resources=("subjectaccessreviews",)),
        rule(*READ, groups=(STORAGE,), resources=("csinodes",)),
        rule(*READ, groups=(LEGACY,), resources=("namespaces",)),
        rule(*READ, groups=(STORAGE,), resources=("csidrivers",)),
        rule(*READ, groups=(STORAGE,), resources=("csistoragecapacities",)),
    )
