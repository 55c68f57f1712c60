"""RBAC rules as values: matching a request, covering other rules, compacting, describing and aggregating.

Re-implements the rule semantics of kube-apiserver: rule matching from pkg/apis/rbac/v1/evaluation_helpers.go
(`*` wildcards, `resource/subresource`, `*/subresource`, resourceNames, nonResourceURLs with a trailing `*`),
covering from component-helpers/auth/rbac/validation/policy_comparator.go (rules broken down to one verb,
group, resource and name each), CompactRules and CompactString for escalation messages, and the rule merge of
the ClusterRole aggregation controller (pkg/controller/clusterroleaggregation).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from apiserver.auth.authz.interface import Attributes, PolicyRule
from apiserver.meta.errors import go_quote
from apiserver.meta.objects import JSONDict, labels_of, name_of
from apiserver.meta.selectors import LabelSelector

ALL = "*"
_EMPTY: tuple[object, ...] = (None, [], {})


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: PolicyRule, combined_resource: str, subresource: str) -> bool:
    """`combined_resource` is `resource` or `resource/subresource`; `*/subresource` matches any resource's."""
    for resource in rule.resources:
        if resource in (ALL, combined_resource):
            return True
        if subresource and resource == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    """A rule without resourceNames matches any name; with them, only a request naming one of them, so a
    create or a list (no name) never matches such a rule."""
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    return any(_url_covers(url, path) for url in rule.non_resource_urls)


def _url_covers(rule_url: str, path: str) -> bool:
    if rule_url in (ALL, path):
        return True
    return rule_url.endswith(ALL) and path.startswith(rule_url.rstrip(ALL))


def rule_allows(attributes: Attributes, rule: PolicyRule) -> bool:
    """Whether one rule allows the request (upstream's RuleAllows)."""
    if not verb_matches(rule, attributes.verb):
        return False
    if not attributes.is_resource_request:
        return non_resource_url_matches(rule, attributes.path)
    combined = attributes.resource
    if attributes.subresource:
        combined = f"{attributes.resource}/{attributes.subresource}"
    return (api_group_matches(rule, attributes.api_group)
            and resource_matches(rule, combined, attributes.subresource)
            and resource_name_matches(rule, attributes.name))


def rules_allow(attributes: Attributes, rules: Iterable[PolicyRule]) -> bool:
    return any(rule_allows(attributes, rule) for rule in rules)


# --- Covering ----------------------------------------------------------------------------------------------

def breakdown_rule(rule: PolicyRule) -> list[PolicyRule]:
    """The equivalent rules with at most one verb, group, resource and resource name each, in upstream's order."""
    subrules = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                single = PolicyRule(verbs=(verb,), api_groups=(group,), resources=(resource,))
                if not rule.resource_names:
                    subrules.append(single)
                subrules.extend(replace(single, resource_names=(name,)) for name in rule.resource_names)
    for url in rule.non_resource_urls:
        subrules.extend(PolicyRule(verbs=(verb,), non_resource_urls=(url,)) for verb in rule.verbs)
    return subrules


def covers(owner_rules: Sequence[PolicyRule], servant_rules: Iterable[PolicyRule]) -> tuple[bool, list[PolicyRule]]:
    """Whether `owner_rules` allow everything `servant_rules` allow, and the broken-down rules they do not."""
    uncovered = [
        subrule
        for servant in servant_rules
        for subrule in breakdown_rule(servant)
        if not any(_rule_covers(owner, subrule) for owner in owner_rules)
    ]
    return not uncovered, uncovered


def _rule_covers(owner: PolicyRule, subrule: PolicyRule) -> bool:
    if not (ALL in owner.verbs or set(subrule.verbs) <= set(owner.verbs)):
        return False
    if not (ALL in owner.api_groups or set(subrule.api_groups) <= set(owner.api_groups)):
        return False
    if not _resources_cover(owner.resources, subrule.resources):
        return False
    if not all(any(_url_covers(url, path) for url in owner.non_resource_urls) for path in subrule.non_resource_urls):
        return False
    if not subrule.resource_names:
        return not owner.resource_names
    return not owner.resource_names or set(subrule.resource_names) <= set(owner.resource_names)


