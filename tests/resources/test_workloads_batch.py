"""Jobs, CronJobs and HorizontalPodAutoscalers: upstream v1.32's defaults, the Job's generated selector, and
validation with upstream's messages, through the resource endpoints. Cron parsing is tested on its own too."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.resources.batch.cron import parse_error
from tests.resources.test_workloads import invalid, refused
from tests.support.resource_app import ResourceApp, resource_app

JOBS = "/apis/batch/v1/namespaces/default/jobs"
CRONJOBS = "/apis/batch/v1/namespaces/default/cronjobs"
HPAS = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
MERGE = {"content-type": "application/merge-patch+json"}
RESTART_REQUIRED = ("FieldValueRequired", "spec.template.spec.restartPolicy",
                    'Required value: valid values: "OnFailure", "Never"')


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def pod_template(**spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def job(name: str = "pi", restart: str = "Never", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"template": pod_template(restartPolicy=restart), **spec}}


def cron_job(name: str = "tick", schedule: str = "*/5 * * * *", **spec: Any) -> dict[str, Any]:
    template = {"spec": {"template": pod_template(restartPolicy="OnFailure")}}
    return {"metadata": {"name": name}, "spec": {"schedule": schedule, "jobTemplate": template, **spec}}


async def create(api: ResourceApp, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.request("POST", collection, body)
    assert answer.status == 201, answer.json()
    created: dict[str, Any] = answer.json()
    return created


# --- Jobs -----------------------------------------------------------------------------------------------------

async def test_job_gets_defaults_and_a_generated_selector(api: ResourceApp) -> None:
    created = await create(api, JOBS, job())
    uid = created["metadata"]["uid"]
    generated = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
                 "controller-uid": uid, "job-name": "pi"}
    spec = created["spec"]
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert spec["template"]["metadata"]["labels"] == generated
    assert created["metadata"]["labels"] == generated
    assert {key: value for key, value in spec.items() if key not in ("selector", "template")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": False,
    }


async def test_job_defaults_follow_its_spec(api: ResourceApp) -> None:
    body = job(parallelism=3, completionMode="Indexed", completions=4, backoffLimitPerIndex=1,
               podFailurePolicy={"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]})
    spec = (await create(api, JOBS, body))["spec"]
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (3, 4, 2**31 - 1)
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]


async def test_job_with_manual_selector_keeps_its_labels(api: ResourceApp) -> None:
    body = job(manualSelector=True, selector={"matchLabels": {"run": "x"}})
    body["spec"]["template"]["metadata"] = {"labels": {"run": "x"}}
    created = await create(api, JOBS, body)
    assert created["spec"]["selector"] == {"matchLabels": {"run": "x"}}
    assert created["spec"]["template"]["metadata"]["labels"] == {"run": "x"}


@pytest.mark.parametrize(
    ("body", "causes"),
    [
        (job(restart="Always"), [RESTART_REQUIRED]),
        (job(restart="OnFailure", podFailurePolicy={"rules": []}),
         [("FieldValueInvalid", "spec.template.spec.restartPolicy",
           'Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified')]),
        (job(activeDeadlineSeconds=-1, ttlSecondsAfterFinished=-1, backoffLimit=-1),
         [("FieldValueInvalid", "spec.activeDeadlineSeconds", "Invalid value: -1: must be greater than or equal to 0"),
          ("FieldValueInvalid", "spec.backoffLimit", "Invalid value: -1: must be greater than or equal to 0"),
          ("FieldValueInvalid", "spec.ttlSecondsAfterFinished",
           "Invalid value: -1: must be greater than or equal to 0")]),
        (job(manualSelector=True),
         [("FieldValueRequired", "spec.selector", "Required value"),
          ("FieldValueInvalid", "spec.template.metadata.labels",
           "Invalid value: map[string]string(nil): `selector` does not match template `labels`")]),
        (job(selector={"matchLabels": {"x": "y"}}),
         [("FieldValueInvalid", "spec.selector", 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{'
                                                 '"batch.kubernetes.io/controller-uid":"UID", "x":"y"}, '
                                                 "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not "
                                                 "auto-generated"),
          ("FieldValueInvalid", "spec.template.metadata.labels",
           'Invalid value: map[string]string{"batch.kubernetes.io/controller-uid":"UID", '
           '"batch.kubernetes.io/job-name":"pi", "controller-uid":"UID", "job-name":"pi"}: '
           "`selector` does not match template `labels`")]),
        (job(podReplacementPolicy="Sometimes"),
         [("FieldValueNotSupported", "spec.podReplacementPolicy",
           'Unsupported value: "Sometimes": supported values: "Failed", "TerminatingOrFailed"')]),
        (job(completionMode="Indexed", parallelism=2, completions=None),
         [("FieldValueRequired", "spec.completions", "Required value: when completion mode is Indexed")]),
    ],
    ids=["restart-always", "failure-policy-needs-never", "negative", "manual-without-selector", "foreign-selector",
         "replacement-policy", "indexed-without-completions"],
)
async def test_invalid_jobs_are_refused(api: ResourceApp, body: dict[str, Any], causes: list[tuple[str, str, str]],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apiserver.registry.metadata.uuid.uuid4", lambda: "UID")
    await refused(api, "POST", JOBS, body, invalid("Job", "pi", causes, group="batch"))


async def test_job_selector_completions_and_template_are_immutable(api: ResourceApp) -> None:
    await create(api, JOBS, job())
    await refused(api, "PATCH", f"{JOBS}/pi", {"spec": {"completions": 3}}, invalid("Job", "pi", [
        ("FieldValueInvalid", "spec.completions", "Invalid value: 3: field is immutable")], group="batch"))
    answer = await api.request("PATCH", f"{JOBS}/pi", {"spec": {"template": {"spec": {"activeDeadlineSeconds": 5}}}},
                               headers=MERGE)
    assert answer.status == 422
    assert [(cause["field"], cause["message"].endswith(": field is immutable"))
            for cause in answer.json()["details"]["causes"]] == [("spec.template", True)]


async def test_suspended_job_may_change_scheduling_directives(api: ResourceApp) -> None:
    await create(api, JOBS, job(suspend=True))
    patch = {"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}}
    answer = await api.request("PATCH", f"{JOBS}/pi", patch, headers=MERGE)
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"]["template"]["spec"]["nodeSelector"] == {"disk": "ssd"}


async def test_job_status_changes_only_through_the_status_subresource(api: ResourceApp) -> None:
    created = await create(api, JOBS, job())
    answer = await api.request("PATCH", f"{JOBS}/pi", {"status": {"active": 1}}, headers=MERGE)
    assert "status" not in answer.json() or answer.json()["status"] == created.get("status")
    answer = await api.request("PATCH", f"{JOBS}/pi/status", {"status": {"active": 1}}, headers=MERGE)
    assert answer.json()["status"] == {"active": 1}


# --- CronJobs -------------------------------------------------------------------------------------------------

async def test_cron_job_defaults(api: ResourceApp) -> None:
    spec = (await create(api, CRONJOBS, cron_job()))["spec"]
    assert {key: spec[key] for key in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit",
                                       "failedJobsHistoryLimit")} == {
        "concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}
    assert "selector" not in spec["jobTemplate"]["spec"]


@pytest.mark.parametrize("schedule", ["@hourly", "@every 1h30m", "0 0 * * MON-FRI", "*/15 9-17 1,15 jan-jun ?"])
async def test_cron_job_accepts_standard_schedules(api: ResourceApp, schedule: str) -> None:
    assert (await api.request("POST", CRONJOBS, cron_job(schedule=schedule))).status == 201


@pytest.mark.parametrize(
    ("body", "causes"),
    [
        (cron_job(schedule="61 * * * *", timeZone="Mars/Base"),
         [("FieldValueInvalid", "spec.schedule",
           'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'),
          ("FieldValueInvalid", "spec.timeZone", 'Invalid value: "Mars/Base": unknown time zone Mars/Base')]),
        (cron_job(schedule="CRON_TZ=UTC 0 * * * *"),
         [("FieldValueInvalid", "spec.schedule", 'Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in '
                                                 "schedule, use timeZone field instead")]),
        (cron_job(schedule="", concurrencyPolicy="Sometimes", timeZone="Local"),
         [("FieldValueRequired", "spec.schedule", "Required value"),
          ("FieldValueInvalid", "spec.timeZone", 'Invalid value: "Local": timeZone must be an explicit time zone as '
                                                 "defined in https://www.iana.org/time-zones"),
          ("FieldValueNotSupported", "spec.concurrencyPolicy",
           'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"')]),
        (cron_job(name="tick", jobTemplate={"spec": {"manualSelector": True, "selector": {"matchLabels": {"a": "b"}},
                                                     "template": pod_template()}}),
         [("FieldValueRequired", "spec.jobTemplate.spec.template.spec.restartPolicy",
           'Required value: valid values: "OnFailure", "Never"'),
          ("FieldValueInvalid", "spec.jobTemplate.spec.selector",
           'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, '
           "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated"),
          ("FieldValueNotSupported", "spec.jobTemplate.spec.manualSelector",
           'Unsupported value: true: supported values: "nil", "false"')]),
    ],
    ids=["bad-schedule-and-zone", "tz-in-schedule", "required-and-policies", "job-template"],
)
async def test_invalid_cron_jobs_are_refused(api: ResourceApp, body: dict[str, Any],
                                             causes: list[tuple[str, str, str]]) -> None:
    await refused(api, "POST", CRONJOBS, body, invalid("CronJob", "tick", causes, group="batch"))


async def test_cron_job_names_leave_room_for_the_job_suffix(api: ResourceApp) -> None:
    name = "n" * 53
    await refused(api, "POST", CRONJOBS, cron_job(name=name), invalid("CronJob", name, [
        ("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": must be no more than 52 characters')],
        group="batch"))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("@reboot", "unrecognized descriptor: @reboot"),
        ("@every x", 'failed to parse duration @every x: time: invalid duration "x"'),
        ("", "empty spec string"),
    ],
)
def test_cron_parse_errors_are_robfig_crons(schedule: str, message: str) -> None:
    assert parse_error(schedule) == message


# --- HorizontalPodAutoscalers ---------------------------------------------------------------------------------

def hpa(**spec: Any) -> dict[str, Any]:
    reference = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    return {"metadata": {"name": "h"}, "spec": {"scaleTargetRef": reference, "maxReplicas": 5, **spec}}


async def test_hpa_defaults(api: ResourceApp) -> None:
    spec = (await create(api, HPAS, hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}})))["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert spec["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]},
    }
    v1 = (await api.request("GET", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/h")).json()
    assert (v1["spec"]["minReplicas"], v1["spec"]["targetCPUUtilizationPercentage"]) == (1, 80)


async def test_invalid_hpa_is_refused(api: ResourceApp) -> None:
    body = {"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {}, "minReplicas": 3, "maxReplicas": 2}}
    await refused(api, "POST", HPAS, body, invalid("HorizontalPodAutoscaler", "h", [
        ("FieldValueInvalid", "spec.maxReplicas", "Invalid value: 2: must be greater than or equal to `minReplicas`"),
        ("FieldValueRequired", "spec.scaleTargetRef.kind", "Required value"),
        ("FieldValueRequired", "spec.scaleTargetRef.name", "Required value")], group="autoscaling"))
