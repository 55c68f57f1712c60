"""The audit policy (`--audit-policy-file`): which requests are audited, at which level, and which stages are kept.

Reproduces k8s.io/apiserver/pkg/audit/policy (reader.go, checker.go) and apis/audit/validation for
`apiVersion: audit.k8s.io/v1`, `kind: Policy`:
- Rules are tried in order; the first that matches decides. No rule matching means level None.
- Within a rule every given field must match: `users`, `userGroups` (any group), `verbs`, then either
  `resources`/`namespaces` (resource requests only; `""` names cluster-scoped requests; `resources` entries match
  `pods`, `pods/log`, `*`, `*/status`, `pods/*`, optionally restricted by `resourceNames`) or `nonResourceURLs`
  (non-resource requests only; exact, `*`, or a prefix ending in `*`).
- A rule's `omitStages` are joined with the policy's; `omitManagedFields` defaults to the policy's.
Unknown fields are ignored, as upstream's (non-strict) decoder does.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.meta.identity import UserInfo
from apiserver.meta.requestinfo import RequestInfo
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, aggregate_messages, name_is_dns_subdomain

API_VERSION: Final = "audit.k8s.io/v1"


class Level(enum.StrEnum):
    """How much of a request is recorded, in increasing order."""

    NONE = "None"
    METADATA = "Metadata"
    REQUEST = "Request"
    REQUEST_RESPONSE = "RequestResponse"

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)

    def at_least(self, other: Level) -> bool:
        return self.rank >= other.rank


_LEVEL_ORDER: Final = (Level.NONE, Level.METADATA, Level.REQUEST, Level.REQUEST_RESPONSE)


class Stage(enum.StrEnum):
    REQUEST_RECEIVED = "RequestReceived"
    RESPONSE_STARTED = "ResponseStarted"
    RESPONSE_COMPLETE = "ResponseComplete"
    PANIC = "Panic"


class AuditPolicyError(ValueError):
    """The policy file cannot be used; the message is upstream's."""


