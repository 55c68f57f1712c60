"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding: defaults, validation and strategies (v1).

Upstream's pkg/apis/admissionregistration/v1/defaults.go (failurePolicy Fail; matchPolicy Equivalent, empty
namespace and object selectors; rule scope `*`), pkg/apis/admissionregistration/validation (v1.32) and
pkg/registry/admissionregistration/validatingadmissionpolicy{,binding}/strategy.go: a policy starts with an empty
status at generation 1, its status changes only through `/status`; a binding counts spec changes in generation.
On update, match conditions are not recompiled when they and the paramKind are unchanged (upstream's
ignoreMatchConditions), so stored policies stay writable.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, name_is_dns_subdomain
from apiserver.registry.context import RequestContext
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.admissionregistration.matching_rules import FAILURE_POLICIES, strings
from apiserver.resources.admissionregistration.policy_validation_expressions import (
    validate_audit_annotations,
    validate_match_conditions,
    validate_validations,
    validate_variables,
)
from apiserver.resources.admissionregistration.policy_validation_rules import (
    validate_match_resources,
    validate_param_kind,
    validate_param_ref,
    validate_validation_actions,
)
from apiserver.resources.policy.validation import validate_conditions

SPEC_PATH: Final = FieldPath("spec")


# --- Defaults ---------------------------------------------------------------------------------------------------

def default_match_resources(resources: dict[str, Any]) -> None:
    """SetDefaults_MatchResources plus SetDefaults_Rule on every rule."""
    resources.setdefault("matchPolicy", "Equivalent")
    for name in ("namespaceSelector", "objectSelector"):
        if resources.get(name) is None:
            resources[name] = {}
    for name in ("resourceRules", "excludeResourceRules"):
        for rule in resources.get(name) or ():
            if isinstance(rule, dict) and rule.get("scope") is None:
                rule["scope"] = "*"


def default_policy(obj: MutableObject) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("failurePolicy") is None:
        spec["failurePolicy"] = "Fail"
    if isinstance(constraints := spec.get("matchConstraints"), dict):
        default_match_resources(constraints)


def default_binding(obj: MutableObject) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict) and isinstance(resources := spec.get("matchResources"), dict):
        default_match_resources(resources)


# --- Validation -------------------------------------------------------------------------------------------------

def validate_policy_spec(obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> FieldErrors:
    """validateValidatingAdmissionPolicySpec, in upstream's order."""
    spec = _mapping(obj.get("spec"))
    errors: FieldErrors = []
    failure_policy = spec.get("failurePolicy")
    if not failure_policy:
        errors.append(FieldError.required(SPEC_PATH.child("failurePolicy")))
    elif failure_policy not in FAILURE_POLICIES:
        errors.append(FieldError.not_supported(SPEC_PATH.child("failurePolicy"), failure_policy, FAILURE_POLICIES))
    param_kind = spec.get("paramKind")
    if isinstance(param_kind, Mapping):
        errors.extend(validate_param_kind(param_kind, SPEC_PATH.child("paramKind")))
    constraints = spec.get("matchConstraints")
    if not isinstance(constraints, Mapping):
        errors.append(FieldError.required(SPEC_PATH.child("matchConstraints")))
    else:
        errors.extend(validate_match_resources(constraints, SPEC_PATH.child("matchConstraints")))
        if not constraints.get("resourceRules"):
            errors.append(FieldError.required(SPEC_PATH.child("matchConstraints", "resourceRules")))
    has_params = isinstance(param_kind, Mapping)
    if old is None or not _same_match_conditions(spec, _mapping(old.get("spec"))):
        errors.extend(validate_match_conditions(spec.get("matchConditions"), SPEC_PATH.child("matchConditions"),
                                                has_params=has_params))
    variable_errors, variables = validate_variables(spec, SPEC_PATH.child("variables"))
    errors.extend(variable_errors)
    if not spec.get("validations") and not spec.get("auditAnnotations"):
        detail = "validations or auditAnnotations must contain at least one item"
        errors.append(FieldError.required(SPEC_PATH.child("validations"), detail))
        errors.append(FieldError.required(SPEC_PATH.child("auditAnnotations"), detail))
        return errors
    errors.extend(validate_validations(spec, SPEC_PATH.child("validations"), variables))
    errors.extend(validate_audit_annotations(spec, _policy_name(obj), SPEC_PATH.child("auditAnnotations"), variables))
    return errors


def validate_binding_spec(obj: Mapping[str, Any]) -> FieldErrors:
    """validateValidatingAdmissionPolicyBindingSpec (the matchResources path keeps upstream's `matchResouces`)."""
    spec = _mapping(obj.get("spec"))
    errors: FieldErrors = []
    policy_name = str(spec.get("policyName") or "")
    if not policy_name:
        errors.append(FieldError.required(SPEC_PATH.child("policyName")))
    else:
        errors.extend(FieldError.invalid(SPEC_PATH.child("policyName"), policy_name, message)
                      for message in name_is_dns_subdomain(policy_name))
    if isinstance(reference := spec.get("paramRef"), Mapping):
        errors.extend(validate_param_ref(reference, SPEC_PATH.child("paramRef")))
    if isinstance(resources := spec.get("matchResources"), Mapping):
        errors.extend(validate_match_resources(resources, SPEC_PATH.child("matchResouces")))
    errors.extend(validate_validation_actions(strings(spec.get("validationActions")),
                                              SPEC_PATH.child("validationActions")))
    return errors


def validate_policy_status(obj: Mapping[str, Any]) -> FieldErrors:
    """validateValidatingAdmissionPolicyStatus: expression warnings, then conditions."""
    status = _mapping(obj.get("status"))
    path = FieldPath("status")
    errors: FieldErrors = []
    warnings = _mapping(status.get("typeChecking")).get("expressionWarnings")
    for index, warning in enumerate(warnings if isinstance(warnings, list) else ()):
        at = path.child("typeChecking", "expressionWarnings").index(index)
        warning = _mapping(warning)
        if not warning.get("warning"):
            errors.append(FieldError.required(at.child("warning")))
        if not str(warning.get("fieldRef") or "").strip():
            errors.append(FieldError.required(at.child("fieldRef")))
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        errors.extend(validate_conditions(conditions, path.child("conditions")))
    return errors


def _same_match_conditions(spec: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    return spec.get("paramKind") == old.get("paramKind") and spec.get("matchConditions") == old.get("matchConditions")


def _policy_name(obj: Mapping[str, Any]) -> str:
    return str(_mapping(obj.get("metadata")).get("name") or "")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --- Strategies -------------------------------------------------------------------------------------------------

class ValidatingAdmissionPolicyStrategy(DefaultStrategy):
    """Upstream's validatingAdmissionPolicyStrategy (and its status strategy for `/status`)."""

    def default(self, obj: MutableObject) -> None:
        default_policy(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        obj["status"] = {}

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_policy_spec(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        if obj.get("spec") == old.get("spec"):
            return validate_policy_status(obj)  # a /status write: the store kept the spec
        return validate_policy_spec(obj, old)


class ValidatingAdmissionPolicyBindingStrategy(DefaultStrategy):
    """Upstream's validatingAdmissionPolicyBindingStrategy."""

    def default(self, obj: MutableObject) -> None:
        default_binding(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_binding_spec(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_binding_spec(obj)


POLICY_STRATEGY: Final = ValidatingAdmissionPolicyStrategy()
BINDING_STRATEGY: Final = ValidatingAdmissionPolicyBindingStrategy()
