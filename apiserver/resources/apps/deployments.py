"""Deployments (apps/v1): declarative rollouts of replica sets."""
from __future__ import annotations

from datetime import datetime

from apiserver.meta.errors import go_quote
from apiserver.meta.govalues import go_int_or_string, go_invalid, go_not_supported
from apiserver.meta.intorstring import (
    int_or_percent_value,
    validate_not_more_than_100_percent,
    validate_positive_int_or_percent,
)
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import dig, integer, label_selector_string
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.apps.replicasets import validate_replica_template
from apiserver.resources.template_columns import selector_column, template_columns

SPEC_PATH = FieldPath("spec")
ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"


def ready(obj: JSONObject, now: datetime | None = None) -> str:
    """READY as `ready/desired` replicas."""
    return f"{integer(dig(obj, 'status', 'readyReplicas'))}/{integer(dig(obj, 'spec', 'replicas'))}"


def _selector(selector: object) -> str:
    rendered = label_selector_string(selector)
    return "<invalid>" if rendered is None else rendered


COLUMNS = (
    NAME,
    Column("Ready", "string", description="Number of the pod with ready state", value=ready),
    Column("Up-to-date", "string", description="Total number of pods targeted by this deployment that have the "
                                                "desired template.",
           value=lambda obj, now: integer(dig(obj, "status", "updatedReplicas"))),
    Column("Available", "string", description="Total number of available pods targeted by this deployment.",
           value=lambda obj, now: integer(dig(obj, "status", "availableReplicas"))),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector", render=_selector),
)

def default_deployment(obj: MutableObject) -> None:
    """apps/v1 SetDefaults_Deployment (and the pod template's defaults)."""
    spec = rules.child(obj, "spec")
    rules.set_default(spec, "replicas", 1)
    strategy = rules.child(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = ROLLING_UPDATE
    if strategy["type"] == ROLLING_UPDATE:
        rolling = rules.child(strategy, "rollingUpdate")
        rules.set_default(rolling, "maxUnavailable", "25%")
        rules.set_default(rolling, "maxSurge", "25%")
    rules.set_default(spec, "revisionHistoryLimit", 10)
    rules.set_default(spec, "progressDeadlineSeconds", 600)
    rules.default_template(spec.get("template"))


def _go_strategy(strategy: MutableObject) -> str:
    # A set rollingUpdate is a pointer: Go prints its address, which cannot be reproduced.
    rolling = "nil" if strategy.get("rollingUpdate") is None else "0xc000000000"
    kind = go_quote(str(strategy.get("type", "")))
    return f"apps.DeploymentStrategy{{Type:{kind}, RollingUpdate:(*apps.RollingUpdateDeployment)({rolling})}}"


def validate_strategy(strategy: MutableObject, path: FieldPath) -> FieldErrors:
    """ValidateDeploymentStrategy."""
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == RECREATE:
        if rolling is None:
            return []
        return [FieldError.forbidden(path.child("rollingUpdate"),
                                     "may not be specified when strategy `type` is 'Recreate'")]
    if kind != ROLLING_UPDATE:
        return [go_not_supported(path, _go_strategy(strategy), [RECREATE, ROLLING_UPDATE])]
    if not isinstance(rolling, dict):
        return [FieldError.required(path.child("rollingUpdate"), "this should be defaulted and never be nil")]
    path = path.child("rollingUpdate")
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors = [*validate_positive_int_or_percent(unavailable, path.child("maxUnavailable")),
              *validate_positive_int_or_percent(surge, path.child("maxSurge"))]
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        errors.append(go_invalid(path.child("maxUnavailable"), go_int_or_string(unavailable),
                                       "may not be 0 when `maxSurge` is 0"))
    return errors + validate_not_more_than_100_percent(unavailable, path.child("maxUnavailable"))


def validate_deployment_spec(spec: MutableObject, path: FieldPath) -> FieldErrors:
    """ValidateDeploymentSpec."""
    errors = rules.non_negative(spec.get("replicas"), path.child("replicas"))
    errors += validate_replica_template(spec, path, "deployment", "ReplicaSet")
    errors += validate_strategy(rules.child(spec, "strategy"), path.child("strategy"))
    errors += rules.non_negative(spec.get("minReadySeconds"), path.child("minReadySeconds"))
    errors += rules.non_negative(spec.get("revisionHistoryLimit"), path.child("revisionHistoryLimit"))
    deadline = rules.integer_of(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        errors += rules.non_negative(deadline, path.child("progressDeadlineSeconds"))
        if deadline <= (rules.integer_of(spec.get("minReadySeconds")) or 0):
            errors.append(FieldError.invalid(path.child("progressDeadlineSeconds"), deadline,
                                             "must be greater than minReadySeconds"))
    return errors


class DeploymentStrategy(DefaultStrategy):
    """Defaults and validation of Deployments (pkg/registry/apps/deployment); the selector is immutable."""

    # PrepareForUpdate: annotation changes bump the generation too (they are copied to the ReplicaSets).
    bumps_generation_on_annotations = True

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_deployment(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_deployment(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_deployment(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_deployment_spec(rules.child(obj, "spec"), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = validate_deployment_spec(rules.child(obj, "spec"), SPEC_PATH)
        return errors + rules.immutable_selector(dig(obj, "spec", "selector"), dig(old, "spec", "selector"),
                                                 SPEC_PATH.child("selector"))


SPEC = ResourceSpec(
    group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True,
    short_names=("deploy",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "Deployment"),
    ),
    strategy=DeploymentStrategy(),
    columns=COLUMNS,
)
