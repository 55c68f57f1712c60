"""Scheduling constraints of a PodSpec: affinity, topology spread constraints, readiness and scheduling gates.

Upstream v1.32's validateAffinity (node selector terms, pod (anti-)affinity terms with matchLabelKeys and
mismatchLabelKeys), validateTopologySpreadConstraints, validateReadinessGates and validateSchedulingGates, with
their messages and field paths, quirks included (a term's namespaces are reported at `.namespace`, a
matchLabelKeys/labelSelector clash at the term's path indexed by the key's position). `mutate_pod_affinity` is
the create-time merge of matchLabelKeys/mismatchLabelKeys into the term's labelSelector (MatchLabelKeysInPodAffinity,
on by default in v1.32).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.selector_validation import (
    INVALID_OPERATOR_MESSAGE,
    SET_OPERATORS,
    label_value_errors,
    set_operator_errors,
    validate_label_selector,
)
from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_label_name,
)
from apiserver.resources.core.podspec_fields import items, mapping, number, text

WEIGHT_MESSAGE: Final = "must be in the range 1-100"
NOT_POSITIVE_MESSAGE: Final = "must be greater than zero"
WHEN_UNSATISFIABLE: Final = ("DoNotSchedule", "ScheduleAnyway")
NODE_INCLUSION_POLICIES: Final = ("Honor", "Ignore")
REQUIRED: Final = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED: Final = "preferredDuringSchedulingIgnoredDuringExecution"
NO_SELECTOR_MESSAGE: Final = "must not be specified when labelSelector is not set"


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def validate_node_selector_requirement(requirement: Mapping[str, Any], path: FieldPath, *,
                                       allow_invalid_values: bool) -> FieldErrors:
    """ValidateNodeSelectorRequirement."""
    errors: FieldErrors = []
    operator, values = requirement.get("operator"), _strings(requirement.get("values"))
    if operator in SET_OPERATORS:
        errors.extend(set_operator_errors(str(operator), values, path))
    elif operator in ("Gt", "Lt"):
        if len(values) != 1:
            errors.append(FieldError.required(path.child("values"),
                                              "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    else:
        errors.append(FieldError.invalid(path.child("operator"), text(operator), INVALID_OPERATOR_MESSAGE))
    errors.extend(validate_label_name(text(requirement.get("key")), path.child("key")))
    if not allow_invalid_values:
        errors.extend(label_value_errors(values, path.child("values")))
    return errors


def validate_node_field_requirement(requirement: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateNodeFieldSelectorRequirement: only `metadata.name` In/NotIn one node name."""
    errors: FieldErrors = []
    operator, values = requirement.get("operator"), _strings(requirement.get("values"))
    if operator in ("In", "NotIn"):
        if len(values) != 1:
            errors.append(FieldError.required(path.child("values"), "must be only one value when `operator` is "
                                                                    "'In' or 'NotIn' for node field selector"))
    else:
        errors.append(FieldError.invalid(path.child("operator"), text(operator), "not a valid selector operator"))
    key = text(requirement.get("key"))
    if key != "metadata.name":
        errors.append(FieldError.invalid(path.child("key"), key, "not a valid field selector key"))
    else:
        for index, value in enumerate(values):
            errors.extend(FieldError.invalid(path.child("values").index(index), value, message)
                          for message in is_dns1123_subdomain(value))
    return errors


def validate_node_selector_term(term: Mapping[str, Any], path: FieldPath, *, allow_invalid_values: bool) -> FieldErrors:
    errors: FieldErrors = []
    for index, requirement in enumerate(items(term.get("matchExpressions"))):
        errors.extend(validate_node_selector_requirement(requirement, path.child("matchExpressions").index(index),
                                                         allow_invalid_values=allow_invalid_values))
    for index, requirement in enumerate(items(term.get("matchFields"))):
        errors.extend(validate_node_field_requirement(requirement, path.child("matchFields").index(index)))
    return errors


