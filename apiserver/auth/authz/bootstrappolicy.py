"""The bootstrap RBAC policy of kube-apiserver v1.32, as data the server reconciles at start-up.

Upstream's plugin/pkg/auth/authorizer/rbac/bootstrappolicy: the default ClusterRoles (bootstrappolicy_clusterroles),
the controller roles (bootstrappolicy_controllers), the ClusterRoleBindings that give them their subjects
(`cluster-admin` to `system:masters`, discovery and self-reviews to every authenticated user, health and version
to everyone), and the Roles and RoleBindings of kube-system and kube-public. Every object carries the
`kubernetes.io/bootstrapping: rbac-defaults` label and the autoupdate annotation; `reconcile_role` and
`reconcile_binding` (bootstrappolicy_reconcile) decide what to write without removing anything users added.
"""
from __future__ import annotations

from dataclasses import dataclass

from apiserver.auth.authz.bootstrappolicy_build import (
    LEGACY,
    READ,
    cluster_role_binding,
    events_rule,
    group,
    role,
    role_binding,
    rule,
    service_account,
    user,
)
from apiserver.auth.authz.bootstrappolicy_clusterroles import cluster_roles
from apiserver.auth.authz.bootstrappolicy_controllers import controller_role_bindings, controller_roles
from apiserver.auth.authz.interface import SYSTEM_PRIVILEGED_GROUP
from apiserver.meta.objects import JSONDict

ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
MONITORING_GROUP = "system:monitoring"
KUBE_PROXY = "system:kube-proxy"
KUBE_CONTROLLER_MANAGER = "system:kube-controller-manager"
KUBE_SCHEDULER = "system:kube-scheduler"
KUBE_SYSTEM = "kube-system"
KUBE_PUBLIC = "kube-public"

__all__ = ["BootstrapPolicy", "bootstrap_policy", "cluster_role_bindings", "cluster_roles", "controller_role_bindings",
           "controller_roles", "namespace_role_bindings", "namespace_roles"]


def cluster_role_bindings() -> list[JSONDict]:
    """The default ClusterRoleBindings (controller bindings excluded), in upstream's order."""
    return [
        cluster_role_binding("cluster-admin", group(SYSTEM_PRIVILEGED_GROUP)),
        cluster_role_binding("system:monitoring", group(MONITORING_GROUP)),
        cluster_role_binding("system:discovery", group(ALL_AUTHENTICATED)),
        cluster_role_binding("system:basic-user", group(ALL_AUTHENTICATED)),
        cluster_role_binding("system:public-info-viewer", group(ALL_AUTHENTICATED), group(ALL_UNAUTHENTICATED)),
        cluster_role_binding("system:node-proxier", user(KUBE_PROXY)),
        cluster_role_binding("system:kube-controller-manager", user(KUBE_CONTROLLER_MANAGER)),
        cluster_role_binding("system:kube-dns", service_account(KUBE_SYSTEM, "kube-dns")),
        cluster_role_binding("system:kube-scheduler", user(KUBE_SCHEDULER)),
        cluster_role_binding("system:volume-scheduler", user(KUBE_SCHEDULER)),
        # Kept without subjects since the Node authorizer took over (upstream leaves the binding in place).
        cluster_role_binding("system:node"),
        cluster_role_binding("system:service-account-issuer-discovery", group(ALL_SERVICE_ACCOUNTS)),
    ]


def namespace_roles() -> list[JSONDict]:
    """The default Roles of kube-system and kube-public."""
    return [
        role(KUBE_SYSTEM, "extension-apiserver-authentication-reader",
             rule(*READ, groups=(LEGACY,), resources=("configmaps",), names=("extension-apiserver-authentication",))),
        _leader_locking_role("kube-controller-manager"),
        _leader_locking_role("kube-scheduler"),
        role(KUBE_SYSTEM, "system:controller:bootstrap-signer", rule(*READ, groups=(LEGACY,), resources=("secrets",))),
        role(KUBE_SYSTEM, "system:controller:cloud-provider",
             rule("create", "get", "list", "watch", groups=(LEGACY,), resources=("configmaps",))),
        role(KUBE_SYSTEM, "system:controller:token-cleaner",
             rule(*READ, "delete", groups=(LEGACY,), resources=("secrets",)), events_rule()),
        role(KUBE_PUBLIC, "system:controller:bootstrap-signer",
             rule(*READ, groups=(LEGACY,), resources=("configmaps",)),
             rule("update", groups=(LEGACY,), resources=("configmaps",), names=("cluster-info",)),
             events_rule()),
    ]


def _leader_locking_role(component: str) -> JSONDict:
    """The lock of a component's leader election, held in a kube-system ConfigMap named after it."""
    return role(KUBE_SYSTEM, f"system::leader-locking-{component}",
                rule("watch", groups=(LEGACY,), resources=("configmaps",)),
                rule("get", "update", groups=(LEGACY,), resources=("configmaps",), names=(component,)))


def namespace_role_bindings() -> list[JSONDict]:
    """The default RoleBindings of kube-system and kube-public."""
    signer = service_account(KUBE_SYSTEM, "bootstrap-signer")
    return [
        role_binding(KUBE_SYSTEM, "system::extension-apiserver-authentication-reader",
                     user(KUBE_CONTROLLER_MANAGER), user(KUBE_SCHEDULER),
                     role_name="extension-apiserver-authentication-reader"),
        role_binding(KUBE_SYSTEM, "system::leader-locking-kube-controller-manager",
                     user(KUBE_CONTROLLER_MANAGER), service_account(KUBE_SYSTEM, "kube-controller-manager")),
        role_binding(KUBE_SYSTEM, "system::leader-locking-kube-scheduler",
                     user(KUBE_SCHEDULER), service_account(KUBE_SYSTEM, "kube-scheduler")),
        role_binding(KUBE_SYSTEM, "system:controller:bootstrap-signer", signer),
        role_binding(KUBE_SYSTEM, "system:controller:cloud-provider", service_account(KUBE_SYSTEM, "cloud-provider")),
        role_binding(KUBE_SYSTEM, "system:controller:token-cleaner", service_account(KUBE_SYSTEM, "token-cleaner")),
        role_binding(KUBE_PUBLIC, "system:controller:bootstrap-signer", signer),
    ]


@dataclass(frozen=True, slots=True)
class BootstrapPolicy:
    """Everything start-up reconciles, in the order upstream's post-start hook writes it: ClusterRoles,
    ClusterRoleBindings, then the namespaced Roles and RoleBindings (their namespaces created on demand)."""

    cluster_roles: tuple[JSONDict, ...]
    cluster_role_bindings: tuple[JSONDict, ...]
    roles: tuple[JSONDict, ...]
    role_bindings: tuple[JSONDict, ...]


def bootstrap_policy() -> BootstrapPolicy:
    """A fresh copy of the whole policy (callers may mutate what they get)."""
    return BootstrapPolicy(
        cluster_roles=(*cluster_roles(), *controller_roles()),
        cluster_role_bindings=(*cluster_role_bindings(), *controller_role_bindings()),
        roles=tuple(namespace_roles()),
        role_bindings=tuple(namespace_role_bindings()),
    )
