"""CronJobs (batch/v1): create Jobs on a schedule."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, bool_text, dig, sequence, since, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.resources.template_columns import selector_column, template_columns


def _last_schedule(obj: JSONObject, now: datetime) -> str:
    last = dig(obj, "status", "lastScheduleTime")
    return since(last, now) if last is not None else NONE


def _optional_text(value: object) -> str:
    return text(value) if value is not None else NONE


COLUMNS = (
    NAME,
    Column("Schedule", "string", description="The schedule in Cron format.",
           value=lambda obj, now: text(dig(obj, "spec", "schedule"))),
    Column("Timezone", "string", description="The time zone name for the given schedule.",
           value=lambda obj, now: _optional_text(dig(obj, "spec", "timeZone"))),
    Column("Suspend", "boolean", description="Whether subsequent executions are suspended.",
           value=lambda obj, now: bool_text(dig(obj, "spec", "suspend"))),
    Column("Active", "integer", description="The number of currently running jobs.",
           value=lambda obj, now: len(sequence(dig(obj, "status", "active")))),
    Column("Last Schedule", "string", description="When the job was last successfully scheduled.",
           value=_last_schedule),
    AGE,
    *template_columns("spec", "jobTemplate", "spec", "template", "spec"),
    selector_column("spec", "jobTemplate", "spec", "selector"),
)

SPEC = ResourceSpec(
    group="batch", version="v1", kind="CronJob", plural="cronjobs", namespaced=True,
    short_names=("cj",), categories=("all",),
    subresources=(Subresource("status", "CronJob"),),
    columns=COLUMNS,
)
