"""The configured authorizer chain: `--authorization-mode` parsing and the union of the modes.

Re-implements k8s.io/apiserver/pkg/authorization/union (the first ALLOW or DENY wins; with none, NO_OPINION
with every reason joined by newlines, which the filter turns into 403) and the legacy-flag path of
kube-apiserver's authorizer configuration: the modes are validated as `BuiltInAuthorizationOptions.Validate`
does, the `system:masters` authorizer goes before them, and each mode that resolves rules joins the union rule
resolver behind SelfSubjectRulesReview.
"""
from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from apiserver.auth.authz.always import AlwaysAllow, AlwaysDeny, PrivilegedGroups
from apiserver.auth.authz.interface import (
    SYSTEM_PRIVILEGED_GROUP,
    Attributes,
    Authorizer,
    AuthorizerError,
    Decision,
    RuleResolver,
    RuleSource,
    SubjectRules,
    UserInfo,
)
from apiserver.auth.authz.rbac import RBACAuthorizer
from apiserver.meta.errors import go_quote
from apiserver.meta.validation import aggregate_messages

logger = logging.getLogger(__name__)

MODE_ALWAYS_ALLOW = "AlwaysAllow"
MODE_ALWAYS_DENY = "AlwaysDeny"
MODE_RBAC = "RBAC"
# Upstream's AuthorizationModeChoices; ABAC, Webhook and Node are valid there but not served here.
UPSTREAM_MODES = ("AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node")
DEFAULT_AUTHORIZATION_MODES = (MODE_RBAC,)


class _ModeAuthorizer(Authorizer, RuleResolver, Protocol):
    """What every mode provides here: a decision and the rules behind SelfSubjectRulesReview."""


_MODES: Mapping[str, Callable[[RuleSource], _ModeAuthorizer]] = {
    MODE_ALWAYS_ALLOW: lambda source: AlwaysAllow(),
    MODE_ALWAYS_DENY: lambda source: AlwaysDeny(),
    MODE_RBAC: RBACAuthorizer,
}


class AuthorizationModeError(ValueError):
    """`--authorization-mode` is invalid; the message lists every problem as kube-apiserver prints them."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__(aggregate_messages(errors))
        self.errors = tuple(errors)


def authorization_modes(value: str) -> tuple[str, ...]:
    """Parse and validate the comma-separated flag value (pflag's string slice: CSV, no trimming).

    Raises AuthorizationModeError with upstream's messages: no mode, an unknown mode, a mode given twice; a
    mode upstream knows but this server does not implement is refused by name.
    """
    modes = tuple(next(csv.reader([value]))) if value else ()
    errors = [] if modes else ["at least one authorization-mode must be passed"]
    for mode in modes:
        if mode not in UPSTREAM_MODES:
            errors.append(f"authorization-mode {go_quote(mode)} is not a valid mode")
        elif mode not in _MODES:
            errors.append(f"authorization-mode {go_quote(mode)} is not supported by this server")
    if len(set(modes)) != len(modes):
        quoted = " ".join(go_quote(mode) for mode in modes)
        errors.append(f"authorization-mode [{quoted}] has mode specified more than once")
    if errors:
        raise AuthorizationModeError(errors)
    return modes


class UnionAuthorizer:
    """Asks each authorizer in turn; the first ALLOW or DENY decides, with that authorizer's reason."""

    def __init__(self, authorizers: Sequence[Authorizer]) -> None:
        self.authorizers = tuple(authorizers)

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        """Raises AuthorizerError when no authorizer decided and at least one failed."""
        reasons: list[str] = []
        errors: list[str] = []
        for authorizer in self.authorizers:
            try:
                decision, reason = await authorizer.authorize(attributes)
            except AuthorizerError as error:
                logger.warning("authorizer_failed", extra={"authorizer": type(authorizer).__name__})
                errors.append(str(error))
                continue
            if reason:
                reasons.append(reason)
            if decision is not Decision.NO_OPINION:
                return decision, reason
        if errors:
            raise AuthorizerError(aggregate_messages(errors))
        return Decision.NO_OPINION, "\n".join(reasons)


class UnionRuleResolver:
    """Concatenates the rules of every resolver; incomplete if any is, with every error kept."""

    def __init__(self, resolvers: Sequence[RuleResolver]) -> None:
        self.resolvers = tuple(resolvers)

    async def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules:
        results = [await resolver.rules_for(user, namespace) for resolver in self.resolvers]
        return SubjectRules(
            resource_rules=tuple(rule for result in results for rule in result.resource_rules),
            non_resource_rules=tuple(rule for result in results for rule in result.non_resource_rules),
            incomplete=any(result.incomplete for result in results),
            errors=tuple(error for result in results for error in result.errors),
        )


def build_authorizer(modes: Sequence[str], source: RuleSource) -> tuple[UnionAuthorizer, UnionRuleResolver]:
    """The server's authorizer and rule resolver for validated `modes`, reading RBAC objects from `source`.

    Members of `system:masters` are allowed before any mode is asked, as kube-apiserver does.
    """
    configured = [_MODES[mode](source) for mode in modes]
    authorizers: list[Authorizer] = [PrivilegedGroups(SYSTEM_PRIVILEGED_GROUP), *configured]
    return UnionAuthorizer(authorizers), UnionRuleResolver(configured)
