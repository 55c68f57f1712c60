"""Deployments, ReplicaSets, ReplicationControllers, StatefulSets and DaemonSets: upstream v1.32's defaults and
validation (apps/v1 and core/v1 defaults.go, pkg/apis/apps/validation), through the resource endpoints.

Pod-spec defaults and validation are the pod strategy's (tests/resources for pods); these tests look only at
what the workload types add.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

APPS = "/apis/apps/v1/namespaces/default"
DEPLOYMENTS = f"{APPS}/deployments"
REPLICASETS = f"{APPS}/replicasets"
STATEFULSETS = f"{APPS}/statefulsets"
DAEMONSETS = f"{APPS}/daemonsets"
RCS = "/api/v1/namespaces/default/replicationcontrollers"
MERGE = {"content-type": "application/merge-patch+json"}
MISMATCH = "`selector` does not match template `labels`"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def template(labels: dict[str, str] | None, **spec: Any) -> dict[str, Any]:
    metadata = {"labels": labels} if labels is not None else {}
    return {"metadata": metadata, "spec": {"containers": [{"name": "c", "image": "nginx:1"}], **spec}}


def workload(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    labels = {"app": name} if labels is None else labels
    return {"metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels}, "template": template(labels), **spec}}


def invalid(kind: str, name: str, causes: list[tuple[str, str, str]], group: str = "apps") -> dict[str, Any]:
    """The 422 Status of upstream's NewInvalid for (reason, field, body) causes."""
    prefix = f"{kind}.{group}" if group else kind
    texts = [f"{field}: {body}" for _, field, body in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": [
        {"reason": reason, "message": body, "field": field} for reason, field, body in causes]}
    if group:
        details = {"name": name, "group": group, "kind": kind, "causes": details["causes"]}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'{prefix} "{name}" is invalid: {summary}', "reason": "Invalid", "details": details,
            "code": 422}


