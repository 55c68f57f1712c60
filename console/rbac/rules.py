"""RBAC rule semantics for the console, evaluated over objects listed through the API.

The same matching upstream's RBAC authorizer applies (pkg/apis/rbac/v1/evaluation_helpers.go): verbs, apiGroups
and resources with `*`, `resource/subresource` and `*/subresource`, resourceNames (a rule with names never
matches a request without a name), nonResourceURLs exact or with a trailing `*`; and which subjects a binding
applies to (User by name, Group by membership, ServiceAccount as `system:serviceaccount:<namespace>:<name>`).
The console may not import the server's authorizer (.importlinter), so this is our own small copy of the rules.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ALL = "*"
RBAC_GROUP = "rbac.authorization.k8s.io"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule of a Role or ClusterRole."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> Rule:
        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(value) for value in rule.get(key) or ())

        return cls(strings("verbs"), strings("apiGroups"), strings("resources"), strings("resourceNames"),
                   strings("nonResourceURLs"))


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked: a resource request (group, resource, subresource, name, namespace) or a non-resource path."""

    verb: str
    resource: str = ""
    group: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        return not self.path


@dataclass(frozen=True, slots=True)
class Subject:
    """Who asks: a user name and the groups it belongs to."""

    user: str
    groups: tuple[str, ...] = ()


def rule_allows(request: Request, rule: Rule) -> bool:
    if ALL not in rule.verbs and request.verb not in rule.verbs:
        return False
    if not request.is_resource_request:
        return any(_url_covers(url, request.path) for url in rule.non_resource_urls)
    if ALL not in rule.api_groups and request.group not in rule.api_groups:
        return False
    combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    if not any(resource in (ALL, combined) or (request.subresource and resource == f"*/{request.subresource}")
               for resource in rule.resources):
        return False
    return not rule.resource_names or request.name in rule.resource_names


def _url_covers(rule_url: str, path: str) -> bool:
    if rule_url in (ALL, path):
        return True
    return rule_url.endswith(ALL) and path.startswith(rule_url[:-1])


def allowing_rules(request: Request, rules: Iterable[Rule]) -> list[Rule]:
    return [rule for rule in rules if rule_allows(request, rule)]


def service_account_user(namespace: str, name: str) -> Subject:
    """The user a ServiceAccount token authenticates as, with the groups the server gives it."""
    return Subject(f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                   ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED))


def subject_applies(binding_subject: Mapping[str, Any], subject: Subject, binding_namespace: str) -> bool:
    """Whether one subject entry of a binding names `subject` (upstream's appliesToUser)."""
    kind = binding_subject.get("kind")
    name = str(binding_subject.get("name") or "")
    if kind == "User":
        return subject.user == name
    if kind == "Group":
        return name in subject.groups
    if kind == "ServiceAccount":
        namespace = str(binding_subject.get("namespace") or "")
        if not namespace:  # upstream refuses to guess the namespace of such a subject
            return False
        return subject.user == f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"
    return False


def parse_resource(text: str) -> tuple[str, str, str]:
    """`pods`, `pods/log`, `deployments.apps`, `deployments.apps/scale` → (resource, group, subresource)."""
    combined, _, subresource = text.strip().partition("/")
    resource, _, group = combined.partition(".")
    return resource, group, subresource
