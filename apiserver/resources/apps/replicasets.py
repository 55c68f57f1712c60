"""ReplicaSets (apps/v1): keep a number of identical pods running."""
from __future__ import annotations

from apiserver.meta.govalues import go_invalid, go_label_selector
from apiserver.meta.validation import FieldErrors, FieldPath
from apiserver.registry.columns import dig, integer
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, SelectableField, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.core.podspec import validate_pod_template
from apiserver.resources.template_columns import selector_column, template_columns

SPEC_PATH = FieldPath("spec")


def validate_replica_template(spec: MutableObject, path: FieldPath, empty_kind: str, template_kind: str) -> FieldErrors:
    """The selector and template rules of ValidateReplicaSetSpec/ValidateDeploymentSpec.

    `empty_kind` names the type in "empty selector is invalid for <kind>" (upstream says `deployment` for both),
    `template_kind` the one in "activeDeadlineSeconds in <kind> is not Supported".
    """
    selector = spec.get("selector")
    errors = rules.required_selector(selector, path.child("selector"), empty_kind)
    parsed = rules.selector_of(selector)
    if parsed is None:
        errors.append(go_invalid(path.child("selector"), go_label_selector(selector),
                                       "invalid label selector"))
        return errors
    # The template is a struct, not a pointer, upstream: a missing one is an empty template.
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    template_path = path.child("template")
    errors += rules.template_labels_match(parsed, template, template_path)
    errors += validate_pod_template(template, template_path)
    return errors + rules.always_restart(template, template_path, template_kind)


def default_replica_set(obj: MutableObject) -> None:
    """apps/v1 SetDefaults_ReplicaSet (and the pod template's defaults)."""
    spec = rules.child(obj, "spec")
    rules.set_default(spec, "replicas", 1)
    rules.default_template(spec.get("template"))


def validate_replica_set_spec(spec: MutableObject, path: FieldPath) -> FieldErrors:
    errors = rules.non_negative(spec.get("replicas"), path.child("replicas"))
    errors += rules.non_negative(spec.get("minReadySeconds"), path.child("minReadySeconds"))
    return errors + validate_replica_template(spec, path, "deployment", "ReplicaSet")


class ReplicaSetStrategy(DefaultStrategy):
    """Defaults and validation of ReplicaSets; in apps/v1 the selector is immutable."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_replica_set(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_replica_set(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_replica_set(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_replica_set_spec(rules.child(obj, "spec"), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = validate_replica_set_spec(rules.child(obj, "spec"), SPEC_PATH)
        return errors + rules.immutable_selector(dig(obj, "spec", "selector"), dig(old, "spec", "selector"),
                                                 SPEC_PATH.child("selector"))


COLUMNS = (
    NAME,
    Column("Desired", "integer", description="The number of desired replicas.",
           value=lambda obj, now: integer(dig(obj, "spec", "replicas"))),
    Column("Current", "integer", description="The most recently observed number of replicas.",
           value=lambda obj, now: integer(dig(obj, "status", "replicas"))),
    Column("Ready", "integer", description="The number of ready replicas.",
           value=lambda obj, now: integer(dig(obj, "status", "readyReplicas"))),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector"),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True,
    short_names=("rs",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "ReplicaSet"),
    ),
    strategy=ReplicaSetStrategy(),
    columns=COLUMNS,
    selectable_fields=(SelectableField("status.replicas", lambda obj: str(integer(dig(obj, "status", "replicas")))),),
)
