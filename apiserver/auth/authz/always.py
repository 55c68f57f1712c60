"""The trivial authorizers: AlwaysAllow, AlwaysDeny and the privileged-group short-circuit.

Re-implements k8s.io/apiserver/pkg/authorization/authorizerfactory/builtin.go. AlwaysDeny abstains (with the
reason "Everything is forbidden.") rather than denying, so a later mode could still allow, exactly as upstream.
`PrivilegedGroups` allows any member of `system:masters` before every configured mode, which is what makes the
generated admin kubeconfig work with no binding at all.
"""
from __future__ import annotations

from apiserver.auth.authz.interface import (
    SYSTEM_PRIVILEGED_GROUP,
    Attributes,
    Decision,
    PolicyRule,
    SubjectRules,
    UserInfo,
)

ALWAYS_DENY_REASON = "Everything is forbidden."
_EVERYTHING = SubjectRules(
    resource_rules=(PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",)),),
    non_resource_rules=(PolicyRule(verbs=("*",), non_resource_urls=("*",)),),
)


class AlwaysAllow:
    """`--authorization-mode=AlwaysAllow`: allows every request."""

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        return Decision.ALLOW, ""

    async def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules:
        return _EVERYTHING


class AlwaysDeny:
    """`--authorization-mode=AlwaysDeny`: has no opinion on any request, with a reason saying so."""

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        return Decision.NO_OPINION, ALWAYS_DENY_REASON

    async def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules:
        return SubjectRules()


class PrivilegedGroups:
    """Allows members of any of `groups` (`system:masters` in the server); abstains for everyone else."""

    def __init__(self, *groups: str) -> None:
        self.groups = frozenset(groups or (SYSTEM_PRIVILEGED_GROUP,))

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        if self.groups.intersection(attributes.user.groups):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""
