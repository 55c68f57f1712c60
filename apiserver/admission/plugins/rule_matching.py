"""Whether an admission rule covers a request, and whether an object selector does: what admission webhooks and
admission policies decide alike.

Upstream's k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules (Matcher: scope, operations, API groups
and versions, resources with `*` and `resource/subresource`) and predicates/object (the new or the old object's
labels), which the webhook and the generic policy matcher share. The group, version and resource a rule is
checked against are the request's own or, under matchPolicy Equivalent, those of an equivalent resource; the
scope is always judged on the request itself.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiserver.admission.interface import AdmissionAttributes
from apiserver.meta.selectors import LabelSelector


def rule_matches(rule: Mapping[str, Any], attributes: AdmissionAttributes, group: str, version: str,
                 resource: str) -> bool:
    """rules.Matcher.Matches for a RuleWithOperations, with `group/version/resource` standing for the request's."""
    return (_scope_matches(rule.get("scope"), attributes)
            and _listed(rule.get("operations"), str(attributes.operation))
            and _listed(rule.get("apiGroups"), group)
            and _listed(rule.get("apiVersions"), version)
            and _resource_matches(rule.get("resources"), resource, attributes.subresource))


def _listed(values: object, value: str) -> bool:
    return isinstance(values, list | tuple) and any(entry in ("*", value) for entry in values)


def is_namespace_request(attributes: AdmissionAttributes) -> bool:
    """A request on a Namespace object itself (which is cluster-scoped)."""
    return (attributes.group, attributes.version, attributes.resource) == ("", "v1", "namespaces")


def _scope_matches(scope: object, attributes: AdmissionAttributes) -> bool:
    if scope is None or scope == "*":
        return True
    if scope == "Namespaced":
        return not is_namespace_request(attributes) and bool(attributes.namespace)
    if scope == "Cluster":
        return is_namespace_request(attributes) or not attributes.namespace
    return False


def _resource_matches(resources: object, resource: str, subresource: str) -> bool:
    for entry in resources if isinstance(resources, list | tuple) else ():
        name, _, sub = str(entry).partition("/")
        if name in ("*", resource) and sub in ("*", subresource):
            return True
    return False


def labels_of(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    """An object's metadata.labels (none when absent or malformed)."""
    metadata = (obj or {}).get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    return labels if isinstance(labels, Mapping) else {}


def object_selector_matches(selector: LabelSelector, attributes: AdmissionAttributes) -> bool:
    """object.Matcher: an empty selector matches; else the new or the old object must carry matching labels."""
    if selector.is_empty():
        return True
    return any(obj is not None and selector.matches(labels_of(obj))
               for obj in (attributes.object, attributes.old_object))
