"""The RBAC authorizer and the rule resolver behind it.

Re-implements plugin/pkg/auth/authorizer/rbac/rbac.go and the DefaultRuleResolver of
pkg/registry/rbac/validation/rule.go: ClusterRoleBindings are visited first (their ClusterRoles apply in every
namespace), then the RoleBindings of the request's namespace (a Role of that namespace, or a ClusterRole scoped
to it). Subjects match by user name, group, or the `system:serviceaccount:<namespace>:<name>` user name of a
ServiceAccount. RBAC only ever allows: when no rule does, it has no opinion, with the resolution errors (a
binding to a missing role, unreadable state) as its reason.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.auth.authz.interface import (
    RBAC_GROUP,
    Attributes,
    Decision,
    PolicyRule,
    RuleSource,
    RuleSourceUnavailable,
    SubjectRules,
    UserInfo,
    rules_of,
)
from apiserver.auth.authz.rbac_rules import rule_allows
from apiserver.meta.errors import ApiError, NotFound, go_quote
from apiserver.meta.objects import JSONDict, name_of, namespace_of
from apiserver.meta.validation import aggregate_messages

USER_KIND = "User"
GROUP_KIND = "Group"
SERVICE_ACCOUNT_KIND = "ServiceAccount"
SERVICE_ACCOUNT_USERNAME_PREFIX = "system:serviceaccount:"


def subject_applies(user: UserInfo, subject: Mapping[str, Any], namespace: str) -> bool:
    """Whether one binding subject names the user. A ServiceAccount subject without a namespace means the
    binding's own namespace ("" for a ClusterRoleBinding, where it matches nobody)."""
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == USER_KIND:
        return bool(user.name == name)
    if kind == GROUP_KIND:
        return name in user.groups
    if kind == SERVICE_ACCOUNT_KIND:
        account_namespace = subject.get("namespace") or namespace
        return bool(account_namespace) and user.name == f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{account_namespace}:{name}"
    return False


def applying_subject(user: UserInfo, binding: Mapping[str, Any], namespace: str) -> Mapping[str, Any] | None:
    """The first subject of the binding that names the user, if any."""
    for subject in binding.get("subjects") or ():
        if subject_applies(user, subject, namespace):
            return subject  # type: ignore[no-any-return]
    return None


@dataclass(frozen=True, slots=True)
class RoleNaming:
    """How a missing role is named in errors: the authorizer reads informer listers (`role`), the registry's
    escalation checks read storage (`roles`), and upstream's messages differ accordingly."""

    role: str
    cluster_role: str


LISTER_NAMING = RoleNaming(role="role", cluster_role="clusterrole")
STORAGE_NAMING = RoleNaming(role="roles", cluster_role="clusterroles")


