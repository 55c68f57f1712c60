"""RBACEscalation: no Role, ClusterRole or binding write may grant what its writer does not hold.

Upstream enforces this in the RBAC registry's policy-based storages (pkg/registry/rbac/*/policybased), after
mutating admission and before the object's own validation; here it is the last plugin of the mutating phase,
which runs at exactly that point for creates, updates and patches. It changes nothing. Admission cannot import
authorization, so the check itself (`auth.authz.escalation`, with the server's authorizer and rule source) is
passed in by the server assembly.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from apiserver.admission.interface import AdmissionAttributes, Operation

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_RESOURCES = frozenset({"roles", "clusterroles", "rolebindings", "clusterrolebindings"})

EscalationCheck = Callable[[AdmissionAttributes], Awaitable[None]]
"""Raises the API error the client gets (Forbidden, or NotFound for a binding to a missing role)."""


class RBACEscalation:
    name = "RBACEscalation"

    def __init__(self, check: EscalationCheck) -> None:
        self._check = check

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        if attributes.group != RBAC_GROUP or attributes.resource not in RBAC_RESOURCES or attributes.subresource:
            return
        await self._check(attributes)
