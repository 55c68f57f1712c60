"""managedFields on writes that are not applies: creates, updates, resets, subresources, the Update cap."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from apiserver.registry.fieldsets import from_fields_v1
from apiserver.registry.managedfields import (
    ManagedFieldsError,
    cap_update_managers,
    decode_managed_fields,
    encode_managed_fields,
    manager_from_user_agent,
    manager_identifier,
    reset_fields,
    update_managed_fields,
)
from apiserver.registry.schema import TypeSchemas
from tests.registry.test_managedfields_fieldsets import KUBECTL_CREATE_DEPLOYMENT

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DEPLOYMENT = TypeSchemas.builtin().for_kind("apps", "v1", "Deployment")
POD = TypeSchemas.builtin().for_kind("", "v1", "Pod")
CONFIG_MAP = TypeSchemas.builtin().for_kind("", "v1", "ConfigMap")

# `kubectl create deployment nginx --image=nginx` as kube-apiserver decodes and defaults it.
CREATED_DEPLOYMENT: dict[str, Any] = {
    "kind": "Deployment", "apiVersion": "apps/v1",
    "metadata": {"name": "nginx", "namespace": "default", "creationTimestamp": None, "labels": {"app": "nginx"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"creationTimestamp": None, "labels": {"app": "nginx"}},
            "spec": {
                "containers": [{"name": "nginx", "image": "nginx", "resources": {},
                                "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File", "imagePullPolicy": "Always"}],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                "securityContext": {}, "schedulerName": "default-scheduler",
            },
        },
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    },
    "status": {},
}


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["metadata"].get("managedFields") or [])


def fields_json(entry: dict[str, Any]) -> str:
    return orjson.dumps(entry["fieldsV1"]).decode()


def create(obj: dict[str, Any], manager: str, schema: Any = DEPLOYMENT, api_version: str = "apps/v1",
           now: datetime = NOW) -> dict[str, Any]:
    created = update_managed_fields(None, obj, manager, schema=schema, api_version=api_version, now=now,
                                    ignored=reset_fields(True, ""))
    created["metadata"]["uid"] = "uid-1"
    return created


def update(live: dict[str, Any], new: dict[str, Any], manager: str, now: datetime = NOW, **options: Any) -> dict:
    options.setdefault("schema", DEPLOYMENT)
    options.setdefault("api_version", "apps/v1")
    return update_managed_fields(live, new, manager, now=now, **options)


def test_create_gives_the_creator_every_field_it_set_as_upstream_encodes_it() -> None:
    created = create(CREATED_DEPLOYMENT, "kubectl-create")
    assert [list(entry) for entry in entries(created)] == [
        ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]]
    entry = entries(created)[0]
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["time"], entry["fieldsType"]) == (
        "kubectl-create", "Update", "apps/v1", "2024-05-01T12:00:00Z", "FieldsV1")
    assert fields_json(entry) == KUBECTL_CREATE_DEPLOYMENT
    assert "managedFields" not in CREATED_DEPLOYMENT["metadata"]


def test_kubectl_run_pod_fields_match_upstream() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "nginx", "creationTimestamp": None, "labels": {"run": "nginx"}},
           "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {},
                                    "terminationMessagePath": "/dev/termination-log",
                                    "terminationMessagePolicy": "File", "imagePullPolicy": "Always"}],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                    "securityContext": {}, "schedulerName": "default-scheduler", "enableServiceLinks": True},
           "status": {}}
    created = create(pod, "kubectl-run", schema=POD, api_version="v1")
    assert fields_json(entries(created)[0]) == (
        '{"f:metadata":{"f:labels":{".":{},"f:run":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":'
        '{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},'
        '"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},'
        '"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}'
    )


def test_update_takes_changed_fields_from_their_owner() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 3
    result = update(live, edited, "kubectl-edit", now=NOW + timedelta(minutes=1))
    creator, editor = entries(result)
    assert creator["manager"] == "kubectl-create" and "f:replicas" not in creator["fieldsV1"]["f:spec"]
    assert (editor["manager"], editor["operation"], editor["time"]) == (
        "kubectl-edit", "Update", "2024-05-01T12:01:00Z")
    assert editor["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_repeated_updates_by_one_manager_accumulate_in_one_entry() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    first = copy.deepcopy(live)
    first["spec"]["replicas"] = 3
    live = update(live, first, "editor")
    second = copy.deepcopy(live)
    second["spec"]["paused"] = True
    result = update(live, second, "editor", now=NOW + timedelta(hours=1))
    editor = entries(result)[1]
    assert editor["fieldsV1"] == {"f:spec": {"f:paused": {}, "f:replicas": {}}}
    assert editor["time"] == "2024-05-01T13:00:00Z"


def test_an_update_that_changes_nothing_keeps_entries_and_times() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    assert update(live, copy.deepcopy(live), "other", now=NOW + timedelta(days=1)) == live


def test_removed_fields_leave_their_owner() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    trimmed = copy.deepcopy(live)
    del trimmed["metadata"]["labels"]
    result = update(live, trimmed, "trimmer")
    assert [entry["manager"] for entry in entries(result)] == ["kubectl-create"]
    assert "f:metadata" not in entries(result)[0]["fieldsV1"]


@pytest.mark.parametrize("reset", [[], [{}]], ids=["empty-list", "one-empty-entry"])
def test_requests_can_reset_managed_fields_and_then_nothing_is_tracked(reset: list[Any]) -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    cleared = copy.deepcopy(live)
    cleared["metadata"]["managedFields"] = reset
    result = update(live, cleared, "resetter")
    assert "managedFields" not in result["metadata"]
    changed = copy.deepcopy(result)
    changed["spec"]["replicas"] = 9
    assert "managedFields" not in update(result, changed, "editor")["metadata"]


def test_requests_without_managed_fields_keep_the_stored_ones() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    body = copy.deepcopy(live)
    del body["metadata"]["managedFields"]
    assert entries(update(live, body, "x")) == entries(live)
    body["metadata"]["managedFields"] = [{"manager": "bad"}]
    assert entries(update(live, body, "x")) == entries(live)


def test_requests_may_replace_managed_fields_with_valid_ones() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    body = copy.deepcopy(live)
    body["metadata"]["managedFields"] = [{"manager": "someone", "operation": "Apply", "apiVersion": "apps/v1",
                                          "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert entries(update(live, body, "x")) == body["metadata"]["managedFields"]


def test_subresource_writes_are_recorded_apart_and_ignore_requested_managed_fields() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    body = copy.deepcopy(live)
    body["metadata"]["managedFields"] = []
    body["status"] = {"replicas": 1}
    body["spec"]["replicas"] = 5
    result = update(live, body, "kube-controller-manager", subresource="status", ignored=reset_fields(True, "status"),
                    now=NOW + timedelta(seconds=1))
    creator, controller = entries(result)
    assert creator["fieldsV1"] == entries(live)[0]["fieldsV1"]
    assert controller == {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                          "time": "2024-05-01T12:00:01Z", "fieldsType": "FieldsV1",
                          "fieldsV1": {"f:status": {"f:replicas": {}}}, "subresource": "status"}


def test_status_is_not_owned_through_the_main_resource() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    body = copy.deepcopy(live)
    body["status"] = {"replicas": 1}
    assert entries(update(live, body, "x", ignored=reset_fields(True, ""))) == entries(live)


def test_objects_that_do_not_fit_their_schema_lose_managed_fields() -> None:
    live = create(CREATED_DEPLOYMENT, "kubectl-create")
    body = copy.deepcopy(live)
    body["spec"]["template"]["spec"]["containers"].append({"image": "no-name"})
    assert "managedFields" not in update(live, body, "x")["metadata"]


def test_update_managers_are_capped_at_ten_oldest_merged_into_ancient_changes() -> None:
    live = create(CONFIG_MAP_OBJECT, "creator", schema=CONFIG_MAP, api_version="v1")
    for number in range(11):
        body = copy.deepcopy(live)
        body["data"][f"k{number}"] = "v"
        live = update(live, body, f"writer-{number:02d}", now=NOW + timedelta(minutes=number + 1),
                      schema=CONFIG_MAP, api_version="v1")
    managers = [entry["manager"] for entry in entries(live)]
    assert len(managers) == 10
    assert managers[0] == "ancient-changes" and managers[1:] == [f"writer-{number:02d}" for number in range(2, 11)]
    # The eleventh writer pushed creator and writer-00 into the bucket, the twelfth writer-01 (its time kept).
    ancient = entries(live)[0]
    assert ancient["time"] == "2024-05-01T12:02:00Z"
    assert from_fields_v1(ancient["fieldsV1"]) == from_fields_v1(
        {"f:data": {".": {}, "f:base": {}, "f:k0": {}, "f:k1": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})


CONFIG_MAP_OBJECT = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}},
                     "data": {"base": "1"}}


def test_cap_keeps_apply_entries_and_buckets_per_version() -> None:
    managed = decode_managed_fields([
        {"manager": f"m{number}", "operation": "Update", "apiVersion": "v1" if number % 2 else "v2",
         "time": f"2024-01-01T00:00:{number:02d}Z", "fieldsType": "FieldsV1", "fieldsV1": {f"f:f{number}": {}}}
        for number in range(12)
    ] + [{"manager": "applier", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
          "fieldsV1": {"f:x": {}}}])
    cap_update_managers(managed)
    encoded = encode_managed_fields(managed) or []
    assert [(entry["manager"], entry.get("apiVersion")) for entry in encoded][:3] == [
        ("applier", "v1"), ("ancient-changes", "v2"), ("ancient-changes", "v1")]
    assert len([entry for entry in encoded if entry["operation"] == "Update"]) == 10


def test_entries_sort_by_operation_time_manager_version_subresource() -> None:
    raw = [
        {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}},
        {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}, "subresource": "status"},
        {"manager": "z", "operation": "Apply", "apiVersion": "v1", "time": "2025-01-01T00:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}},
        {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2023-01-01T00:00:00+01:00",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:a": {}}},
    ]
    encoded = encode_managed_fields(decode_managed_fields(raw)) or []
    assert [(entry["manager"], entry["time"], entry.get("subresource", "")) for entry in encoded] == [
        ("z", "2025-01-01T00:00:00Z", ""), ("a", "2022-12-31T23:00:00Z", ""), ("a", "2024-01-01T00:00:00Z", "status"),
        ("b", "2024-01-01T00:00:00Z", "")]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}, "operation must be `Apply` or `Update`"),
        ({"operation": "Apply", "fieldsType": "FieldsV1"}, "apiVersion must not be empty"),
        ({"operation": "Apply", "apiVersion": "v1"}, "missing fieldsType in managed fields entry 0"),
        ({"operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"},
         'invalid fieldsType "FieldsV2" in managed fields entry 0'),
    ],
    ids=["operation", "api-version", "missing-fields-type", "wrong-fields-type"],
)
def test_undecodable_managed_fields_are_reported_as_upstream(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ManagedFieldsError, match=f"^{message}$"):
        decode_managed_fields([entry])


def test_manager_identifiers_leave_out_the_apply_version() -> None:
    assert manager_identifier("kubectl", "Apply", "apps/v1") == '{"manager":"kubectl","operation":"Apply"}'
    assert json.loads(manager_identifier("m", "Update", "v1", "status")) == {
        "manager": "m", "operation": "Update", "apiVersion": "v1", "subresource": "status"}


@pytest.mark.parametrize(
    ("user_agent", "manager"),
    [("kubectl/v1.32.0 (linux/amd64) kubernetes/abc", "kubectl"), ("Go-http-client/2.0", "Go-http-client"),
     ("", ""), ("a\tb/1", "ab"), ("x" * 200, "x" * 128)],
    ids=["kubectl", "go", "empty", "unprintable-dropped", "capped"],
)
def test_manager_from_user_agent(user_agent: str, manager: str) -> None:
    assert manager_from_user_agent(user_agent) == manager
