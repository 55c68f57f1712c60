"""Server-side apply: merging, ownership, conflicts, forcing, pruning, no-ops and upstream's messages."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from apiserver.meta.errors import ApiError, BadRequest, Conflict
from apiserver.registry.apply import ApplyResult, applied_object, apply, uid_mismatch
from apiserver.registry.managedfields import reset_fields, update_managed_fields
from apiserver.registry.schema import TypeSchemas

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
SCHEMAS = TypeSchemas.builtin()
DEPLOYMENT = SCHEMAS.for_kind("apps", "v1", "Deployment")
CONFIG_MAP = SCHEMAS.for_kind("", "v1", "ConfigMap")


def deployment(replicas: int = 3, image: str = "nginx:1.25", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": image}]}},
            **spec,
        },
    }


def apply_deployment(live: dict[str, Any] | None, config: dict[str, Any], manager: str, *, force: bool = False,
                     now: datetime = NOW, **options: Any) -> ApplyResult:
    options.setdefault("ignored", reset_fields(True, options.get("subresource", "")))
    return apply(live, config, manager, force=force, schema=DEPLOYMENT, api_version="apps/v1", kind="Deployment",
                 now=now, **options)


def stored(result: ApplyResult) -> dict[str, Any]:
    """The object as the store keeps it (with a uid from then on)."""
    obj = copy.deepcopy(result.obj)
    obj["metadata"].setdefault("uid", "uid-1")
    return obj


def owners(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["manager"]: entry for entry in obj["metadata"].get("managedFields") or []}


def conflict_of(live: dict[str, Any], config: dict[str, Any], manager: str) -> Conflict:
    with pytest.raises(Conflict) as raised:
        apply_deployment(live, config, manager)
    return raised.value


def test_the_documented_config_map_example_encodes_as_upstream() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
              "data": {"key": "some value"}}
    result = apply(None, config, "kubectl", force=False, schema=CONFIG_MAP, api_version="v1", kind="ConfigMap",
                   now=datetime(2010, 10, 10, tzinfo=UTC))
    assert result.changed
    assert orjson.dumps(result.obj["metadata"]["managedFields"]).decode() == (
        '[{"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"2010-10-10T00:00:00Z",'
        '"fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:key":{}},"f:metadata":{"f:labels":{"f:test-label":{}}}}}]'
    )
    assert result.obj["data"] == {"key": "some value"}
    assert config["metadata"] == {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}}


def test_create_by_apply_owns_exactly_the_applied_fields() -> None:
    result = apply_deployment(None, deployment(), "kubectl")
    assert {key: value for key, value in result.obj["metadata"].items() if key != "managedFields"} == (
        deployment()["metadata"])
    assert result.obj["spec"] == deployment()["spec"]
    assert owners(result.obj)["kubectl"]["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}}}}},
    }


def test_reapplying_the_same_configuration_changes_nothing_not_even_times() -> None:
    live = stored(apply_deployment(None, deployment(), "kubectl"))
    again = apply_deployment(live, deployment(), "kubectl", now=LATER)
    assert again.changed is False
    assert again.obj is live


def test_a_second_manager_applying_the_same_values_becomes_co_owner_without_a_time() -> None:
    live = stored(apply_deployment(None, deployment(), "kubectl"))
    result = apply_deployment(live, deployment(), "second", now=LATER)
    assert result.changed and result.obj["spec"] == live["spec"]
    # Upstream stamps an entry's time only when the apply changed the object.
    assert "time" not in owners(result.obj)["second"]


def test_a_field_dropped_from_the_configuration_is_removed() -> None:
    live = stored(apply_deployment(None, deployment(paused=True), "kubectl"))
    result = apply_deployment(live, deployment(), "kubectl", now=LATER)
    assert "paused" not in result.obj["spec"]
    assert "f:paused" not in owners(result.obj)["kubectl"]["fieldsV1"]["f:spec"]
    assert owners(result.obj)["kubectl"]["time"] == "2024-05-01T13:00:00Z"


def test_a_field_shared_by_two_managers_stays_until_both_drop_it() -> None:
    live = stored(apply_deployment(None, deployment(paused=True), "first"))
    live = stored(apply_deployment(live, deployment(paused=True), "second"))
    live = stored(apply_deployment(live, deployment(), "first"))
    assert live["spec"]["paused"] is True
    assert "f:paused" in owners(live)["second"]["fieldsV1"]["f:spec"]
    live = stored(apply_deployment(live, deployment(), "second"))
    assert "paused" not in live["spec"]


def test_removing_a_container_keeps_it_while_another_applier_owns_it() -> None:
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = stored(apply_deployment(None, two, "first"))
    live = stored(apply_deployment(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "sidecar"}]}}}}, "second"))
    live = stored(apply_deployment(live, deployment(), "first"))
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.25"}, {"name": "sidecar"}]


def test_conflict_with_an_update_manager_has_upstreams_message_and_causes() -> None:
    live = update_managed_fields(None, deployment(), "kubectl-client-side-apply", schema=DEPLOYMENT,
                                 api_version="apps/v1", now=NOW)
    live["metadata"]["uid"] = "uid-1"
    error = conflict_of(live, deployment(replicas=5), "ssa")
    assert error.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
                   ".spec.replicas",
        "reason": "Conflict",
        "details": {"causes": [{"reason": "FieldManagerConflict",
                                "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                                "field": ".spec.replicas"}]},
        "code": 409,
    }


def test_several_conflicts_are_listed_by_manager() -> None:
    live = update_managed_fields(None, deployment(), "kubectl-client-side-apply", schema=DEPLOYMENT,
                                 api_version="apps/v1", now=NOW)
    live["metadata"]["uid"] = "uid-1"
    labelled = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": "a"}}}
    live = stored(apply_deployment(live, labelled, "labeller"))
    changed = deployment(replicas=5, image="nginx:1.27")
    changed["metadata"]["labels"]["tier"] = "back"
    error = conflict_of(live, changed, "ssa")
    assert error.message == (
        'Apply failed with 3 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image\n'
        'conflicts with "labeller":\n'
        "- .metadata.labels.tier"
    )
    assert [(cause.message, cause.field) for cause in error.details.causes] == [
        ('conflict with "kubectl-client-side-apply" using apps/v1', ".spec.replicas"),
        ('conflict with "kubectl-client-side-apply" using apps/v1',
         '.spec.template.spec.containers[name="nginx"].image'),
        ('conflict with "labeller"', ".metadata.labels.tier"),
    ]


def test_force_takes_ownership_from_the_other_manager() -> None:
    live = stored(apply_deployment(None, deployment(), "first"))
    result = apply_deployment(live, deployment(replicas=7), "second", force=True)
    assert result.obj["spec"]["replicas"] == 7
    assert "f:replicas" not in owners(result.obj)["first"]["fieldsV1"]["f:spec"]
    assert "f:replicas" in owners(result.obj)["second"]["fieldsV1"]["f:spec"]


def test_an_update_takes_fields_from_the_applier_who_then_conflicts() -> None:
    live = stored(apply_deployment(None, deployment(), "kubectl"))
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 10
    live = update_managed_fields(live, edited, "kubectl-edit", schema=DEPLOYMENT, api_version="apps/v1", now=LATER)
    assert owners(live)["kubectl-edit"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert conflict_of(live, deployment(), "kubectl").message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas')


def test_a_field_an_update_took_over_survives_the_applier_dropping_it() -> None:
    live = stored(apply_deployment(None, deployment(), "kubectl"))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 10
    live = update_managed_fields(live, scaled, "autoscaler", schema=DEPLOYMENT, api_version="apps/v1", now=LATER)
    config = deployment()
    del config["spec"]["replicas"]
    result = apply_deployment(live, config, "kubectl", now=LATER)
    assert (result.changed, result.obj["spec"]["replicas"]) == (False, 10)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (
            [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
            [{"name": "c", "image": "c:1"}, {"name": "a", "image": "a:2"}],
            [{"name": "c", "image": "c:1"}, {"name": "a", "image": "a:2"}, {"name": "b", "image": "b:1"}],
        ),
        (
            [{"name": "a", "image": "a:1", "args": ["x", "y"]}],
            [{"name": "a", "args": ["z"]}],
            [{"name": "a", "image": "a:1", "args": ["z"]}],
        ),
    ],
    ids=["containers-merge-by-name", "atomic-args-replaced"],
)
def test_list_of_containers_merge(first: list[Any], second: list[Any], expected: list[Any]) -> None:
    one, two = deployment(), deployment()
    one["spec"]["template"]["spec"]["containers"] = first
    two["spec"]["template"]["spec"]["containers"] = second
    live = stored(apply_deployment(None, one, "first"))
    result = apply_deployment(live, two, "second", force=True)
    assert result.obj["spec"]["template"]["spec"]["containers"] == expected


def test_finalizers_are_a_set_merged_by_value() -> None:
    one, two = deployment(), deployment()
    one["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    two["metadata"]["finalizers"] = ["example.com/c", "example.com/a"]
    live = stored(apply_deployment(None, one, "first"))
    result = apply_deployment(live, two, "second")
    assert result.obj["metadata"]["finalizers"] == ["example.com/c", "example.com/a", "example.com/b"]
    assert owners(result.obj)["second"]["fieldsV1"]["f:metadata"]["f:finalizers"] == {
        'v:"example.com/a"': {}, 'v:"example.com/c"': {}}


def test_tolerations_are_atomic_and_replaced_whole() -> None:
    one, two = deployment(), deployment()
    one["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    two["spec"]["template"]["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    live = stored(apply_deployment(None, one, "first"))
    error = conflict_of(live, two, "second")
    assert error.message.endswith(": .spec.template.spec.tolerations")
    result = apply_deployment(live, two, "second", force=True)
    assert result.obj["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_an_object_nobody_owned_is_first_given_to_before_first_apply() -> None:
    live = deployment()
    live["metadata"]["uid"] = "uid-1"
    error = conflict_of(live, deployment(replicas=4), "ssa")
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas')
    result = apply_deployment(live, deployment(), "ssa")
    assert sorted(owners(result.obj)) == ["before-first-apply", "ssa"]
    assert owners(result.obj)["before-first-apply"]["operation"] == "Update"


def client_side_applied(replicas: int = 3) -> dict[str, Any]:
    """A Deployment as `kubectl apply` (client-side) creates it: annotation plus a kubectl-client-side-apply entry."""
    obj = deployment(replicas=replicas)
    annotation = orjson.dumps(deployment(replicas=replicas), option=orjson.OPT_SORT_KEYS).decode() + "\n"
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": annotation}
    created = update_managed_fields(None, obj, "kubectl-client-side-apply", schema=DEPLOYMENT,
                                    api_version="apps/v1", now=NOW)
    created["metadata"]["uid"] = "uid-1"
    return created


def test_kubectl_server_side_apply_after_client_side_apply_takes_over_without_conflict() -> None:
    live = client_side_applied()
    result = apply_deployment(live, deployment(replicas=5), "kubectl", now=LATER)
    assert result.obj["spec"]["replicas"] == 5
    assert "f:replicas" in owners(result.obj)["kubectl"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners(result.obj)["kubectl-client-side-apply"]["fieldsV1"]["f:spec"]
    annotation = result.obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert annotation == (
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web",'
        '"namespace":"default"},"spec":{"replicas":5,"selector":{"matchLabels":{"app":"web"}},"template":'
        '{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1.25","name":"nginx"}]}}}}\n'
    )


def test_other_managers_still_conflict_with_client_side_apply() -> None:
    error = conflict_of(client_side_applied(), deployment(replicas=5), "my-controller")
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas')


def test_kubectl_conflicts_where_the_live_object_drifted_from_its_last_client_side_apply() -> None:
    live = client_side_applied()
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 8
    live = update_managed_fields(live, edited, "kubectl-edit", schema=DEPLOYMENT, api_version="apps/v1", now=NOW)
    error = conflict_of(live, deployment(replicas=5), "kubectl")
    assert error.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas')


def test_the_last_applied_annotation_is_only_kept_where_it_exists() -> None:
    live = stored(apply_deployment(None, deployment(), "kubectl"))
    result = apply_deployment(live, deployment(replicas=4), "kubectl")
    assert "annotations" not in result.obj["metadata"]


def test_a_null_in_the_configuration_unsets_the_field_and_owns_it() -> None:
    live = stored(apply_deployment(None, deployment(paused=True), "first"))
    config = deployment()
    config["spec"]["revisionHistoryLimit"] = None
    result = apply_deployment(live, config, "first")
    assert "revisionHistoryLimit" not in result.obj["spec"] and "paused" not in result.obj["spec"]
    assert "f:revisionHistoryLimit" in owners(result.obj)["first"]["fieldsV1"]["f:spec"]


def test_status_in_a_main_resource_apply_is_not_owned() -> None:
    config = deployment()
    config["status"] = {"replicas": 3}
    result = apply_deployment(None, config, "kubectl")
    assert "f:status" not in owners(result.obj)["kubectl"]["fieldsV1"]


def test_status_subresource_applies_are_recorded_with_their_subresource() -> None:
    live = stored(apply_deployment(None, deployment(), "kubectl"))
    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "status": {"replicas": 3}}
    result = apply_deployment(live, config, "controller", subresource="status")
    entry = owners(result.obj)["controller"]
    assert (entry["fieldsV1"], entry["subresource"]) == ({"f:status": {"f:replicas": {}}}, "status")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "StatefulSet"}, "invalid object type: apps/v1, Kind=StatefulSet"),
        ({"apiVersion": "apps/v1beta1"}, "invalid object type: apps/v1beta1, Kind=Deployment"),
        ({"apiVersion": None}, "invalid object type: /, Kind=Deployment"),
        ({"metadata": {"name": "web", "managedFields": []}}, "metadata.managedFields must be nil"),
    ],
    ids=["kind", "version", "no-api-version", "managed-fields"],
)
def test_configurations_of_another_kind_or_with_managed_fields_are_bad_requests(change: dict[str, Any],
                                                                                message: str) -> None:
    config = {**deployment(), **change}
    with pytest.raises(BadRequest, match=f"^{message}$"):
        apply_deployment(None, config, "kubectl")


def test_configurations_that_do_not_fit_the_schema_fail_as_upstream() -> None:
    config = deployment()
    config["spec"]["replicas"] = "three"
    config["spec"]["template"]["spec"]["contaners"] = []
    with pytest.raises(ApiError) as raised:
        apply_deployment(None, config, "kubectl")
    assert (raised.value.code, raised.value.reason) == (500, "")
    assert raised.value.message == (
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): errors:\n"
        "  .spec.replicas: expected numeric (int or float), got string\n"
        "  .spec.template.spec.contaners: field not declared in schema"
    )


def test_applying_without_a_schema_merges_maps_and_replaces_lists() -> None:
    live_config = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                   "spec": {"a": {"x": 1}, "items": [1, 2]}}
    live = stored(apply(None, live_config, "one", force=False, schema=None, api_version="example.com/v1",
                        kind="Widget", now=NOW))
    config = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"a": {"y": 2}, "items": [3]}}
    result = apply(live, config, "two", force=True, schema=None, api_version="example.com/v1", kind="Widget",
                   now=NOW)
    assert result.obj["spec"] == {"a": {"x": 1, "y": 2}, "items": [3]}


def test_helpers_for_the_endpoint() -> None:
    assert applied_object(None) == {}
    with pytest.raises(BadRequest, match="cannot unmarshal array into Go value of type map"):
        applied_object([1])
    error = uid_mismatch("deployments", "apps", {"metadata": {"name": "web", "uid": "u-1"}})
    assert error is not None and error.message == (
        'Operation cannot be fulfilled on deployments.apps "web": uid mismatch: the provided object specified uid '
        "u-1, and no existing object was found")
    assert uid_mismatch("deployments", "apps", {"metadata": {"name": "web"}}) is None
