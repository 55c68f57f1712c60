"""Jobs (batch/v1): pods that run to completion; STATUS, COMPLETIONS and DURATION as upstream prints them."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import condition, dig, human_duration, integer, parse_time
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, SelectableField, Subresource
from apiserver.resources.template_columns import selector_column, template_columns

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
    columns=COLUMNS,
    selectable_fields=(
        SelectableField("status.successful", lambda job: str(integer(dig(job, "status", "succeeded")))),
    ),
)