class RoleReferenceError(Exception):
    """A binding's roleRef cannot be resolved; `error` is the API error the registry would return for it."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error
        self.message = error.message


@dataclass(frozen=True, slots=True)
class RuleVisit:
    """One step of a rule walk: a rule granted by `binding` to `subject`, or an error resolving a binding."""

    rule: PolicyRule | None = None
    binding: Mapping[str, Any] | None = None
    subject: Mapping[str, Any] | None = None
    error: str = ""

    def describe_source(self) -> str:
        """`ClusterRoleBinding "x" of ClusterRole "y" to Group "z"` (upstream's binding describers)."""
        binding, subject = self.binding or {}, self.subject or {}
        namespace = namespace_of(binding)
        role_ref = binding.get("roleRef") or {}
        role = f"{role_ref.get('kind', '')} {go_quote(role_ref.get('name', ''))}"
        if namespace:
            return (f"RoleBinding {go_quote(name_of(binding) + '/' + namespace)} of {role} "
                    f"to {_describe_subject(subject, namespace)}")
        return f"ClusterRoleBinding {go_quote(name_of(binding))} of {role} to {_describe_subject(subject, '')}"


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == SERVICE_ACCOUNT_KIND:
        return f"{kind} {go_quote(name + '/' + (subject.get('namespace') or binding_namespace))}"
    return f"{kind} {go_quote(name)}"


class RbacRuleResolver:
    """Resolves the rules granted to a user through bindings read from a RuleSource."""

    def __init__(self, source: RuleSource, naming: RoleNaming = LISTER_NAMING) -> None:
        self.source = source
        self.naming = naming

    async def role_reference_rules(self, role_ref: Mapping[str, Any], namespace: str) -> list[PolicyRule]:
        """The rules of the role a binding in `namespace` ("" for a ClusterRoleBinding) refers to.

        Raises RoleReferenceError (NotFound for a missing role, an unknown-reason 500 for an unsupported
        kind) and RuleSourceUnavailable.
        """
        kind, name = role_ref.get("kind", ""), role_ref.get("name", "")
        if kind == "Role":
            role = await self.source.get_role(namespace, name)
            resource = self.naming.role
        elif kind == "ClusterRole":
            role = await self.source.get_cluster_role(name)
            resource = self.naming.cluster_role
        else:
            raise RoleReferenceError(ApiError(f"unsupported role reference kind: {go_quote(kind)}"))
        if role is None:
            raise RoleReferenceError(NotFound(resource, name, group=RBAC_GROUP))
        return rules_of(role)

    async def visit_rules_for(self, user: UserInfo, namespace: str) -> AsyncIterator[RuleVisit]:
        """Every rule that applies to the user in `namespace`, and every error on the way, in upstream's
        order: ClusterRoleBindings, then the namespace's RoleBindings. Stop iterating to short-circuit."""
        try:
            cluster_bindings: Sequence[JSONDict] = await self.source.list_cluster_role_bindings()
        except RuleSourceUnavailable as error:
            yield RuleVisit(error=str(error))
            cluster_bindings = ()
        async for visit in self._visit_bindings(user, cluster_bindings, ""):
            yield visit
        if not namespace:
            return
        try:
            bindings: Sequence[JSONDict] = await self.source.list_role_bindings(namespace)
        except RuleSourceUnavailable as error:
            yield RuleVisit(error=str(error))
            return
        async for visit in self._visit_bindings(user, bindings, namespace):
            yield visit

    async def _visit_bindings(
        self, user: UserInfo, bindings: Sequence[JSONDict], namespace: str
    ) -> AsyncIterator[RuleVisit]:
        for binding in bindings:
            subject = applying_subject(user, binding, namespace)
            if subject is None:
                continue
            try:
                rules = await self.role_reference_rules(binding.get("roleRef") or {}, namespace)
            except (RoleReferenceError, RuleSourceUnavailable) as error:
                yield RuleVisit(error=str(error))
                continue
            for rule in rules:
                yield RuleVisit(rule=rule, binding=binding, subject=subject)

    async def collect_rules(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        """All rules that apply, and all resolution errors (upstream's RulesFor: the rules stay valid)."""
        rules, errors = [], []
        async for visit in self.visit_rules_for(user, namespace):
            if visit.rule is not None:
                rules.append(visit.rule)
            if visit.error:
                errors.append(visit.error)
        return rules, errors


class RBACAuthorizer:
    """The RBAC authorizer: ALLOW when a rule bound to the user allows the request, otherwise NO_OPINION."""

    def __init__(self, source: RuleSource) -> None:
        self.resolver = RbacRuleResolver(source, LISTER_NAMING)

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        errors = []
        async for visit in self.resolver.visit_rules_for(attributes.user, attributes.namespace):
            if visit.rule is not None and rule_allows(attributes, visit.rule):
                return Decision.ALLOW, f"RBAC: allowed by {visit.describe_source()}"
            if visit.error:
                errors.append(visit.error)
        return Decision.NO_OPINION, f"RBAC: {aggregate_messages(errors)}" if errors else ""

    async def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules:
        """Rules with resources are resource rules, rules with URLs non-resource rules; never incomplete."""
        rules, errors = await self.resolver.collect_rules(user, namespace)
        return SubjectRules(
            resource_rules=tuple(rule for rule in rules if rule.resources),
            non_resource_rules=tuple(rule for rule in rules if rule.non_resource_urls),
            errors=tuple(errors),
        )


class StaticRuleSource:
    """A RuleSource over fixed lists of objects (upstream's StaticRoles), for tests and offline evaluation."""

    def __init__(
        self, *, roles: Sequence[JSONDict] = (), role_bindings: Sequence[JSONDict] = (),
        cluster_roles: Sequence[JSONDict] = (), cluster_role_bindings: Sequence[JSONDict] = (),
    ) -> None:
        self.roles = list(roles)
        self.role_bindings = list(role_bindings)
        self.cluster_roles = list(cluster_roles)
        self.cluster_role_bindings = list(cluster_role_bindings)

    async def get_role(self, namespace: str, name: str) -> JSONDict | None:
        return next((role for role in self.roles if (namespace_of(role), name_of(role)) == (namespace, name)), None)

    async def get_cluster_role(self, name: str) -> JSONDict | None:
        return next((role for role in self.cluster_roles if name_of(role) == name), None)

    async def list_role_bindings(self, namespace: str) -> Sequence[JSONDict]:
        return [binding for binding in self.role_bindings if namespace_of(binding) == namespace]

    async def list_cluster_role_bindings(self) -> Sequence[JSONDict]:
        return list(self.cluster_role_bindings)