def _resources_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    if ALL in owned:
        return True
    for resource in wanted:
        if resource in owned:
            continue
        # Only a subresource can be covered by a `*/subresource` rule.
        if "/" not in resource or "*/" + resource.split("/", 1)[1] not in owned:
            return False
    return True


# --- Escalation messages -----------------------------------------------------------------------------------

def compact_rules(rules: Iterable[PolicyRule]) -> list[PolicyRule]:
    """Merge rules that name one group and one resource and nothing but verbs (upstream's CompactRules)."""
    compacted: list[PolicyRule] = []
    simple: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        if rule.resource_names or rule.non_resource_urls or len(rule.api_groups) != 1 or len(rule.resources) != 1:
            compacted.append(rule)
            continue
        simple.setdefault((rule.api_groups[0], rule.resources[0]), []).extend(rule.verbs)
    compacted.extend(
        PolicyRule(verbs=tuple(verbs), api_groups=(group,), resources=(resource,))
        for (group, resource), verbs in simple.items()
    )
    return compacted


def compact_string(rule: PolicyRule) -> str:
    """`{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`, as upstream's CompactString prints a rule."""
    parts = [
        f"{label}:[{' '.join(go_quote(value) for value in values)}]"
        for label, values in (("APIGroups", rule.api_groups), ("Resources", rule.resources),
                              ("NonResourceURLs", rule.non_resource_urls), ("ResourceNames", rule.resource_names),
                              ("Verbs", rule.verbs))
        if values
    ]
    return "{" + ", ".join(parts) + "}"


# --- Aggregation -------------------------------------------------------------------------------------------

def has_aggregation_rule(cluster_role: Mapping[str, Any]) -> bool:
    """A ClusterRole whose rules are maintained by aggregation (a rule with at least one selector)."""
    rule = cluster_role.get("aggregationRule") or {}
    return bool(rule.get("clusterRoleSelectors"))


def aggregate_rules(
    cluster_role: Mapping[str, Any], cluster_roles: Iterable[Mapping[str, Any]]
) -> list[JSONDict] | None:
    """The rules the aggregation controller gives `cluster_role`, or None if it has no aggregationRule.

    For each selector in order, the selected ClusterRoles (by name, never the role itself) contribute their
    rules in order, each rule once. Raises SelectorError for a selector upstream cannot convert.
    """
    aggregation = cluster_role.get("aggregationRule")
    if aggregation is None:
        return None
    own_name = name_of(cluster_role)
    candidates = sorted(cluster_roles, key=name_of)
    merged: list[PolicyRule] = []
    for selector_object in aggregation.get("clusterRoleSelectors") or ():
        selector = LabelSelector.from_label_selector(selector_object or {})
        for other in candidates:
            if name_of(other) == own_name or not selector.matches(labels_of(other)):
                continue
            merged.extend(rule for rule in map(PolicyRule.from_dict, other.get("rules") or ()) if rule not in merged)
    return [rule.to_dict() for rule in merged]


def rules_equal(left: Iterable[Mapping[str, Any]], right: Iterable[Mapping[str, Any]]) -> bool:
    """Rule lists equal as upstream's semantic equality sees them (null and empty lists alike)."""
    return [PolicyRule.from_dict(rule) for rule in left] == [PolicyRule.from_dict(rule) for rule in right]


def semantically_equal(left: Any, right: Any) -> bool:
    """Equality of decoded objects as upstream's semantic DeepEqual sees Go structs: a null, an empty list and
    an empty map are the same as an absent field."""
    return bool(_without_empty(left) == _without_empty(right))


def _without_empty(value: Any) -> Any:
    if isinstance(value, Mapping):
        normalized = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in normalized.items() if item not in _EMPTY}
    if isinstance(value, list | tuple):
        return [_without_empty(item) for item in value]
    return value
