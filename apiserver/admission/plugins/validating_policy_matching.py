"""Which requests an admission policy or binding applies to: upstream's policy matching (v1.32).

k8s.io/apiserver/pkg/admission/plugin/policy/matching and webhook/predicates/{rules,namespace,object}: the namespace
selector (cluster-scoped requests other than namespaces always pass; a namespace request is judged by its own
labels), the object selector (new or old object), excludeResourceRules, then resourceRules (none: everything) with
resourceNames. Selector errors count only once the rules matched. With matchPolicy Equivalent, a request the rules
miss matches through another served version stored at the same place (autoscaling/v1 and v2 HPAs, the versions of
a custom resource); the policy then sees the object in that version (`MatchedResource`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from apiserver.admission.interface import AdmissionAttributes, NamespaceLister
from apiserver.admission.plugins.rule_matching import (
    is_namespace_request,
    labels_of,
    object_selector_matches,
    rule_matches,
)
from apiserver.meta.errors import InternalError, NotFound
from apiserver.meta.selectors import LabelSelector, SelectorError
from apiserver.registry.catalog import ResourceCatalog

ADMISSION_GROUP: Final = "admissionregistration.k8s.io"
# Upstream's IsExemptAdmissionConfigurationResource: admission never judges its own configuration.
EXEMPT_RESOURCES: Final = frozenset({
    "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies",
    "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings",
})


class MatchError(Exception):
    """A configuration problem found while matching (a bad selector, a missing namespace): the policy's failure
    policy decides. `str(error)` is upstream's error text."""


def is_exempt(attributes: AdmissionAttributes) -> bool:
    return attributes.group == ADMISSION_GROUP and attributes.resource in EXEMPT_RESOURCES


@dataclass(frozen=True, slots=True)
class MatchedResource:
    """The resource and kind a policy matched the request as (the request's own, or an equivalent one)."""

    group: str
    version: str
    resource: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


async def matches(resources: Mapping[str, Any], attributes: AdmissionAttributes, namespaces: NamespaceLister,
                  live_namespaces: NamespaceLister | None = None,
                  catalog: ResourceCatalog | None = None) -> MatchedResource | None:
    """What `resources` (a MatchResources) selects the request as, or None; raises MatchError as upstream's
    Matches."""
    namespace_error: MatchError | None = None
    object_error: MatchError | None = None
    try:
        if not await _namespace_matches(resources.get("namespaceSelector"), attributes, namespaces, live_namespaces):
            return None
    except MatchError as error:
        namespace_error = error
    try:
        if not _object_matches(resources.get("objectSelector"), attributes):
            return None
    except MatchError as error:
        object_error = error
    equivalent = resources.get("matchPolicy") == "Equivalent"
    if _match_rules(_rules(resources.get("excludeResourceRules")), attributes, equivalent, catalog) is not None:
        return None
    rules = _rules(resources.get("resourceRules"))
    matched = _match_rules(rules, attributes, equivalent, catalog) if rules else _own(attributes)
    if matched is None:
        return None
    if namespace_error is not None:
        raise namespace_error
    if object_error is not None:
        raise object_error
    return matched


def _own(attributes: AdmissionAttributes) -> MatchedResource:
    return MatchedResource(attributes.group, attributes.version, attributes.resource, attributes.kind)


def _match_rules(rules: Sequence[Mapping[str, Any]], attributes: AdmissionAttributes, equivalent: bool,
                 catalog: ResourceCatalog | None) -> MatchedResource | None:
    """upstream's matchesResourceRules: the rules as they are, then (Equivalent) through other versions."""
    if rules_match(rules, attributes):
        return _own(attributes)
    if not equivalent or catalog is None:
        return None
    spec = catalog.lookup(attributes.group, attributes.version, attributes.resource)
    if spec is None:
        return None
    for rule in rules:
        for other in catalog.sharing_storage(spec):
            if other.version == attributes.version:
                continue  # upstream skips every equivalent of the request's own version
            target = MatchedResource(other.group, other.version, other.plural,
                                     attributes.kind if attributes.subresource else other.kind)
            if _rule_matches(rule, attributes, target) and _name_matches(rule, attributes):
                return target
    return None


def rules_match(rules: Sequence[Mapping[str, Any]], attributes: AdmissionAttributes) -> bool:
    """Any NamedRuleWithOperations matches the request as it is."""
    return any(_rule_matches(rule, attributes, _own(attributes)) and _name_matches(rule, attributes)
               for rule in rules)


def _rule_matches(rule: Mapping[str, Any], attributes: AdmissionAttributes, target: MatchedResource) -> bool:
    return rule_matches(rule, attributes, target.group, target.version, target.resource)


def _name_matches(rule: Mapping[str, Any], attributes: AdmissionAttributes) -> bool:
    """An empty resourceNames list matches every name."""
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names


def _selector(selector: object) -> LabelSelector:
    if not isinstance(selector, Mapping):
        return LabelSelector()
    try:
        return LabelSelector.from_label_selector(selector)
    except SelectorError as error:
        raise MatchError(InternalError(error.message).message) from None


async def _namespace_matches(selector: object, attributes: AdmissionAttributes, namespaces: NamespaceLister,
                             live_namespaces: NamespaceLister | None) -> bool:
    if not attributes.namespace and not is_namespace_request(attributes):
        return True  # a cluster-scoped request other than a namespace is never exempted
    parsed = _selector(selector)
    if parsed.is_empty():
        return True
    return parsed.matches(await namespace_labels(attributes, namespaces, live_namespaces))


async def namespace_labels(attributes: AdmissionAttributes, namespaces: NamespaceLister,
                           live_namespaces: NamespaceLister | None) -> Mapping[str, str]:
    """The labels the namespace selector sees: a namespace request's own object, else the request's namespace
    (from the cache, then from storage); MatchError with the NotFound text when it does not exist."""
    if is_namespace_request(attributes):
        own = attributes.object if attributes.object is not None else attributes.old_object
        return labels_of(own)
    namespace = await namespace_object(attributes.namespace, namespaces, live_namespaces)
    if namespace is None:
        raise MatchError(NotFound("namespaces", attributes.namespace).message)
    return labels_of(namespace)


async def namespace_object(name: str, namespaces: NamespaceLister,
                           live_namespaces: NamespaceLister | None) -> Mapping[str, Any] | None:
    """The namespace from the cache, or from storage when the cache does not have it (yet)."""
    found = await namespaces.get(name)
    if found is None and live_namespaces is not None:
        found = await live_namespaces.get(name)
    return found


def _object_matches(selector: object, attributes: AdmissionAttributes) -> bool:
    return object_selector_matches(_selector(selector), attributes)


def _rules(value: object) -> list[Mapping[str, Any]]:
    return [rule for rule in value if isinstance(rule, Mapping)] if isinstance(value, list) else []

