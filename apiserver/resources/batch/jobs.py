"""Jobs (batch/v1): pods that run to completion; STATUS, COMPLETIONS and DURATION as upstream prints them."""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from apiserver.meta.validation import FIELD_IMMUTABLE_MESSAGE, FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import condition, dig, human_duration, integer, parse_time
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, SelectableField, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.batch import job_validation as job_rules
from apiserver.resources.template_columns import selector_column, template_columns

SPEC_PATH = FieldPath("spec")
IMMUTABLE_FIELDS = ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy")

# Checked in this order: a finished job says so even while it is being deleted; the condition type is the status.
FINISHED_CONDITIONS = ("Complete", "Failed")
PENDING_CONDITIONS = ("Suspended", "FailureTarget")


def _has_condition(job: JSONObject, condition_type: str) -> bool:
    found = condition(job, condition_type)
    return found is not None and found.get("status") == "True"


def job_status(job: JSONObject, now: datetime | None = None) -> str:
    """Complete, Failed, Terminating, Suspended, FailureTarget or Running."""
    finished = next((name for name in FINISHED_CONDITIONS if _has_condition(job, name)), None)
    if finished is not None:
        return finished
    if dig(job, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    return next((name for name in PENDING_CONDITIONS if _has_condition(job, name)), "Running")


def completions(job: JSONObject, now: datetime | None = None) -> str:
    """`succeeded/completions`; without completions `succeeded/1`, or `succeeded/1 of N` when parallel."""
    succeeded = integer(dig(job, "status", "succeeded"))
    wanted = dig(job, "spec", "completions")
    if wanted is not None:
        return f"{succeeded}/{integer(wanted)}"
    parallelism = integer(dig(job, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def duration(job: JSONObject, now: datetime) -> str:
    """Time from start to completion, or to now while running; empty before the job starts."""
    started = parse_time(dig(job, "status", "startTime"))
    if started is None:
        return ""
    finished = parse_time(dig(job, "status", "completionTime"))
    return human_duration((finished or now) - started)


def _immutable(new: Any, old: Any, path: FieldPath) -> FieldErrors:
    return [] if new == old else [FieldError.invalid(path, new, FIELD_IMMUTABLE_MESSAGE)]


def _completions_errors(spec: dict[str, Any], old_spec: dict[str, Any]) -> FieldErrors:
    """validateCompletions (elastic Indexed Jobs): completions change only with parallelism, and only Indexed."""
    path = SPEC_PATH.child("completions")
    completions = spec.get("completions")
    if spec.get("completionMode") != job_rules.INDEXED:
        return _immutable(completions, old_spec.get("completions"), path)
    if completions == old_spec.get("completions") or completions is None:
        return []
    if completions != spec.get("parallelism"):
        return [FieldError.invalid(path, completions, "can only be modified in tandem with spec.parallelism")]
    return []


def _scheduling_directives_of(template: Any, old_template: Any) -> Any:
    """The old template with the new one's scheduling directives (a suspended Job that never started may change
    node affinity, node selector, tolerations, labels, annotations and scheduling gates)."""
    merged = copy.deepcopy(old_template) if isinstance(old_template, dict) else {}
    new = template if isinstance(template, dict) else {}
    new_spec, merged_spec = rules.mapping_of(new, "spec"), rules.child(merged, "spec")
    for key in ("nodeSelector", "tolerations", "schedulingGates"):
        _copy_key(new_spec, merged_spec, key)
    for key in ("labels", "annotations"):
        _copy_key(rules.mapping_of(new, "metadata"), rules.child(merged, "metadata"), key)
    affinity, old_affinity = new_spec.get("affinity"), merged_spec.get("affinity")
    if isinstance(old_affinity, dict):
        old_affinity.pop("nodeAffinity", None)
        if not old_affinity and affinity is None:
            merged_spec.pop("affinity")
    if isinstance(affinity, dict) and "nodeAffinity" in affinity:
        rules.child(merged_spec, "affinity")["nodeAffinity"] = affinity["nodeAffinity"]
    return merged


def _copy_key(source: Any, target: dict[str, Any], key: str) -> None:
    if key in source:
        target[key] = source[key]
    else:
        target.pop(key, None)


def _template_errors(job: MutableObject, old: MutableObject) -> FieldErrors:
    template, old_template = dig(job, "spec", "template"), dig(old, "spec", "template")
    suspended = dig(old, "spec", "suspend") is True
    if suspended and dig(old, "status", "startTime") is None:
        old_template = _scheduling_directives_of(template, old_template)
    return _immutable(template, old_template, SPEC_PATH.child("template"))


class JobStrategy(DefaultStrategy):
    """Defaults, the generated selector and validation of Jobs (pkg/registry/batch/job)."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        job_rules.default_job(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        job_rules.default_job(obj)
        job_rules.generate_selector(obj)
        # A read decodes (and defaults) the stored Job again: its labels come from the labelled template.
        job_rules.default_job(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        job_rules.default_job(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return [*job_rules.validate_generated_selector(obj),
                *job_rules.validate_job_spec(rules.child(obj, "spec"), SPEC_PATH),
                *job_rules.indexed_name_errors(obj)]

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        spec, old_spec = rules.child(obj, "spec"), rules.child(old, "spec")
        # As upstream: ValidateJob, then ValidateJobUpdate (which validates the spec again: causes repeat, the
        # message names each once).
        errors = self.validate(obj, ctx)
        errors += job_rules.validate_job_spec(spec, SPEC_PATH)
        errors += _completions_errors(spec, old_spec)
        errors += rules.immutable_selector(spec.get("selector"), old_spec.get("selector"), SPEC_PATH.child("selector"))
        errors += _template_errors(obj, old)
        for field in IMMUTABLE_FIELDS:
            errors += _immutable(spec.get(field), old_spec.get(field), SPEC_PATH.child(field))
        return errors


COLUMNS = (
    NAME,
    Column("Status", "string", description="Status of the job.", value=job_status),
    Column("Completions", "string", description="The number of pods which reached phase Succeeded.",
           value=completions),
    Column("Duration", "string", description="Time required to complete the job.", value=duration),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector"),
)

SPEC = ResourceSpec(
    group="batch", version="v1", kind="Job", plural="jobs", namespaced=True, categories=("all",),
    subresources=(Subresource("status", "Job"),),
    strategy=JobStrategy(),
    columns=COLUMNS,
    selectable_fields=(
        SelectableField("status.successful", lambda job: str(integer(dig(job, "status", "succeeded")))),
    ),
)
