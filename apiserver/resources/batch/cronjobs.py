"""CronJobs (batch/v1): create Jobs on a schedule."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from apiserver.meta.govalues import go_invalid, go_label_selector
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import NONE, bool_text, dig, sequence, since, text
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.apps import workload_validation as rules
from apiserver.resources.batch import cron
from apiserver.resources.batch.job_validation import validate_job_template_spec
from apiserver.resources.template_columns import selector_column, template_columns

SPEC_PATH = FieldPath("spec")
CONCURRENCY_POLICIES: Final = ("Allow", "Forbid", "Replace")
# The controller appends an 11-character suffix (`-<minutes>`) to name Jobs, which are limited to 63.
MAX_NAME_LENGTH: Final = 52
_ZONE_PART: Final = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def default_cron_job(obj: MutableObject) -> None:
    """batch/v1 SetDefaults_CronJob (and the job template's pod template defaults)."""
    spec = rules.child(obj, "spec")
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    rules.set_default(spec, "suspend", False)
    rules.set_default(spec, "successfulJobsHistoryLimit", 3)
    rules.set_default(spec, "failedJobsHistoryLimit", 1)
    rules.default_template(rules.mapping_of(spec, "jobTemplate", "spec").get("template"))


def _schedule_errors(spec: dict[str, Any], old_spec: dict[str, Any] | None, path: FieldPath) -> FieldErrors:
    """validateScheduleFormat: robfig/cron's parse error, and no TZ in the schedule (unless it was there)."""
    schedule = spec.get("schedule")
    if not schedule:
        return [FieldError.required(path)]
    schedule = str(schedule)
    errors: FieldErrors = []
    if (message := cron.parse_error(schedule)) is not None:
        errors.append(FieldError.invalid(path, schedule, message))
    allow_tz = old_spec is not None and "TZ" in str(old_spec.get("schedule") or "")
    if allow_tz and "TZ" in schedule and spec.get("timeZone") is not None:
        errors.append(FieldError.invalid(path, schedule,
                                         "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
    elif not allow_tz and "TZ" in schedule:
        errors.append(FieldError.invalid(path, schedule,
                                         "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    return errors


def _time_zone_errors(zone: object, path: FieldPath) -> FieldErrors:
    """validateTimeZone: IANA naming, not Local, and known to the zone database."""
    if zone is None:
        return []
    zone = str(zone)
    if not zone:
        return [FieldError.invalid(path, zone, "timeZone must be nil or non-empty string")]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _ZONE_PART.match(part):
            return [FieldError.invalid(path, zone, f"unknown time zone {zone}")]
    errors: FieldErrors = []
    if zone.lower() == "local":
        errors.append(FieldError.invalid(path, zone, "timeZone must be an explicit time zone as defined in "
                                                     "https://www.iana.org/time-zones"))
    if zone != "Local" and not cron.is_known_zone(zone):
        errors.append(FieldError.invalid(path, zone, f"unknown time zone {zone}"))
    return errors


def _job_template_errors(template: object, path: FieldPath) -> FieldErrors:
    """ValidateJobTemplateSpec: a Job spec whose selector will be generated."""
    job_spec = rules.mapping_of(template, "spec")
    errors = validate_job_template_spec(dict(job_spec), path.child("spec"))
    if job_spec.get("selector") is not None:
        errors.append(go_invalid(path.child("spec", "selector"), go_label_selector(job_spec["selector"]),
                                       "`selector` will be auto-generated"))
    if job_spec.get("manualSelector") is True:
        errors.append(FieldError.not_supported(path.child("spec", "manualSelector"), True, ["nil", "false"]))
    return errors


def validate_cron_job_spec(spec: dict[str, Any], old_spec: dict[str, Any] | None, path: FieldPath) -> FieldErrors:
    """validateCronJobSpec."""
    errors = _schedule_errors(spec, old_spec, path.child("schedule"))
    errors += rules.non_negative(spec.get("startingDeadlineSeconds"), path.child("startingDeadlineSeconds"))
    if old_spec is None or old_spec.get("timeZone") != spec.get("timeZone"):
        errors += _time_zone_errors(spec.get("timeZone"), path.child("timeZone"))
    policy = spec.get("concurrencyPolicy", "")
    if not policy:
        errors.append(FieldError.required(path.child("concurrencyPolicy")))
    elif policy not in CONCURRENCY_POLICIES:
        errors.append(FieldError.not_supported(path.child("concurrencyPolicy"), policy, CONCURRENCY_POLICIES))
    errors += _job_template_errors(spec.get("jobTemplate"), path.child("jobTemplate"))
    errors += rules.non_negative(spec.get("successfulJobsHistoryLimit"), path.child("successfulJobsHistoryLimit"))
    return errors + rules.non_negative(spec.get("failedJobsHistoryLimit"), path.child("failedJobsHistoryLimit"))


class CronJobStrategy(DefaultStrategy):
    """Defaults and validation of CronJobs (pkg/registry/batch/cronjob)."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_cron_job(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_cron_job(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_cron_job(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = validate_cron_job_spec(rules.child(obj, "spec"), None, SPEC_PATH)
        name = str(rules.mapping_of(obj, "metadata").get("name") or "")
        if len(name) > MAX_NAME_LENGTH:
            errors.append(FieldError.invalid(FieldPath("metadata", "name"), name,
                                             "must be no more than 52 characters"))
        return errors

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_cron_job_spec(rules.child(obj, "spec"), rules.child(old, "spec"), SPEC_PATH)



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
    strategy=CronJobStrategy(),
    columns=COLUMNS,
)
