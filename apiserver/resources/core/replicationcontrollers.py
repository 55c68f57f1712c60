"""ReplicationControllers (core/v1): the original replica manager; stored under upstream's `controllers` prefix."""
from __future__ import annotations

from typing import Any

from apiserver.meta.selectors import LabelSelector
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import dig, format_labels, integer
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, SelectableField, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.core.podspec import validate_pod_template
from apiserver.resources.template_columns import selector_column, template_columns

SPEC_PATH = FieldPath("spec")


def default_replication_controller(obj: MutableObject) -> None:
    """core/v1 SetDefaults_ReplicationController: selector and labels from the template's labels, replicas 1."""
    spec = rules.child(obj, "spec")
    template = spec.get("template")
    labels = rules.mapping_of(template, "metadata").get("labels")
    if isinstance(labels, dict):
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        metadata = rules.child(obj, "metadata")
        if not metadata.get("labels"):
            metadata["labels"] = dict(labels)
    rules.set_default(spec, "replicas", 1)
    rules.default_template(template)


def validate_replication_controller_spec(spec: dict[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateReplicationControllerSpec: a non-empty selector matching the template, restartPolicy Always."""
    errors = rules.non_negative(spec.get("minReadySeconds"), path.child("minReadySeconds"))
    selector = LabelSelector.from_set({str(key): str(value)
                                       for key, value in rules.mapping_of(spec, "selector").items()})
    if selector.is_empty():
        errors.append(FieldError.required(path.child("selector")))
    errors += rules.non_negative(spec.get("replicas"), path.child("replicas"))
    template = spec.get("template")
    template_path = path.child("template")
    if not isinstance(template, dict):
        return [*errors, FieldError.required(template_path)]
    errors += rules.template_labels_match(selector, template, template_path)
    errors += validate_pod_template(template, template_path)
    return errors + rules.always_restart(template, template_path, "ReplicationController")


class ReplicationControllerStrategy(DefaultStrategy):
    """Defaults and validation of ReplicationControllers; unlike a ReplicaSet's, the selector may change."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_replication_controller(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_replication_controller(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_replication_controller(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_replication_controller_spec(rules.child(obj, "spec"), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_replication_controller_spec(rules.child(obj, "spec"), SPEC_PATH)


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
    selector_column("spec", "selector", render=format_labels),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ReplicationController", plural="replicationcontrollers", namespaced=True,
    short_names=("rc",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "ReplicationController"),
    ),
    strategy=ReplicationControllerStrategy(),
    columns=COLUMNS,
    selectable_fields=(SelectableField("status.replicas", lambda obj: str(integer(dig(obj, "status", "replicas")))),),
    storage_path="controllers",
)
