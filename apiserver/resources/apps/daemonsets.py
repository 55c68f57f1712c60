"""DaemonSets (apps/v1): one pod per eligible node."""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.govalues import go_int_or_string, go_invalid, go_label_selector, go_not_supported, go_string_map
from apiserver.meta.intorstring import (
    int_or_percent_value,
    validate_not_more_than_100_percent,
    validate_positive_int_or_percent,
)
from apiserver.meta.selector_validation import validate_label_selector
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import dig, format_labels, integer
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.core.podspec import validate_pod_template
from apiserver.resources.template_columns import selector_column, template_columns

SPEC_PATH = FieldPath("spec")
ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"
# apps/v1 carries the internal spec.templateGeneration in this annotation (pkg/apis/apps/v1/conversion.go).
TEMPLATE_GENERATION: Final = "deprecated.daemonset.template.generation"


def default_daemon_set(obj: MutableObject) -> None:
    """apps/v1 SetDefaults_DaemonSet (and the pod template's defaults)."""
    spec = rules.child(obj, "spec")
    strategy = rules.child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = ROLLING_UPDATE
    if strategy["type"] == ROLLING_UPDATE:
        rolling = rules.child(strategy, "rollingUpdate")
        rules.set_default(rolling, "maxUnavailable", 1)
        rules.set_default(rolling, "maxSurge", 0)
    rules.set_default(spec, "revisionHistoryLimit", 10)
    rules.default_template(spec.get("template"))


def _set_template_generation(obj: MutableObject, generation: int) -> None:
    annotations = rules.child(rules.child(obj, "metadata"), "annotations")
    annotations[TEMPLATE_GENERATION] = str(generation)


def _template_generation(obj: MutableObject) -> int:
    value = rules.mapping_of(obj, "metadata", "annotations").get(TEMPLATE_GENERATION)
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _go_strategy(strategy: dict[str, Any]) -> str:
    # A set rollingUpdate is a pointer: Go prints its address, which cannot be reproduced.
    rolling = "nil" if strategy.get("rollingUpdate") is None else "0xc000000000"
    kind = go_quote(str(strategy.get("type", "")))
    return f"&apps.DaemonSetUpdateStrategy{{Type:{kind}, RollingUpdate:(*apps.RollingUpdateDaemonSet)({rolling})}}"


def _validate_update_strategy(strategy: dict[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateDaemonSetUpdateStrategy and ValidateRollingUpdateDaemonSet."""
    kind = strategy.get("type")
    if kind == ON_DELETE:
        return []
    if kind != ROLLING_UPDATE:
        return [go_not_supported(path, _go_strategy(strategy), [ROLLING_UPDATE, ON_DELETE])]
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return [FieldError.required(path.child("rollingUpdate"))]
    path = path.child("rollingUpdate")
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors = [*validate_positive_int_or_percent(unavailable, path.child("maxUnavailable")),
              *validate_positive_int_or_percent(surge, path.child("maxSurge")),
              *validate_not_more_than_100_percent(unavailable, path.child("maxUnavailable")),
              *validate_not_more_than_100_percent(surge, path.child("maxSurge"))]
    has_unavailable = int_or_percent_value(unavailable) != 0
    has_surge = int_or_percent_value(surge) != 0
    if has_unavailable and has_surge:
        errors.append(go_invalid(path.child("maxSurge"), go_int_or_string(surge),
                                       "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        errors.append(FieldError.required(path.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    return errors


def validate_daemon_set_spec(spec: dict[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateDaemonSetSpec."""
    selector = spec.get("selector")
    errors = validate_label_selector(selector, path.child("selector"))
    parsed = rules.selector_of(selector)
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    template_path = path.child("template")
    labels = rules.mapping_of(template, "metadata", "labels")
    if parsed is not None and not parsed.matches({str(key): str(value) for key, value in labels.items()}):
        errors.append(go_invalid(template_path.child("metadata", "labels"),
                                       go_string_map(rules.mapping_of(template, "metadata").get("labels")),
                                       rules.SELECTOR_MISMATCH))
    if selector is not None and rules.is_empty_selector(selector):
        errors.append(go_invalid(path.child("selector"), go_label_selector(selector),
                                       "empty selector is invalid for daemonset"))
    errors += validate_pod_template(template, template_path)
    errors += rules.always_restart(template, template_path, "DaemonSet")
    errors += rules.non_negative(spec.get("minReadySeconds"), path.child("minReadySeconds"))
    errors += _validate_update_strategy(dict(rules.mapping_of(spec, "updateStrategy")), path.child("updateStrategy"))
    return errors + rules.non_negative(spec.get("revisionHistoryLimit"), path.child("revisionHistoryLimit"))


class DaemonSetStrategy(DefaultStrategy):
    """Defaults and validation of DaemonSets; the selector is immutable; template changes count templateGeneration."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_daemon_set(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_daemon_set(obj)
        _set_template_generation(obj, 1)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_daemon_set(obj)
        generation = _template_generation(old)
        if dig(obj, "spec", "template") != dig(old, "spec", "template"):
            generation += 1
        _set_template_generation(obj, generation)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_daemon_set_spec(rules.child(obj, "spec"), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = validate_daemon_set_spec(rules.child(obj, "spec"), SPEC_PATH)
        return errors + rules.immutable_selector(dig(obj, "spec", "selector"), dig(old, "spec", "selector"),
                                                 SPEC_PATH.child("selector"))



def _status_count(field: str, description: str, title: str) -> Column:
    return Column(title, "integer", description=description,
                  value=lambda obj, now: integer(dig(obj, "status", field)))


COLUMNS = (
    NAME,
    _status_count("desiredNumberScheduled", "The number of nodes that should be running the daemon pod.", "Desired"),
    _status_count("currentNumberScheduled", "The number of nodes running at least one daemon pod.", "Current"),
    _status_count("numberReady", "The number of nodes whose daemon pod is ready.", "Ready"),
    _status_count("updatedNumberScheduled", "The number of nodes running the updated daemon pod.", "Up-to-date"),
    _status_count("numberAvailable", "The number of nodes whose daemon pod is available.", "Available"),
    Column("Node Selector", "string", description="The node selector of the pod template.",
           value=lambda obj, now: format_labels(dig(obj, "spec", "template", "spec", "nodeSelector"))),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector"),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="DaemonSet", plural="daemonsets", namespaced=True,
    short_names=("ds",), categories=("all",),
    subresources=(Subresource("status", "DaemonSet"),),
    strategy=DaemonSetStrategy(),
    columns=COLUMNS,
)