async def create(api: ResourceApp, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.request("POST", collection, body)
    assert answer.status == 201, answer.json()
    created: dict[str, Any] = answer.json()
    return created


async def refused(api: ResourceApp, method: str, path: str, body: dict[str, Any], expected: dict[str, Any]) -> None:
    """The request answers `expected` and nothing of the collection changed."""
    collection = path if method == "POST" else path.rsplit("/", 1)[0]
    before = (await api.request("GET", collection)).json()["items"]
    answer = await api.request(method, path, body, headers=MERGE if method == "PATCH" else None)
    assert (answer.status, answer.json()) == (422, expected)
    assert (await api.request("GET", collection)).json()["items"] == before


# --- Deployments ----------------------------------------------------------------------------------------------

async def test_deployment_defaults(api: ResourceApp) -> None:
    spec = (await create(api, DEPLOYMENTS, workload("web")))["spec"]
    assert {key: spec[key] for key in ("replicas", "strategy", "revisionHistoryLimit", "progressDeadlineSeconds")} == {
        "replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                               "maxSurge": "25%"}},
        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
    }
    assert spec["template"]["spec"]["restartPolicy"] == "Always"


async def test_deployment_keeps_what_it_was_given(api: ResourceApp) -> None:
    body = workload("web", replicas=0, strategy={"type": "Recreate"}, revisionHistoryLimit=0)
    spec = (await create(api, DEPLOYMENTS, body))["spec"]
    assert (spec["replicas"], spec["strategy"], spec["revisionHistoryLimit"]) == (0, {"type": "Recreate"}, 0)


@pytest.mark.parametrize(
    ("body", "causes"),
    [
        ({"metadata": {"name": "d"}, "spec": {"template": template({"app": "d"})}},
         [("FieldValueRequired", "spec.selector", "Required value"),
          ("FieldValueInvalid", "spec.template.metadata.labels",
           f'Invalid value: map[string]string{{"app":"d"}}: {MISMATCH}')]),
        (workload("d", {"app": "d"}) | {"spec": {"selector": {"matchLabels": {"app": "x"}},
                                                  "template": template({"app": "d", "tier": "web"})}},
         [("FieldValueInvalid", "spec.template.metadata.labels",
           f'Invalid value: map[string]string{{"app":"d", "tier":"web"}}: {MISMATCH}')]),
        ({"metadata": {"name": "d"}, "spec": {"selector": {}, "template": template({"app": "d"})}},
         [("FieldValueInvalid", "spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                                                 "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector "
                                                 "is invalid for deployment")]),
        (workload("d", replicas=-1, minReadySeconds=-2),
         [("FieldValueInvalid", "spec.replicas", "Invalid value: -1: must be greater than or equal to 0"),
          ("FieldValueInvalid", "spec.minReadySeconds", "Invalid value: -2: must be greater than or equal to 0")]),
        ({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}},
                                              "template": template({"app": "d"}, restartPolicy="OnFailure")}},
         [("FieldValueNotSupported", "spec.template.spec.restartPolicy",
           'Unsupported value: "OnFailure": supported values: "Always"')]),
        (workload("d", strategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}),
         [("FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable",
           'Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0')]),
        (workload("d", strategy={"rollingUpdate": {"maxUnavailable": "101%", "maxSurge": "x"}}),
         [("FieldValueInvalid", "spec.strategy.rollingUpdate.maxSurge",
           'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"x"}: a valid percent string must be a '
           "numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is "
           "'[0-9]+%')"),
          ("FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable",
           'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"101%"}: must not be greater than 100%')]),
        (workload("d", strategy={"type": "Recreate", "rollingUpdate": {}}),
         [("FieldValueForbidden", "spec.strategy.rollingUpdate",
           "Forbidden: may not be specified when strategy `type` is 'Recreate'")]),
        (workload("d", minReadySeconds=30, progressDeadlineSeconds=30),
         [("FieldValueInvalid", "spec.progressDeadlineSeconds", "Invalid value: 30: must be greater than "
                                                                "minReadySeconds")]),
        (workload("d") | {"spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]},
                                   "template": template({"app": "d"})}},
         [("FieldValueRequired", "spec.selector.matchExpressions[0].values",
           "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
          ("FieldValueInvalid", "spec.selector",
           'Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:'
           '[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"app", Operator:"In", '
           "Values:[]string(nil)}}}: invalid label selector")]),
    ],
    ids=["no-selector", "selector-mismatch", "empty-selector", "negative", "restart-policy",
         "zero-surge-and-unavailable", "bad-percents", "recreate-with-rolling-update", "progress-deadline",
         "selector-requirement"],
)
async def test_invalid_deployments_are_refused(api: ResourceApp, body: dict[str, Any],
                                               causes: list[tuple[str, str, str]]) -> None:
    await refused(api, "POST", DEPLOYMENTS, body, invalid("Deployment", "d", causes))


async def test_deployment_selector_is_immutable(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, workload("web"))
    patch = {"spec": {"selector": {"matchLabels": {"app": "new"}},
                      "template": {"metadata": {"labels": {"app": "new"}}}}}
    await refused(api, "PATCH", f"{DEPLOYMENTS}/web", patch, invalid("Deployment", "web", [
        ("FieldValueInvalid", "spec.selector", 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":'
                                               '"new"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field '
                                               "is immutable")]))


async def test_deployment_generation_counts_spec_changes_only(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, workload("web"))
    labelled = await api.request("PATCH", f"{DEPLOYMENTS}/web", {"metadata": {"labels": {"a": "b"}}}, headers=MERGE)
    assert labelled.json()["metadata"]["generation"] == 1
    scaled = await api.request("PATCH", f"{DEPLOYMENTS}/web", {"spec": {"replicas": 3}}, headers=MERGE)
    assert scaled.json()["metadata"]["generation"] == 2
    status = scaled.json() | {"status": {"replicas": 3}}
    answer = await api.request("PUT", f"{DEPLOYMENTS}/web/status", status)
    assert answer.json()["metadata"]["generation"] == 2


