"""What authorizers see and promise: `Attributes`, `Decision`, `PolicyRule` and the protocols around them.

Mirrors k8s.io/apiserver/pkg/authorization/authorizer: an authorizer answers ALLOW, DENY or NO_OPINION for one
set of request attributes, with a reason; a rule resolver lists what a user may do in a namespace (the answer
of SelfSubjectRulesReview). RBAC reads roles and bindings through `RuleSource`, a read-only view that the
server assembly backs with watch caches, so this package never imports storage or the registry.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from apiserver.meta.identity import UserInfo
from apiserver.meta.objects import JSONDict
from apiserver.meta.requestinfo import RequestInfo
from apiserver.meta.selectors import FieldSelector, LabelSelector, SelectorError
from apiserver.meta.validation import aggregate_messages

SelectorT = TypeVar("SelectorT", FieldSelector, LabelSelector)

RBAC_GROUP = "rbac.authorization.k8s.io"
SYSTEM_PRIVILEGED_GROUP = "system:masters"


class Decision(enum.Enum):
    """An authorizer's answer. NO_OPINION lets the next authorizer decide; the union denies when all abstain."""

    ALLOW = "Allow"
    DENY = "Deny"
    NO_OPINION = "NoOpinion"


@dataclass(frozen=True, slots=True)
class Attributes:
    """One request as authorizers see it (upstream's AttributesRecord).

    For a resource request `verb` is the Kubernetes verb and `namespace` is "" at the cluster scope; for any
    other request `verb` is the lower-case HTTP method and only `path` matters. The selectors are those of a
    list, watch or deletecollection, parsed as upstream's AuthorizeWithSelectors does; a selector that does not
    parse is None with its error message kept.
    """

    user: UserInfo
    verb: str
    is_resource_request: bool = False
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    field_selector: FieldSelector | None = None
    field_selector_error: str = ""
    label_selector: LabelSelector | None = None
    label_selector_error: str = ""


def attributes_from_request_info(user: UserInfo, info: RequestInfo) -> Attributes:
    """The attributes the authorization filter checks for one request (upstream's GetAuthorizerAttributes)."""
    field_selector, field_error = _parsed(FieldSelector.parse, info.field_selector)
    label_selector, label_error = _parsed(LabelSelector.parse, info.label_selector)
    return Attributes(
        user=user, verb=info.verb, is_resource_request=info.is_resource_request, path=info.path,
        namespace=info.namespace, api_group=info.api_group, api_version=info.api_version,
        resource=info.resource, subresource=info.subresource, name=info.name,
        field_selector=field_selector, field_selector_error=field_error,
        label_selector=label_selector, label_selector_error=label_error,
    )


def _parsed(parse: Callable[[str], SelectorT], text: str) -> tuple[SelectorT | None, str]:
    if not text:
        return None, ""
    try:
        return parse(text), ""
    except SelectorError as error:
        return None, error.message


class AuthorizerError(Exception):
    """An authorizer could not evaluate the request. The union collects these and tries the next authorizer;
    if none allows, the request fails with 500 (upstream's authorization filter) rather than 403."""


class Authorizer(Protocol):
    """Decide one request.

    Returns the decision and a reason ("" when there is nothing to say). Never returns ALLOW by accident of an
    error: an authorizer that cannot evaluate raises AuthorizerError, or returns NO_OPINION with the error in
    the reason when the failure is partial and other rules may still allow (RBAC does this).
    """

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]: ...


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One RBAC rule (`rbac.authorization.k8s.io/v1` PolicyRule), its lists as tuples in the object's order."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> PolicyRule:
        """Read a PolicyRule object; missing or null lists are empty."""
        return cls(
            verbs=tuple(rule.get("verbs") or ()), api_groups=tuple(rule.get("apiGroups") or ()),
            resources=tuple(rule.get("resources") or ()), resource_names=tuple(rule.get("resourceNames") or ()),
            non_resource_urls=tuple(rule.get("nonResourceURLs") or ()),
        )

    def to_dict(self) -> JSONDict:
        """The PolicyRule object: `verbs` always, the other lists only when non-empty (Go's omitempty)."""
        rule: JSONDict = {"verbs": list(self.verbs)}
        for key, values in (("apiGroups", self.api_groups), ("resources", self.resources),
                            ("resourceNames", self.resource_names), ("nonResourceURLs", self.non_resource_urls)):
            if values:
                rule[key] = list(values)
        return rule


def rules_of(obj: Mapping[str, Any]) -> list[PolicyRule]:
    """The rules of a Role or ClusterRole object."""
    return [PolicyRule.from_dict(rule) for rule in obj.get("rules") or ()]


@dataclass(frozen=True, slots=True)
class SubjectRules:
    """What a user may do in a namespace, as far as the resolvers could tell (SelfSubjectRulesReview).

    `errors` are resolution failures; the rules are still valid (RBAC only adds permissions) but may be
    incomplete. `incomplete` is set by a resolver that cannot list everything it would allow.
    """

    resource_rules: tuple[PolicyRule, ...] = ()
    non_resource_rules: tuple[PolicyRule, ...] = ()
    incomplete: bool = False
    errors: tuple[str, ...] = field(default=())

    @property
    def evaluation_error(self) -> str:
        """The errors as one message, joined the way upstream's error aggregate prints them."""
        return aggregate_messages(self.errors) if self.errors else ""

    def to_status(self) -> JSONDict:
        """The `SubjectRulesReviewStatus` object of a SelfSubjectRulesReview response."""
        status: JSONDict = {
            "resourceRules": [_resource_rule(rule) for rule in self.resource_rules],
            "nonResourceRules": [_non_resource_rule(rule) for rule in self.non_resource_rules],
            "incomplete": self.incomplete,
        }
        if self.errors:
            status["evaluationError"] = self.evaluation_error
        return status


def _resource_rule(rule: PolicyRule) -> JSONDict:
    entry: JSONDict = {"verbs": list(rule.verbs)}
    for key, values in (("apiGroups", rule.api_groups), ("resources", rule.resources),
                        ("resourceNames", rule.resource_names)):
        if values:
            entry[key] = list(values)
    return entry


def _non_resource_rule(rule: PolicyRule) -> JSONDict:
    entry: JSONDict = {"verbs": list(rule.verbs)}
    if rule.non_resource_urls:
        entry["nonResourceURLs"] = list(rule.non_resource_urls)
    return entry


class RuleResolver(Protocol):
    """List the rules that apply to a user in a namespace ("" for cluster-wide rules only).

    Never raises for missing roles or unreadable state: those become `SubjectRules.errors`.
    """

    async def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules: ...


class RuleSourceUnavailable(Exception):
    """The RBAC objects cannot be read right now; RBAC reports it as a resolution error, never as a denial."""


class RuleSource(Protocol):
    """Read-only access to RBAC objects, as plain (shared, never mutated) dicts.

    Getters return None when the object does not exist. Listing returns every binding of the scope, in any
    order. Any method may raise RuleSourceUnavailable when the state cannot be read.
    """

    async def get_role(self, namespace: str, name: str) -> JSONDict | None: ...

    async def get_cluster_role(self, name: str) -> JSONDict | None: ...

    async def list_role_bindings(self, namespace: str) -> Sequence[JSONDict]: ...

    async def list_cluster_role_bindings(self) -> Sequence[JSONDict]: ...
