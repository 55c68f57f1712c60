"""StatefulSets (apps/v1): pods with stable identities and storage."""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.govalues import go_int_or_string, go_invalid, go_label_selector
from apiserver.meta.intorstring import (
    int_or_percent_value,
    validate_not_more_than_100_percent,
    validate_positive_int_or_percent,
)
from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    name_is_dns_label,
    validate_annotations,
    validate_labels,
)
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.registry.traits import ResourceTraits
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.apps.deployments import ready
from apiserver.resources.template_columns import template_columns

SPEC_PATH = FieldPath("spec")
ORDERED_READY, PARALLEL = "OrderedReady", "Parallel"
ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"
RETAIN, DELETE = "Retain", "Delete"
# The spec fields an update may change (ValidateStatefulSetUpdate).
MUTABLE_FIELDS: Final = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                         "minReadySeconds")
FORBIDDEN_UPDATE: Final = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                           "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                           "are forbidden")


def default_stateful_set(obj: MutableObject) -> None:
    """apps/v1 SetDefaults_StatefulSet, with the claim templates' PersistentVolumeClaim defaults."""
    spec = rules.child(obj, "spec")
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = ORDERED_READY
    strategy = rules.child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = ROLLING_UPDATE
        rules.set_default(strategy, "rollingUpdate", {})
    if strategy["type"] == ROLLING_UPDATE and isinstance(strategy.get("rollingUpdate"), dict):
        rules.set_default(strategy["rollingUpdate"], "partition", 0)
    policy = rules.child(spec, "persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if not policy.get(key):
            policy[key] = RETAIN
    rules.set_default(spec, "replicas", 1)
    rules.set_default(spec, "revisionHistoryLimit", 10)
    rules.default_template(spec.get("template"))
    claims = spec.get("volumeClaimTemplates")
    for claim in claims if isinstance(claims, list) else []:
        if isinstance(claim, dict):
            _default_claim(claim)


def _default_claim(claim: MutableObject) -> None:
    # SetDefaults_PersistentVolumeClaim and SetDefaults_PersistentVolumeClaimSpec.
    rules.set_default(rules.child(claim, "spec"), "volumeMode", "Filesystem")
    status = rules.child(claim, "status")
    if not status.get("phase"):
        status["phase"] = "Pending"


def _validate_update_strategy(strategy: dict[str, Any], path: FieldPath) -> FieldErrors:
    kind = strategy.get("type", "")
    rolling = strategy.get("rollingUpdate")
    if not kind:
        return [FieldError.required(path)]
    if kind == ON_DELETE:
        if rolling is None:
            return []
        return [FieldError.invalid(path.child("rollingUpdate"), rolling,
                                   "only allowed for updateStrategy 'RollingUpdate'")]
    if kind != ROLLING_UPDATE:
        return [FieldError.invalid(path, strategy, "must be 'RollingUpdate' or 'OnDelete'")]
    if not isinstance(rolling, dict):
        return []
    rolling_path = path.child("rollingUpdate")
    errors = rules.non_negative(rolling.get("partition"), rolling_path.child("partition"))
    unavailable = rolling.get("maxUnavailable")
    if unavailable is not None:
        errors += validate_positive_int_or_percent(unavailable, rolling_path.child("maxUnavailable"))
        if int_or_percent_value(unavailable) == 0:
            errors.append(go_invalid(rolling_path.child("maxUnavailable"), go_int_or_string(unavailable),
                                           "cannot be 0"))
        errors += validate_not_more_than_100_percent(unavailable, rolling_path.child("maxUnavailable"))
    return errors


def _validate_retention(policy: object, path: FieldPath) -> FieldErrors:
    if not isinstance(policy, dict):
        return []
    return [FieldError.not_supported(path.child(key), policy.get(key, ""), [RETAIN, DELETE])
            for key in ("whenDeleted", "whenScaled") if policy.get(key, "") not in (RETAIN, DELETE)]


def _validate_template(spec: dict[str, Any], path: FieldPath) -> FieldErrors:
    """ValidatePodTemplateSpecForStatefulSet: the selector match, labels and annotations (upstream does not
    validate the pod spec of a StatefulSet's template), then restartPolicy Always."""
    selector = spec.get("selector")
    parsed = rules.selector_of(selector)
    if parsed is None:
        return [go_invalid(path.child("selector"), go_label_selector(selector), "")]
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    template_path = path.child("template")
    metadata = rules.mapping_of(template, "metadata")
    errors = rules.template_labels_match(parsed, template, template_path)
    errors += validate_labels(dict(rules.mapping_of(metadata, "labels")), template_path.child("labels"))
    errors += validate_annotations(dict(rules.mapping_of(metadata, "annotations")), template_path.child("annotations"))
    return errors + rules.always_restart(template, template_path, "StatefulSet")


def validate_stateful_set_spec(spec: dict[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateStatefulSetSpec."""
    errors: FieldErrors = []
    policy = spec.get("podManagementPolicy", "")
    if not policy:
        errors.append(FieldError.required(path.child("podManagementPolicy")))
    elif policy not in (ORDERED_READY, PARALLEL):
        errors.append(FieldError.invalid(path.child("podManagementPolicy"), policy,
                                         "must be 'OrderedReady' or 'Parallel'"))
    errors += _validate_update_strategy(dict(rules.mapping_of(spec, "updateStrategy")), path.child("updateStrategy"))
    errors += _validate_retention(spec.get("persistentVolumeClaimRetentionPolicy"),
                                  path.child("persistentVolumeClaimRetentionPolicy"))
    errors += rules.non_negative(spec.get("replicas"), path.child("replicas"))
    errors += rules.non_negative(spec.get("minReadySeconds"), path.child("minReadySeconds"))
    ordinals = spec.get("ordinals")
    if isinstance(ordinals, dict):
        errors += rules.non_negative(ordinals.get("start"), path.child("ordinals.start"))
    errors += rules.required_selector(spec.get("selector"), path.child("selector"), "statefulset")
    return errors + _validate_template(spec, path)


class StatefulSetStrategy(DefaultStrategy):
    """Defaults and validation of StatefulSets; names are DNS labels; most of the spec is immutable."""

    traits: ResourceTraits | None = ResourceTraits(name_validator=name_is_dns_label)

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_stateful_set(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_stateful_set(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_stateful_set(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_stateful_set_spec(rules.child(obj, "spec"), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        spec, old_spec = rules.child(obj, "spec"), rules.child(old, "spec")
        errors = validate_stateful_set_spec(spec, SPEC_PATH)
        fixed = {key: value for key, value in spec.items() if key not in MUTABLE_FIELDS}
        old_fixed = {key: value for key, value in old_spec.items() if key not in MUTABLE_FIELDS}
        if fixed != old_fixed:
            errors.append(FieldError.forbidden(SPEC_PATH, FORBIDDEN_UPDATE))
        return errors


COLUMNS = (
    NAME,
    Column("Ready", "string", description="Number of the pod with ready state", value=ready),
    AGE,
    *template_columns("spec", "template", "spec"),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True,
    short_names=("sts",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "StatefulSet"),
    ),
    strategy=StatefulSetStrategy(),
    columns=COLUMNS,
)