async def test_deployment_generation_counts_annotation_changes(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, workload("web"))
    path = f"{DEPLOYMENTS}/web"
    annotated = await api.request("PATCH", path, {"metadata": {"annotations": {"a": "1"}}}, headers=MERGE)
    assert annotated.json()["metadata"]["generation"] == 2
    unchanged = await api.request("PATCH", path, {"metadata": {"annotations": {"a": "1"}}}, headers=MERGE)
    assert unchanged.json()["metadata"]["generation"] == 2
    removed = await api.request("PATCH", path, {"metadata": {"annotations": {"a": None}}}, headers=MERGE)
    assert removed.json()["metadata"]["generation"] == 3
    status = removed.json() | {"status": {"replicas": 1}}
    status["metadata"]["annotations"] = {"through": "status"}
    answer = await api.request("PUT", f"{path}/status", status)
    assert answer.json()["metadata"]["generation"] == 3
    assert "through" not in (answer.json()["metadata"].get("annotations") or {})


async def test_replica_set_generation_ignores_annotation_changes(api: ResourceApp) -> None:
    await create(api, "/apis/apps/v1/namespaces/default/replicasets", workload("web"))
    answer = await api.request("PATCH", "/apis/apps/v1/namespaces/default/replicasets/web",
                               {"metadata": {"annotations": {"a": "1"}}}, headers=MERGE)
    assert answer.json()["metadata"]["generation"] == 1


# --- ReplicaSets and ReplicationControllers -------------------------------------------------------------------