def validate_node_selector(selector: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateNodeSelector: at least one term."""
    terms_path = path.child("nodeSelectorTerms")
    terms = items(selector.get("nodeSelectorTerms"))
    if not terms:
        return [FieldError.required(terms_path, "must have at least one node selector term")]
    errors: FieldErrors = []
    for index, term in enumerate(terms):
        errors.extend(validate_node_selector_term(term, terms_path.index(index), allow_invalid_values=False))
    return errors


def _weight_errors(weight: object, path: FieldPath) -> FieldErrors:
    value = number(weight) or 0
    return [FieldError.invalid(path, value, WEIGHT_MESSAGE)] if not 1 <= value <= 100 else []


def _validate_node_affinity(affinity: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    required = affinity.get(REQUIRED)
    if isinstance(required, Mapping):
        errors.extend(validate_node_selector(required, path.child(REQUIRED)))
    for index, term in enumerate(items(affinity.get(PREFERRED))):
        term_path = path.child(PREFERRED).index(index)
        errors.extend(_weight_errors(term.get("weight"), term_path.child("weight")))
        errors.extend(validate_node_selector_term(mapping(term.get("preference")), term_path.child("preference"),
                                                  allow_invalid_values=True))
    return errors


def _label_keys_errors(keys: list[str], selector: object, path: FieldPath) -> FieldErrors:
    """validateLabelKeys."""
    if not keys:
        return []
    if not isinstance(selector, Mapping):
        return [FieldError.forbidden(path, NO_SELECTOR_MESSAGE)]
    errors: FieldErrors = []
    for index, key in enumerate(keys):
        errors.extend(validate_label_name(key, path.index(index)))
    return errors


def _match_label_keys_errors(term: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateMatchLabelKeysAndMismatchLabelKeys."""
    selector = term.get("labelSelector")
    match_keys, mismatch_keys = _strings(term.get("matchLabelKeys")), _strings(term.get("mismatchLabelKeys"))
    errors = _label_keys_errors(match_keys, selector, path.child("matchLabelKeys"))
    errors.extend(_label_keys_errors(mismatch_keys, selector, path.child("mismatchLabelKeys")))
    if isinstance(selector, Mapping):
        positions = {key: index for index, key in enumerate(match_keys)}
        selector_keys = set(mapping(selector.get("matchLabels")))
        for expression in items(selector.get("matchExpressions")):
            key = text(expression.get("key"))
            if key in positions and key in selector_keys:
                errors.append(FieldError.invalid(path.index(positions[key]), key,
                                                 "exists in both matchLabelKeys and labelSelector"))
            selector_keys.add(key)
    for index, key in enumerate(match_keys):
        if key in mismatch_keys:
            errors.append(FieldError.invalid(path.child("matchLabelKeys").index(index), key,
                                             "exists in both matchLabelKeys and mismatchLabelKeys"))
    return errors


def validate_pod_affinity_term(term: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validatePodAffinityTerm."""
    errors = validate_label_selector(term.get("labelSelector"), path.child("labelSelector"))
    errors.extend(validate_label_selector(term.get("namespaceSelector"), path.child("namespaceSelector")))
    for namespace in _strings(term.get("namespaces")):
        errors.extend(FieldError.invalid(path.child("namespace"), namespace, message)
                      for message in is_dns1123_label(namespace))
    errors.extend(_match_label_keys_errors(term, path))
    topology_key = text(term.get("topologyKey"))
    if not topology_key:
        errors.append(FieldError.required(path.child("topologyKey"), "can not be empty"))
    errors.extend(validate_label_name(topology_key, path.child("topologyKey")))
    return errors


def _validate_pod_affinity(affinity: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, term in enumerate(items(affinity.get(REQUIRED))):
        errors.extend(validate_pod_affinity_term(term, path.child(REQUIRED).index(index)))
    for index, weighted in enumerate(items(affinity.get(PREFERRED))):
        term_path = path.child(PREFERRED).index(index)
        errors.extend(_weight_errors(weighted.get("weight"), term_path.child("weight")))
        errors.extend(validate_pod_affinity_term(mapping(weighted.get("podAffinityTerm")),
                                                 term_path.child("podAffinityTerm")))
    return errors


def validate_affinity(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateAffinity at `path` (spec.affinity)."""
    affinity = spec.get("affinity")
    if not isinstance(affinity, Mapping):
        return []
    errors: FieldErrors = []
    if isinstance(affinity.get("nodeAffinity"), Mapping):
        errors.extend(_validate_node_affinity(affinity["nodeAffinity"], path.child("nodeAffinity")))
    for key in ("podAffinity", "podAntiAffinity"):
        if isinstance(affinity.get(key), Mapping):
            errors.extend(_validate_pod_affinity(affinity[key], path.child(key)))
    return errors


def _apply_label_keys(term: Any, labels: Mapping[str, Any]) -> None:
    selector = term.get("labelSelector") if isinstance(term, dict) else None
    if not isinstance(selector, dict):
        return
    additions = [{"key": key, "operator": operator, "values": [labels[key]]}
                 for field, operator in (("matchLabelKeys", "In"), ("mismatchLabelKeys", "NotIn"))
                 for key in _strings(term.get(field)) if isinstance(labels.get(key), str)]
    if additions:
        expressions = selector.get("matchExpressions")
        selector["matchExpressions"] = (expressions if isinstance(expressions, list) else []) + additions


def mutate_pod_affinity(pod: Mapping[str, Any]) -> None:
    """On create, each pod (anti-)affinity term's matchLabelKeys (In) and mismatchLabelKeys (NotIn) become
    matchExpressions of its labelSelector, with the pod's own label values (upstream's mutatePodAffinity)."""
    labels = mapping(mapping(pod.get("metadata")).get("labels"))
    affinity = mapping(mapping(pod.get("spec")).get("affinity"))
    for key in ("podAffinity", "podAntiAffinity"):
        terms = mapping(affinity.get(key))
        for term in terms.get(REQUIRED) or ():
            _apply_label_keys(term, labels)
        for weighted in terms.get(PREFERRED) or ():
            if isinstance(weighted, dict):
                _apply_label_keys(weighted.get("podAffinityTerm"), labels)


def _validate_spread_constraint(constraint: Mapping[str, Any], rest: list[Mapping[str, Any]],
                                path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    max_skew = number(constraint.get("maxSkew")) or 0
    if max_skew <= 0:
        errors.append(FieldError.invalid(path.child("maxSkew"), max_skew, NOT_POSITIVE_MESSAGE))
    topology_key, action = text(constraint.get("topologyKey")), text(constraint.get("whenUnsatisfiable"))
    if not topology_key:
        errors.append(FieldError.required(path.child("topologyKey"), "can not be empty"))
    if action not in WHEN_UNSATISFIABLE:
        errors.append(FieldError.not_supported(path.child("whenUnsatisfiable"), action, WHEN_UNSATISFIABLE))
    if any(text(other.get("topologyKey")) == topology_key and text(other.get("whenUnsatisfiable")) == action
           for other in rest):
        errors.append(FieldError.duplicate(path.child("{topologyKey, whenUnsatisfiable}"),
                                           f"{{{topology_key}, {action}}}"))
    min_domains = number(constraint.get("minDomains"))
    if min_domains is not None:
        if min_domains <= 0:
            errors.append(FieldError.invalid(path.child("minDomains"), min_domains, NOT_POSITIVE_MESSAGE))
        if action != "DoNotSchedule":
            detail = f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"
            errors.append(FieldError.invalid(path.child("minDomains"), min_domains, detail))
    for key in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
        policy = constraint.get(key)
        if policy is not None and policy not in NODE_INCLUSION_POLICIES:
            errors.append(FieldError.not_supported(path.child(key), policy, NODE_INCLUSION_POLICIES))
    errors.extend(_spread_label_keys_errors(constraint, path.child("matchLabelKeys")))
    errors.extend(validate_label_selector(constraint.get("labelSelector"), path.child("labelSelector")))
    return errors


def _spread_label_keys_errors(constraint: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateMatchLabelKeysInTopologySpread."""
    keys = _strings(constraint.get("matchLabelKeys"))
    if not keys:
        return []
    selector = constraint.get("labelSelector")
    errors: FieldErrors = []
    selector_keys: set[str] = set()
    if isinstance(selector, Mapping):
        selector_keys.update(mapping(selector.get("matchLabels")))
        selector_keys.update(text(expression.get("key")) for expression in items(selector.get("matchExpressions")))
    else:
        errors.append(FieldError.forbidden(path, NO_SELECTOR_MESSAGE))
    for index, key in enumerate(keys):
        errors.extend(validate_label_name(key, path.index(index)))
        if key in selector_keys:
            errors.append(FieldError.invalid(path.index(index), key, "exists in both matchLabelKeys and labelSelector"))
    return errors


def validate_topology_spread_constraints(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateTopologySpreadConstraints at `path` (spec.topologySpreadConstraints)."""
    constraints = items(spec.get("topologySpreadConstraints"))
    errors: FieldErrors = []
    for index, constraint in enumerate(constraints):
        errors.extend(_validate_spread_constraint(constraint, constraints[index + 1:], path.index(index)))
    return errors


def validate_readiness_gates(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, gate in enumerate(items(spec.get("readinessGates"))):
        condition = text(gate.get("conditionType"))
        errors.extend(FieldError.invalid(path.index(index).child("conditionType"), condition, message)
                      for message in is_qualified_name(condition))
    return errors


def validate_scheduling_gates(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, gate in enumerate(items(spec.get("schedulingGates"))):
        name = text(gate.get("name"))
        errors.extend(FieldError.invalid(path.index(index), name, message) for message in is_qualified_name(name))
        if name in seen:
            errors.append(FieldError.duplicate(path.index(index), name))
        seen.add(name)
    return errors
