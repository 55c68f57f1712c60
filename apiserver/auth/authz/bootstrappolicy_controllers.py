"""The `system:controller:*` ClusterRoles and their bindings: one per kube-controller-manager controller.

The roles upstream creates with default feature gates (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
controller_policy.go), written here as data. Each is bound to the ServiceAccount of the same name in
kube-system, which is the identity the controller runs as when it uses per-controller credentials.
"""
from __future__ import annotations

from apiserver.auth.authz.bootstrappolicy_build import (
    ADMISSIONREGISTRATION,
    APPS,
    AUTHORIZATION,
    AUTOSCALING,
    BATCH,
    CERTIFICATES,
    DISCOVERY,
    EXTENSIONS,
    LEGACY,
    POLICY,
    RBAC,
    READ,
    STORAGE,
    cluster_role,
    cluster_role_binding,
    events_rule,
    rule,
    service_account,
)
from apiserver.meta.objects import JSONDict

CONTROLLER_ROLE_PREFIX = "system:controller:"
CONTROLLER_NAMESPACE = "kube-system"
_APPS_OR_EXTENSIONS = (APPS, EXTENSIONS)
_WHOLE = ("create", "delete", "get", "list", "patch", "update", "watch")


def _controllers() -> dict[str, tuple[JSONDict, ...]]:
    """Controller name → rules. Long because it is one table; each entry is short."""
    return {
        "attachdetach-controller": (
            rule("list", "watch", groups=(LEGACY,), resources=("persistentvolumes", "persistentvolumeclaims")),
            rule(*READ, groups=(LEGACY,), resources=("nodes",)),
            rule("patch", "update", groups=(LEGACY,), resources=("nodes/status",)),
            rule("list", "watch", groups=(LEGACY,), resources=("pods",)),
            events_rule(),
            rule("get", "create", "delete", "list", "watch", groups=(STORAGE,), resources=("volumeattachments",)),
            rule(*READ, groups=(STORAGE,), resources=("csidrivers",)),
            rule(*READ, groups=(STORAGE,), resources=("csinodes",)),
        ),
        "certificate-controller": (
            rule("get", "list", "watch", "delete", groups=(CERTIFICATES,), resources=("certificatesigningrequests",)),
            rule("update", groups=(CERTIFICATES,),
                 resources=("certificatesigningrequests/status", "certificatesigningrequests/approval")),
            rule("approve", groups=(CERTIFICATES,), resources=("signers",),
                 names=("kubernetes.io/kube-apiserver-client-kubelet",)),
            rule("sign", groups=(CERTIFICATES,), resources=("signers",),
                 names=("kubernetes.io/legacy-unknown", "kubernetes.io/kube-apiserver-client",
                        "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving")),
            rule("create", groups=(AUTHORIZATION,), resources=("subjectaccessreviews",)),
            events_rule(),
        ),
        "clusterrole-aggregation-controller": (
            # It must be able to escalate: an aggregated role gathers permissions the controller lacks.
            rule("escalate", "get", "list", "watch", "update", "patch", groups=(RBAC,),
                 resources=("clusterroles",)),
        ),
        "cronjob-controller": (
            rule("get", "list", "watch", "update", groups=(BATCH,), resources=("cronjobs",)),
            rule(*_WHOLE, groups=(BATCH,), resources=("jobs",)),
            rule("update", groups=(BATCH,), resources=("cronjobs/status",)),
            rule("update", groups=(BATCH,), resources=("cronjobs/finalizers",)),
            rule("list", "watch", "delete", groups=(LEGACY,), resources=("pods",)),
            events_rule(),
        ),
        "daemon-set-controller": (
            rule(*READ, groups=_APPS_OR_EXTENSIONS, resources=("daemonsets",)),
            rule("update", groups=_APPS_OR_EXTENSIONS, resources=("daemonsets/status",)),
            rule("update", groups=_APPS_OR_EXTENSIONS, resources=("daemonsets/finalizers",)),
            rule("list", "watch", groups=(LEGACY,), resources=("nodes",)),
            rule("list", "watch", "create", "delete", "patch", groups=(LEGACY,), resources=("pods",)),
            rule("create", groups=(LEGACY,), resources=("pods/binding",)),
            rule(*_WHOLE, groups=(APPS,), resources=("controllerrevisions",)),
            events_rule(),
        ),
        "deployment-controller": (
            rule("get", "list", "watch", "update", groups=_APPS_OR_EXTENSIONS, resources=("deployments",)),
            rule("update", groups=_APPS_OR_EXTENSIONS, resources=("deployments/status",)),
            rule("update", groups=_APPS_OR_EXTENSIONS, resources=("deployments/finalizers",)),
            rule(*_WHOLE, groups=_APPS_OR_EXTENSIONS, resources=("replicasets",)),
            # Pods are listed for the ReplicaSet-to-pod mapping and updated to adopt or orphan them.
            rule("get", "list", "watch", "update", groups=(LEGACY,), resources=("pods",)),
            events_rule(),
        ),
        "disruption-controller": (
            rule(*READ, groups=_APPS_OR_EXTENSIONS, resources=("deployments",)),
            rule(*READ, groups=_APPS_OR_EXTENSIONS, resources=("replicasets",)),
            rule(*READ, groups=(LEGACY,), resources=("replicationcontrollers",)),
            rule(*READ, groups=(POLICY,), resources=("poddisruptionbudgets",)),
            rule(*READ, groups=(APPS,), resources=("statefulsets",)),
            rule("update", groups=(POLICY,), resources=("poddisruptionbudgets/status",)),
            rule("patch", "update", groups=(LEGACY,), resources=("pods/status",)),
            rule("get", groups=("*",), resources=("*/scale",)),
            events_rule(),
        ),
        "endpoint-controller": (
            rule(*READ, groups=(LEGACY,), resources=("services", "pods")),
            rule("get", "list", "create", "update", "delete", "watch", groups=(LEGACY,), resources=("endpoints",)),
            rule("create", groups=(LEGACY,), resources=("endpoints/restricted",)),
            events_rule(),
        ),
        "endpointslice-controller": (
            rule(*READ, groups=(LEGACY,), resources=("services", "pods", "nodes")),
            # Owner references on the slices need the services' finalizers subresource.
            rule("update", groups=(LEGACY,), resources=("services/finalizers",)),
            rule("get", "list", "create", "update", "delete", "watch", groups=(DISCOVERY,),
                 resources=("endpointslices",)),
            events_rule(),
        ),
        "endpointslicemirroring-controller": (
            rule(*READ, groups=(LEGACY,), resources=("services", "endpoints")),
            rule("update", groups=(LEGACY,), resources=("services/finalizers",)),
            rule("update", groups=(LEGACY,), resources=("endpoints/finalizers",)),
            rule("get", "list", "create", "update", "delete", "watch", groups=(DISCOVERY,),
                 resources=("endpointslices",)),
            events_rule(),
        ),
        "ephemeral-volume-controller": (
            rule(*READ, groups=(LEGACY,), resources=("pods",)),
            rule("update", groups=(LEGACY,), resources=("pods/finalizers",)),
            rule("get", "list", "watch", "create", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            events_rule(),
        ),
        "expand-controller": (
            rule("get", "list", "watch", "update", "patch", groups=(LEGACY,), resources=("persistentvolumes",)),
            rule("update", "patch", groups=(LEGACY,), resources=("persistentvolumeclaims/status",)),
            rule(*READ, groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            events_rule(),
        ),
        "generic-garbage-collector": (
            rule("get", "list", "watch", "patch", "update", "delete", groups=("*",), resources=("*",)),
            events_rule(),
        ),
        "horizontal-pod-autoscaler": (
            rule(*READ, groups=(AUTOSCALING,), resources=("horizontalpodautoscalers",)),
            rule("update", groups=(AUTOSCALING,), resources=("horizontalpodautoscalers/status",)),
            rule("get", "update", groups=("*",), resources=("*/scale",)),
            rule("list", "watch", groups=(LEGACY,), resources=("pods",)),
            rule("list", "watch", groups=("metrics.k8s.io",), resources=("pods",)),
            rule(*READ, groups=("custom.metrics.k8s.io",), resources=("*",)),
            rule(*READ, groups=("external.metrics.k8s.io",), resources=("*",)),
            events_rule(),
        ),
        "job-controller": (
            rule("get", "list", "watch", "update", "patch", groups=(BATCH,), resources=("jobs",)),
            rule("update", groups=(BATCH,), resources=("jobs/status",)),
            rule("update", groups=(BATCH,), resources=("jobs/finalizers",)),
            rule("list", "watch", "create", "delete", "patch", groups=(LEGACY,), resources=("pods",)),
            events_rule(),
        ),
        "legacy-service-account-token-cleaner": (
            rule("get", groups=(LEGACY,), resources=("configmaps",),
                 names=("kube-apiserver-legacy-service-account-token-tracking",)),
            rule("patch", "delete", groups=(LEGACY,), resources=("secrets",)),
        ),
        "namespace-controller": (
            rule("get", "list", "watch", "delete", groups=(LEGACY,), resources=("namespaces",)),
            rule("update", groups=(LEGACY,), resources=("namespaces/finalize", "namespaces/status")),
            rule("get", "list", "watch", "delete", "deletecollection", groups=("*",), resources=("*",)),
        ),
        "node-controller": (
            rule("get", "list", "watch", "update", "delete", "patch", groups=(LEGACY,), resources=("nodes",)),
            rule("patch", "update", groups=(LEGACY,), resources=("nodes/status",)),
            rule("patch", "update", groups=(LEGACY,), resources=("pods/status",)),
            rule("get", "list", "watch", "delete", groups=(LEGACY,), resources=("pods",)),
            events_rule(),
        ),
        "persistent-volume-binder": (
            rule("get", "list", "watch", "update", "create", "delete", groups=(LEGACY,),
                 resources=("persistentvolumes",)),
            rule("update", groups=(LEGACY,), resources=("persistentvolumes/status",)),
            rule("get", "list", "watch", "update", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            rule("update", groups=(LEGACY,), resources=("persistentvolumeclaims/status",)),
            rule("get", "list", "watch", "create", "delete", groups=(LEGACY,), resources=("pods",)),
            rule(*READ, groups=(STORAGE,), resources=("storageclasses",)),
            rule("list", "watch", groups=(LEGACY,), resources=("nodes",)),
            events_rule(),
            rule("watch", groups=(LEGACY,), resources=("events",)),
        ),
        "pod-garbage-collector": (
            rule("list", "watch", "delete", groups=(LEGACY,), resources=("pods",)),
            rule(*READ, groups=(LEGACY,), resources=("nodes",)),
            rule("patch", groups=(LEGACY,), resources=("pods/status",)),
        ),
        "pv-protection-controller": (
            rule("get", "list", "watch", "update", groups=(LEGACY,), resources=("persistentvolumes",)),
            events_rule(),
        ),
        "pvc-protection-controller": (
            rule("get", "list", "watch", "update", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            rule("update", groups=(LEGACY,), resources=("persistentvolumeclaims/status",)),
            rule(*READ, groups=(LEGACY,), resources=("pods",)),
            events_rule(),
        ),
        "replicaset-controller": _replicator_rules(_APPS_OR_EXTENSIONS, "replicasets"),
        "replication-controller": _replicator_rules((LEGACY,), "replicationcontrollers"),
        "resourcequota-controller": (
            # Quota counts everything, including custom resources.
            rule("list", "watch", groups=("*",), resources=("*",)),
            rule("update", groups=(LEGACY,), resources=("resourcequotas/status",)),
            events_rule(),
        ),
        "root-ca-cert-publisher": (
            rule("create", "update", groups=(LEGACY,), resources=("configmaps",)),
            events_rule(),
        ),
        "route-controller": (
            rule("list", "watch", groups=(LEGACY,), resources=("nodes",)),
            rule("patch", groups=(LEGACY,), resources=("nodes/status",)),
            events_rule(),
        ),
        "service-account-controller": (
            rule("create", groups=(LEGACY,), resources=("serviceaccounts",)),
            events_rule(),
        ),
        "service-controller": (
            rule(*READ, groups=(LEGACY,), resources=("services",)),
            rule("patch", "update", groups=(LEGACY,), resources=("services/status",)),
            rule("list", "watch", groups=(LEGACY,), resources=("nodes",)),
            events_rule(),
        ),
        "statefulset-controller": (
            rule("list", "watch", groups=(LEGACY,), resources=("pods",)),
            rule(*READ, groups=(APPS,), resources=("statefulsets",)),
            rule("update", groups=(APPS,), resources=("statefulsets/status",)),
            rule("update", groups=(APPS,), resources=("statefulsets/finalizers",)),
            rule("get", "create", "delete", "update", "patch", groups=(LEGACY,), resources=("pods",)),
            rule(*_WHOLE, groups=(APPS,), resources=("controllerrevisions",)),
            rule("get", "create", "list", "watch", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            rule("update", "delete", groups=(LEGACY,), resources=("persistentvolumeclaims",)),
            rule("update", groups=(LEGACY,), resources=("pods/finalizers",)),
            events_rule(),
        ),
        "ttl-after-finished-controller": (
            rule("get", "list", "watch", "delete", groups=(BATCH,), resources=("jobs",)),
            events_rule(),
        ),
        "ttl-controller": (
            rule("update", "patch", "list", "watch", groups=(LEGACY,), resources=("nodes",)),
            events_rule(),
        ),
        "validatingadmissionpolicy-status-controller": (
            rule(*READ, groups=(ADMISSIONREGISTRATION,), resources=("validatingadmissionpolicies",)),
            rule("get", "patch", "update", groups=(ADMISSIONREGISTRATION,),
                 resources=("validatingadmissionpolicies/status",)),
            events_rule(),
        ),
    }


def _replicator_rules(groups: tuple[str, ...], resource: str) -> tuple[JSONDict, ...]:
    """ReplicaSet and ReplicationController controllers need the same powers over their own kind and pods."""
    return (
        rule("get", "list", "watch", "update", groups=groups, resources=(resource,)),
        rule("update", groups=groups, resources=(f"{resource}/status",)),
        rule("update", groups=groups, resources=(f"{resource}/finalizers",)),
        rule("list", "watch", "patch", "create", "delete", groups=(LEGACY,), resources=("pods",)),
        events_rule(),
    )


def controller_roles() -> list[JSONDict]:
    """The `system:controller:<name>` ClusterRoles, by controller name."""
    return [cluster_role(CONTROLLER_ROLE_PREFIX + name, *rules) for name, rules in sorted(_controllers().items())]


def controller_role_bindings() -> list[JSONDict]:
    """Each controller role bound to the kube-system ServiceAccount named after the controller."""
    return [
        cluster_role_binding(CONTROLLER_ROLE_PREFIX + name, service_account(CONTROLLER_NAMESPACE, name))
        for name in sorted(_controllers())
    ]