async def test_replica_set_defaults_replicas_and_keeps_its_selector(api: ResourceApp) -> None:
    created = await create(api, REPLICASETS, workload("rs"))
    assert created["spec"]["replicas"] == 1
    patch = {"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}}}}}
    await refused(api, "PATCH", f"{REPLICASETS}/rs", patch, invalid("ReplicaSet", "rs", [
        ("FieldValueInvalid", "spec.selector", 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":'
                                               '"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field '
                                               "is immutable")]))


async def test_replica_set_template_rules(api: ResourceApp) -> None:
    body = {"metadata": {"name": "rs"}, "spec": {"selector": {"matchLabels": {"app": "rs"}},
                                                 "template": template({"app": "other"}, activeDeadlineSeconds=5)}}
    await refused(api, "POST", REPLICASETS, body, invalid("ReplicaSet", "rs", [
        ("FieldValueInvalid", "spec.template.metadata.labels", f'Invalid value: map[string]string{{"app":"other"}}: '
                                                               f"{MISMATCH}"),
        ("FieldValueForbidden", "spec.template.spec.activeDeadlineSeconds",
         "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported")]))


async def test_replication_controller_selector_and_labels_default_from_the_template(api: ResourceApp) -> None:
    body = {"metadata": {"name": "rc"}, "spec": {"template": template({"app": "rc"})}}
    created = await create(api, RCS, body)
    assert created["metadata"]["labels"] == {"app": "rc"}
    assert (created["spec"]["selector"], created["spec"]["replicas"]) == ({"app": "rc"}, 1)


async def test_replication_controller_selector_may_change(api: ResourceApp) -> None:
    await create(api, RCS, {"metadata": {"name": "rc"}, "spec": {"template": template({"app": "rc"})}})
    patch = {"spec": {"selector": {"app": "two"}, "template": {"metadata": {"labels": {"app": "two"}}}}}
    answer = await api.request("PATCH", f"{RCS}/rc", patch, headers=MERGE)
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"]["selector"] == {"app": "two"}


async def test_replication_controller_without_template_is_invalid(api: ResourceApp) -> None:
    await refused(api, "POST", RCS, {"metadata": {"name": "rc"}, "spec": {}}, invalid("ReplicationController", "rc", [
        ("FieldValueRequired", "spec.selector", "Required value"),
        ("FieldValueRequired", "spec.template", "Required value")], group=""))


# --- StatefulSets ---------------------------------------------------------------------------------------------

async def test_stateful_set_defaults(api: ResourceApp) -> None:
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                    "resources": {"requests": {"storage": "1Gi"}}}}
    spec = (await create(api, STATEFULSETS, workload("db", serviceName="db", volumeClaimTemplates=[claim])))["spec"]
    assert {key: spec[key] for key in ("replicas", "podManagementPolicy", "updateStrategy", "revisionHistoryLimit",
                                       "persistentVolumeClaimRetentionPolicy")} == {
        "replicas": 1, "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    }
    claim = spec["volumeClaimTemplates"][0]
    assert (claim["spec"]["volumeMode"], claim["status"]) == ("Filesystem", {"phase": "Pending"})


async def test_stateful_set_update_may_change_only_some_fields(api: ResourceApp) -> None:
    await create(api, STATEFULSETS, workload("db", serviceName="db"))
    allowed = {"spec": {"replicas": 3, "minReadySeconds": 5, "updateStrategy": {"type": "OnDelete",
                                                                                "rollingUpdate": None}}}
    assert (await api.request("PATCH", f"{STATEFULSETS}/db", allowed, headers=MERGE)).status == 200
    await refused(api, "PATCH", f"{STATEFULSETS}/db", {"spec": {"serviceName": "other"}}, invalid("StatefulSet", "db", [
        ("FieldValueForbidden", "spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                                        "'ordinals', 'template', 'updateStrategy', "
                                        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]))


async def test_stateful_set_names_are_dns_labels(api: ResourceApp) -> None:
    await refused(api, "POST", STATEFULSETS, workload("a.b", {"app": "ab"}), invalid("StatefulSet", "a.b", [
        ("FieldValueInvalid", "metadata.name", 'Invalid value: "a.b": must not contain dots')]))


# --- DaemonSets -----------------------------------------------------------------------------------------------

async def test_daemon_set_defaults(api: ResourceApp) -> None:
    created = await create(api, DAEMONSETS, workload("agent"))
    assert created["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                                 "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert created["spec"]["revisionHistoryLimit"] == 10
    assert created["metadata"]["annotations"] == {"deprecated.daemonset.template.generation": "1"}


async def test_daemon_set_template_change_counts_template_generation(api: ResourceApp) -> None:
    await create(api, DAEMONSETS, workload("agent"))
    patch = {"spec": {"template": {"metadata": {"labels": {"app": "agent", "v": "2"}}}}}
    answer = await api.request("PATCH", f"{DAEMONSETS}/agent", patch, headers=MERGE)
    assert answer.json()["metadata"]["annotations"] == {"deprecated.daemonset.template.generation": "2"}
    assert answer.json()["metadata"]["generation"] == 2


async def test_daemon_set_rules(api: ResourceApp) -> None:
    body = workload("agent", updateStrategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}})
    body["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    await refused(api, "POST", DAEMONSETS, body, invalid("DaemonSet", "agent", [
        ("FieldValueNotSupported", "spec.template.spec.restartPolicy",
         'Unsupported value: "Never": supported values: "Always"'),
        ("FieldValueRequired", "spec.updateStrategy.rollingUpdate.maxUnavailable",
         "Required value: cannot be 0 when maxSurge is 0")]))


async def test_daemon_set_selector_is_immutable(api: ResourceApp) -> None:
    await create(api, DAEMONSETS, workload("agent"))
    patch = {"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}}}}}
    answer = await api.request("PATCH", f"{DAEMONSETS}/agent", patch, headers=MERGE)
    assert answer.status == 422
    assert answer.json()["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "field": "spec.selector",
         "message": 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, '
                    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"}]