@dataclass(frozen=True, slots=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()

    def matches(self, info: RequestInfo) -> bool:
        if self.group != info.api_group:
            return False
        if not self.resources:
            return True
        if self.resource_names and info.name not in self.resource_names:
            return False
        return any(_resource_matches(pattern, info.resource, info.subresource) for pattern in self.resources)


def _resource_matches(pattern: str, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    if pattern in (combined, "*"):
        return True
    if subresource and pattern.startswith("*/") and pattern[2:] == subresource:
        return True
    return pattern.endswith("/*") and pattern[:-2] == resource


@dataclass(frozen=True, slots=True)
class PolicyRule:
    level: str
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool | None = None

    def matches(self, user: UserInfo | None, info: RequestInfo) -> bool:
        """checker.go's ruleMatches."""
        if self.users and (user is None or user.name not in self.users):
            return False
        if self.user_groups and (user is None or not any(group in self.user_groups for group in user.groups)):
            return False
        if self.verbs and info.verb not in self.verbs:
            return False
        if self.namespaces or self.resources:
            return self._matches_resource(info)
        if self.non_resource_urls:
            return not info.is_resource_request and any(_path_matches(info.path, url) for url in self.non_resource_urls)
        return True

    def _matches_resource(self, info: RequestInfo) -> bool:
        if not info.is_resource_request:
            return False
        if self.namespaces and info.namespace not in self.namespaces:
            return False
        return not self.resources or any(group.matches(info) for group in self.resources)


def _path_matches(path: str, url: str) -> bool:
    return url in ("*", path) or (url.endswith("*") and path.startswith(url.rstrip("*")))


@dataclass(frozen=True, slots=True)
class RequestAuditConfig:
    """What the policy decided for one request."""

    level: Level
    omit_stages: frozenset[Stage] = frozenset()
    omit_managed_fields: bool = False


@dataclass(frozen=True, slots=True)
class AuditPolicy:
    rules: tuple[PolicyRule, ...]
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool = False

    def evaluate(self, user: UserInfo | None, info: RequestInfo) -> RequestAuditConfig:
        """The level, omitted stages and managed-fields choice of the first matching rule (None when none does)."""
        for rule in self.rules:
            if rule.matches(user, info):
                omit_managed = rule.omit_managed_fields
                if omit_managed is None:
                    omit_managed = self.omit_managed_fields
                stages = frozenset(Stage(stage) for stage in (*self.omit_stages, *rule.omit_stages))
                return RequestAuditConfig(Level(rule.level), stages, omit_managed)
        return RequestAuditConfig(Level.NONE, frozenset(Stage(stage) for stage in self.omit_stages),
                                  self.omit_managed_fields)


def load_policy_file(path: str) -> AuditPolicy:
    """Read and validate `--audit-policy-file`. Raises AuditPolicyError with upstream's wording."""
    if not path:
        raise AuditPolicyError("file path not specified")
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise AuditPolicyError(f'failed to read file path "{path}": open {path}: {error.strerror}') from None
    try:
        return parse_policy(data)
    except AuditPolicyError as error:
        raise AuditPolicyError(f"{error}: from file {path}") from None


def parse_policy(data: bytes | str) -> AuditPolicy:
    """Decode and validate a policy document. Raises AuditPolicyError."""
    try:
        policy = _decode(yaml.safe_load(data))
    except (yaml.YAMLError, _DecodeError) as error:
        raise AuditPolicyError(f"failed decoding: {error}") from None
    if errors := validate_policy(policy):
        raise AuditPolicyError(aggregate_messages(map(str, errors)))
    if not policy.rules:
        raise AuditPolicyError("loaded illegal policy with 0 rules")
    return policy


class _DecodeError(Exception):
    pass


def _decode(document: object) -> AuditPolicy:
    root = _mapping(document, "Policy")
    api_version, kind = root.get("apiVersion", ""), root.get("kind", "")
    if not kind:
        raise _DecodeError("Object 'Kind' is missing in the policy")
    if api_version != API_VERSION or kind != "Policy":
        raise _DecodeError(f'no kind "{kind}" is registered for version "{api_version}"')
    rules = tuple(_rule(_mapping(rule, "PolicyRule")) for rule in _list(root.get("rules"), "rules"))
    return AuditPolicy(rules, _strings(root.get("omitStages"), "omitStages"),
                       _boolean(root.get("omitManagedFields"), "omitManagedFields") or False)


def _rule(fields: Mapping[str, Any]) -> PolicyRule:
    level = fields.get("level") or ""
    if not isinstance(level, str):
        raise _DecodeError("level: expected a string")
    items = _list(fields.get("resources"), "resources")
    resources = tuple(_group_resources(_mapping(item, "GroupResources")) for item in items)
    return PolicyRule(
        level=level,
        users=_strings(fields.get("users"), "users"),
        user_groups=_strings(fields.get("userGroups"), "userGroups"),
        verbs=_strings(fields.get("verbs"), "verbs"),
        resources=resources,
        namespaces=_strings(fields.get("namespaces"), "namespaces"),
        non_resource_urls=_strings(fields.get("nonResourceURLs"), "nonResourceURLs"),
        omit_stages=_strings(fields.get("omitStages"), "omitStages"),
        omit_managed_fields=_boolean(fields.get("omitManagedFields"), "omitManagedFields"),
    )


def _group_resources(fields: Mapping[str, Any]) -> GroupResources:
    group = fields.get("group") or ""
    if not isinstance(group, str):
        raise _DecodeError("group: expected a string")
    return GroupResources(group, _strings(fields.get("resources"), "resources"),
                          _strings(fields.get("resourceNames"), "resourceNames"))


def _mapping(value: object, type_name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _DecodeError(f"cannot unmarshal {type(value).__name__} into Go value of type {type_name}")
    return value


def _list(value: object, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _DecodeError(f"{field}: expected a list")
    return value


def _strings(value: object, field: str) -> tuple[str, ...]:
    items = _list(value, field)
    # YAML reads `""` as the empty string and a bare empty entry as null; both mean "" (cluster-scoped) here.
    if not all(item is None or isinstance(item, str) for item in items):
        raise _DecodeError(f"{field}: expected a list of strings")
    return tuple(item or "" for item in items)


def _boolean(value: object, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _DecodeError(f"{field}: expected a boolean")


_VALID_LEVELS: Final = tuple(str(level) for level in _LEVEL_ORDER)
_VALID_STAGES: Final = tuple(str(stage) for stage in Stage)


def validate_policy(policy: AuditPolicy) -> FieldErrors:
    """apis/audit/validation.ValidatePolicy."""
    errors = _omit_stages_errors(policy.omit_stages, FieldPath("omitStages"))
    for index, rule in enumerate(policy.rules):
        errors += _rule_errors(rule, FieldPath("rules").index(index))
    return errors


def _rule_errors(rule: PolicyRule, path: FieldPath) -> FieldErrors:
    errors = _level_errors(rule.level, path.child("level"))
    errors += _non_resource_url_errors(rule.non_resource_urls, path.child("nonResourceURLs"))
    errors += _resources_errors(rule.resources, path.child("resources"))
    errors += _omit_stages_errors(rule.omit_stages, path.child("omitStages"))
    if rule.non_resource_urls and (rule.resources or rule.namespaces):
        errors.append(FieldError.invalid(path.child("nonResourceURLs"), list(rule.non_resource_urls),
                                         "rules cannot apply to both regular resources and non-resource URLs"))
    return errors


def _level_errors(level: str, path: FieldPath) -> FieldErrors:
    if level in _VALID_LEVELS:
        return []
    if not level:
        return [FieldError.required(path)]
    return [FieldError.not_supported(path, level, _VALID_LEVELS)]


def _non_resource_url_errors(urls: Sequence[str], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, url in enumerate(urls):
        if url == "*":
            continue
        if not url.startswith("/"):
            errors.append(FieldError.invalid(
                path.index(index), url, "non-resource URL rules must begin with a '/' character"))
        if url and "*" in url[:-1]:
            errors.append(FieldError.invalid(
                path.index(index), url, "non-resource URL wildcards '*' must be the final character of the rule"))
    return errors


def _resources_errors(groups: Sequence[GroupResources], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for group in groups:
        if group.group and (messages := name_is_dns_subdomain(group.group)):
            errors.append(FieldError.invalid(path.child("group"), group.group, ",".join(messages)))
        if group.resource_names and not group.resources:
            errors.append(FieldError.invalid(path.child("resourceNames"), list(group.resource_names),
                                             "using resourceNames requires at least one resource"))
    return errors


def _omit_stages_errors(stages: Sequence[str], path: FieldPath) -> FieldErrors:
    return [
        FieldError.invalid(path.index(index), stage, "allowed stages are " + ",".join(_VALID_STAGES))
        for index, stage in enumerate(stages)
        if stage not in _VALID_STAGES
    ]
