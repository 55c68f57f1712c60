"""API Priority and Fairness configuration, compiled for the filter: which FlowSchema and priority level a
request belongs to, its flow, and each level's concurrency limit and queuing.

Matching follows kube-apiserver (k8s.io/apiserver/pkg/util/flowcontrol/rule.go): FlowSchemas are tried by
ascending matchingPrecedence, then name; a schema naming a priority level that does not exist is skipped
(dangling); a schema matches when one of its rules has a matching subject and a matching resource rule (resource
requests) or non-resource rule (other requests). The mandatory `exempt` and `catch-all` objects are added from
the bootstrap configuration when they are not stored, as upstream's controller does, so every request matches.

Concurrency limits: each level's nominal limit is ceil(server limit x its nominalConcurrencyShares / the sum of
every level's shares), as upstream computes it; lending and borrowing between levels are not implemented.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.auth.user import SERVICE_ACCOUNT_USERNAME_PREFIX, UserInfo
from apiserver.meta.requestinfo import RequestInfo
from apiserver.resources.flowcontrol.bootstrap import MANDATORY_FLOW_SCHEMAS, MANDATORY_PRIORITY_LEVELS

JSONDict = Mapping[str, Any]
DEFAULT_SHARES = 30  # v1 defaulting of nominalConcurrencyShares for Limited levels
DEFAULT_QUEUING = (64, 8, 50)  # v1 defaulting of queues, handSize, queueLengthLimit


@dataclass(frozen=True, slots=True)
class PriorityLevel:
    """One PriorityLevelConfiguration: exempt, or limited with a concurrency limit and queuing (queues 0: Reject)."""

    name: str
    uid: str
    exempt: bool
    shares: int
    concurrency_limit: int = 0
    queues: int = 0
    hand_size: int = 0
    queue_length_limit: int = 0


@dataclass(frozen=True, slots=True)
class _Subjects:
    users: frozenset[str]
    groups: frozenset[str]
    all_users: bool
    all_groups: bool
    accounts: frozenset[str]  # full user names of named ServiceAccounts
    account_namespaces: tuple[str, ...]  # "system:serviceaccount:<ns>:" for ServiceAccount name "*"

    def match(self, user: UserInfo) -> bool:
        if self.all_users or self.all_groups or user.name in self.users or user.name in self.accounts:
            return True
        if self.groups and not self.groups.isdisjoint(user.groups):
            return True
        return any(user.name.startswith(prefix) for prefix in self.account_namespaces)


@dataclass(frozen=True, slots=True)
class _ResourceRule:
    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]
    cluster_scope: bool
    namespaces: frozenset[str]

    def match(self, info: RequestInfo) -> bool:
        if not _has(self.verbs, info.verb) or not _has(self.groups, info.api_group):
            return False
        resource = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
        if not _has(self.resources, resource):
            return False
        if not info.namespace:
            return self.cluster_scope
        return _has(self.namespaces, info.namespace)


@dataclass(frozen=True, slots=True)
class _NonResourceRule:
    verbs: frozenset[str]
    urls: tuple[str, ...]

    def match(self, info: RequestInfo) -> bool:
        if not _has(self.verbs, info.verb):
            return False
        for url in self.urls:
            if url == "*" or url == info.path or (url.endswith("*") and info.path.startswith(url.rstrip("*"))):
                return True
        return False


def _has(values: frozenset[str], value: str) -> bool:
    return "*" in values or value in values


@dataclass(frozen=True, slots=True)
class _Rule:
    subjects: _Subjects
    resource_rules: tuple[_ResourceRule, ...]
    non_resource_rules: tuple[_NonResourceRule, ...]

    def match(self, user: UserInfo, info: RequestInfo) -> bool:
        if not self.subjects.match(user):
            return False
        rules = self.resource_rules if info.is_resource_request else self.non_resource_rules
        return any(rule.match(info) for rule in rules)


@dataclass(frozen=True, slots=True)
class FlowSchema:
    """A compiled FlowSchema: name, uid, precedence, the level it names, its distinguisher and rules."""

    name: str
    uid: str
    precedence: int
    level: str
    distinguisher: str
    rules: tuple[_Rule, ...]

    def match(self, user: UserInfo, info: RequestInfo) -> bool:
        return any(rule.match(user, info) for rule in self.rules)

    def flow_of(self, user: UserInfo, info: RequestInfo) -> str:
        """The flow distinguisher: the user name (ByUser), the namespace (ByNamespace) or nothing."""
        if self.distinguisher == "ByUser":
            return user.name
        return info.namespace if self.distinguisher == "ByNamespace" else ""


@dataclass(frozen=True, slots=True)
class Classification:
    schema: FlowSchema
    level: PriorityLevel
    flow: str


class FlowControlConfig:
    """Compiled FlowSchemas and priority levels; `classify` is pure and never fails for a known user."""

    def __init__(self, schemas: Sequence[FlowSchema], levels: Mapping[str, PriorityLevel]) -> None:
        self.levels = dict(levels)
        self.schemas = sorted((schema for schema in schemas if schema.level in self.levels),
                              key=lambda schema: (schema.precedence, schema.name))

    def classify(self, user: UserInfo, info: RequestInfo) -> Classification:
        for schema in self.schemas:
            if schema.match(user, info):
                return Classification(schema, self.levels[schema.level], schema.flow_of(user, info))
        catch_all = next(schema for schema in self.schemas if schema.name == "catch-all")  # matches everyone
        return Classification(catch_all, self.levels[catch_all.level], catch_all.flow_of(user, info))


def compile_config(flow_schemas: Sequence[JSONDict], priority_levels: Sequence[JSONDict],
                   server_limit: int) -> FlowControlConfig:
    """The configuration of the stored objects plus any missing mandatory one; malformed objects are skipped."""
    level_objects = _with_mandatory(priority_levels, MANDATORY_PRIORITY_LEVELS)
    schema_objects = _with_mandatory(flow_schemas, MANDATORY_FLOW_SCHEMAS)
    shares = {_name(obj): _shares(obj) for obj in level_objects}
    total = sum(shares.values()) or 1
    levels = {}
    for obj in level_objects:
        level = _priority_level(obj, math.ceil(server_limit * shares[_name(obj)] / total))
        if level is not None:
            levels[level.name] = level
    schemas = [schema for obj in schema_objects if (schema := _flow_schema(obj)) is not None]
    return FlowControlConfig(schemas, levels)


def _with_mandatory(stored: Sequence[JSONDict], mandatory: Sequence[JSONDict]) -> list[JSONDict]:
    names = {_name(obj) for obj in stored}
    return [*stored, *(obj for obj in mandatory if _name(obj) not in names)]


def _name(obj: JSONDict) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _shares(obj: JSONDict) -> int:
    spec = obj.get("spec") or {}
    if spec.get("type") == "Exempt":
        return int((spec.get("exempt") or {}).get("nominalConcurrencyShares") or 0)
    value = (spec.get("limited") or {}).get("nominalConcurrencyShares")
    return DEFAULT_SHARES if value is None else int(value)


def _priority_level(obj: JSONDict, limit: int) -> PriorityLevel | None:
    spec = obj.get("spec") or {}
    name, uid = _name(obj), str((obj.get("metadata") or {}).get("uid", ""))
    if spec.get("type") == "Exempt":
        return PriorityLevel(name, uid, exempt=True, shares=_shares(obj))
    response = (spec.get("limited") or {}).get("limitResponse") or {}
    # Upstream lets a level of 0 shares run only what it borrows; without borrowing it keeps one seat.
    level = PriorityLevel(name, uid, exempt=False, shares=_shares(obj), concurrency_limit=max(1, limit))
    if response.get("type") != "Queue":
        return level
    queuing = response.get("queuing") or {}
    queues, hand_size, length = (int(queuing.get(key) or default) for key, default in
                                 zip(("queues", "handSize", "queueLengthLimit"), DEFAULT_QUEUING, strict=True))
    return PriorityLevel(name, uid, exempt=False, shares=level.shares, concurrency_limit=level.concurrency_limit,
                         queues=queues, hand_size=min(hand_size, queues), queue_length_limit=length)


def _flow_schema(obj: JSONDict) -> FlowSchema | None:
    spec = obj.get("spec") or {}
    level = (spec.get("priorityLevelConfiguration") or {}).get("name")
    if not level:
        return None
    rules = tuple(_rule(rule) for rule in spec.get("rules") or ())
    return FlowSchema(name=_name(obj), uid=str((obj.get("metadata") or {}).get("uid", "")),
                      precedence=int(spec.get("matchingPrecedence") or 1000), level=str(level),
                      distinguisher=str((spec.get("distinguisherMethod") or {}).get("type", "")), rules=rules)


def _rule(rule: JSONDict) -> _Rule:
    return _Rule(
        subjects=_subjects(rule.get("subjects") or ()),
        resource_rules=tuple(
            _ResourceRule(frozenset(item.get("verbs") or ()), frozenset(item.get("apiGroups") or ()),
                          frozenset(item.get("resources") or ()), bool(item.get("clusterScope")),
                          frozenset(item.get("namespaces") or ()))
            for item in rule.get("resourceRules") or ()),
        non_resource_rules=tuple(
            _NonResourceRule(frozenset(item.get("verbs") or ()), tuple(item.get("nonResourceURLs") or ()))
            for item in rule.get("nonResourceRules") or ()),
    )


def _subjects(subjects: Sequence[JSONDict]) -> _Subjects:
    users, groups, accounts, namespaces = set(), set(), set(), []
    for subject in subjects:
        kind = subject.get("kind")
        if kind == "User":
            users.add(str((subject.get("user") or {}).get("name", "")))
        elif kind == "Group":
            groups.add(str((subject.get("group") or {}).get("name", "")))
        elif kind == "ServiceAccount":
            account = subject.get("serviceAccount") or {}
            prefix = f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{account.get('namespace', '')}:"
            if account.get("name") == "*":
                namespaces.append(prefix)
            else:
                accounts.add(f"{prefix}{account.get('name', '')}")
    return _Subjects(frozenset(users - {"*"}), frozenset(groups - {"*"}), "*" in users, "*" in groups,
                     frozenset(accounts), tuple(namespaces))
