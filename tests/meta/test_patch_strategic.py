"""Applying strategic merge patches: merge keys, strategies, every directive, and upstream's errors."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.meta.patch import PatchError, strategic_merge_patch
from tests.meta.test_patch_fixtures import DEPLOYMENT, POD, POD_DISRUPTION_BUDGET, SERVICE, FakeSchema


def pod_spec(**spec: Any) -> dict[str, Any]:
    return {"spec": spec}


def containers(*names: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": name, "image": f"{name}:1", **extra} for name in names]


def names(pod: dict[str, Any], field: str = "containers") -> list[str]:
    return [item["name"] for item in pod["spec"][field]]


APPLY_CASES: list[tuple[str, FakeSchema | None, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "map-merged-null-deletes",
        POD,
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"b": None, "c": "3"}}},
        {"metadata": {"labels": {"a": "1", "c": "3"}}},
    ),
    (
        "container-merged-by-name-keeps-order",
        POD,
        pod_spec(containers=containers("a", "b")),
        pod_spec(containers=[{"name": "b", "image": "b:2"}]),
        pod_spec(containers=[{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}]),
    ),
    (
        "new-container-without-order-goes-first",
        POD,
        pod_spec(containers=containers("a", "b")),
        pod_spec(containers=[{"name": "c", "image": "c:1"}]),
        pod_spec(containers=containers("c", "a", "b")),
    ),
    (
        "set-element-order-reorders",
        POD,
        pod_spec(containers=containers("a", "b", "c")),
        pod_spec(**{"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}),
        pod_spec(containers=containers("c", "a", "b")),
    ),
    (
        "set-element-order-interleaves-server-only-items",
        POD,
        pod_spec(containers=containers("a", "b", "sidecar")),
        pod_spec(**{"$setElementOrder/containers": [{"name": "a"}, {"name": "n"}, {"name": "b"}]},
                 containers=[{"name": "n", "image": "n:1"}]),
        pod_spec(containers=containers("a", "n", "b", "sidecar")),
    ),
    (
        "patch-delete-list-element",
        POD,
        pod_spec(containers=containers("a", "b")),
        pod_spec(containers=[{"name": "a", "$patch": "delete"}]),
        pod_spec(containers=containers("b")),
    ),
    (
        "patch-replace-list",
        POD,
        pod_spec(containers=containers("a", "b")),
        pod_spec(containers=[{"name": "c", "image": "c:1"}, {"$patch": "replace"}]),
        pod_spec(containers=containers("c")),
    ),
    (
        "patch-replace-map",
        POD,
        {"metadata": {"labels": {"a": "1"}}},
        {"metadata": {"labels": {"$patch": "replace", "b": "2"}}},
        {"metadata": {"labels": {"b": "2"}}},
    ),
    (
        "patch-delete-existing-map-leaves-it-empty",
        POD,
        {"metadata": {"name": "p", "labels": {"a": "1"}}},
        {"metadata": {"labels": {"$patch": "delete"}}},
        {"metadata": {"name": "p", "labels": {}}},
    ),
    (
        "patch-delete-missing-map-adds-nothing",
        POD,
        {"metadata": {"name": "p"}},
        {"metadata": {"annotations": {"$patch": "delete"}}},
        {"metadata": {"name": "p"}},
    ),
    (
        "delete-from-primitive-list",
        POD,
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
    ),
    (
        "primitive-merge-list-is-a-union-patch-items-first",
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["c", "a"]}},
        {"metadata": {"finalizers": ["c", "a", "b"]}},
    ),
    (
        "primitive-list-with-order-and-deletion",
        POD,
        {"metadata": {"finalizers": ["y", "z"]}},
        {"metadata": {"finalizers": ["x"], "$setElementOrder/finalizers": ["x", "y"],
                      "$deleteFromPrimitiveList/finalizers": ["z"]}},
        {"metadata": {"finalizers": ["x", "y"]}},
    ),
    (
        "list-without-strategy-replaced",
        POD,
        pod_spec(tolerations=[{"key": "a", "operator": "Exists"}], containers=containers("a", args=["x", "y"])),
        pod_spec(tolerations=[{"key": "b", "operator": "Exists"}], containers=[{"name": "a", "args": ["z"]}]),
        pod_spec(tolerations=[{"key": "b", "operator": "Exists"}], containers=containers("a", args=["z"])),
    ),
    (
        "nested-env-merged-by-name",
        POD,
        pod_spec(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]),
        pod_spec(containers=[{"name": "a", "env": [{"name": "Y", "value": "3"}]}]),
        pod_spec(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}]}]),
    ),
    (
        "ports-merged-by-container-port",
        POD,
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]),
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]),
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]),
    ),
    (
        "merge-key-values-compare-by-go-type",
        POD,
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]),
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80.0, "name": "float"}]}]),
        pod_spec(containers=[{"name": "a", "ports": [{"containerPort": 80.0, "name": "float"},
                                                     {"containerPort": 80, "name": "http"}]}]),
    ),
    (
        "service-ports-merged-by-port",
        SERVICE,
        {"spec": {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}},
        {"spec": {"ports": [{"port": 53, "$patch": "delete"}, {"port": 80, "targetPort": 8080}]}},
        {"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}},
    ),
    (
        "retain-keys-clears-other-fields",
        DEPLOYMENT,
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
    ),
    (
        "retain-keys-in-merged-volume",
        POD,
        pod_spec(volumes=[{"name": "v", "emptyDir": {}}]),
        pod_spec(volumes=[{"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}]),
        pod_spec(volumes=[{"name": "v", "configMap": {"name": "cm"}}]),
    ),
    (
        "replace-strategy-map",
        POD_DISRUPTION_BUDGET,
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        {"spec": {"selector": {"matchLabels": {"b": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"b": "2"}}}},
    ),
    (
        "unknown-schema-merges-maps-replaces-lists",
        None,
        {"spec": {"x": 1, "y": [1, 2], "z": {"k": "v"}}},
        {"spec": {"y": [3], "z": {"k": None, "l": "w"}}},
        {"spec": {"x": 1, "y": [3], "z": {"l": "w"}}},
    ),
    (
        "null-for-missing-field-ignored",
        POD,
        {"spec": {"restartPolicy": "Always"}},
        {"spec": {"nodeSelector": None, "hostname": None}},
        {"spec": {"restartPolicy": "Always"}},
    ),
    (
        "taken-value-loses-nulls-and-directives",
        POD,
        {"metadata": {"name": "p"}},
        {"metadata": {"labels": {"a": "1", "b": None}},
         "spec": {"containers": [{"name": "gone", "$patch": "delete"}, {"name": "b", "image": "b:1"}]}},
        {"metadata": {"name": "p", "labels": {"a": "1"}}, "spec": {"containers": containers("b")}},
    ),
    (
        "type-change-replaces",
        DEPLOYMENT,
        {"spec": {"replicas": 1, "selector": {"matchLabels": {"a": "1"}}}},
        {"spec": {"replicas": "2", "selector": ["odd"]}},
        {"spec": {"replicas": "2", "selector": ["odd"]}},
    ),
    (
        "owner-references-deleted-by-uid",
        POD,
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}},
        {"metadata": {"ownerReferences": [{"uid": "1", "$patch": "delete"}]}},
        {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}},
    ),
]


@pytest.mark.parametrize(
    ("schema", "original", "patch", "expected"),
    [case[1:] for case in APPLY_CASES],
    ids=[case[0] for case in APPLY_CASES],
)
def test_strategic_merge_patch(
    schema: FakeSchema | None, original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert strategic_merge_patch(original, patch, schema) == expected


def test_strategic_merge_patch_leaves_its_arguments_untouched() -> None:
    original = pod_spec(containers=containers("a", "b"), volumes=[{"name": "v", "emptyDir": {}}])
    patch = pod_spec(containers=[{"name": "a", "$patch": "delete"}, {"name": "c", "env": [{"name": "X"}]}],
                     **{"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}]})
    before = copy.deepcopy((original, patch))
    strategic_merge_patch(original, patch, POD)
    assert (original, patch) == before


def status(message: str, code: int, reason: str = "", details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message}
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


REJECTED = status("the server rejected our request due to an error in our request", 422, "Invalid", {})

ERROR_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "missing-merge-key",
        pod_spec(containers=containers("a")),
        pod_spec(containers=[{"image": "nginx"}]),
        status("map: map[image:nginx] does not contain declared merge key: name", 500),
    ),
    (
        "delete-directive-without-merge-key",
        pod_spec(containers=containers("a")),
        pod_spec(containers=[{"$patch": "delete"}]),
        status("map: map[$patch:delete] does not contain declared merge key: name", 500),
    ),
    (
        "merge-directive-on-map",
        {"metadata": {"labels": {"a": "1"}}},
        {"metadata": {"labels": {"$patch": "merge", "b": "2"}}},
        status("unknown patch type: merge in map: map[$patch:merge b:2]", 500),
    ),
    (
        "merge-directive-in-list",
        pod_spec(containers=containers("a")),
        pod_spec(containers=[{"name": "a", "$patch": "merge"}]),
        status("merging lists cannot yet be specified in the patch", 500),
    ),
    (
        "unknown-list-directive",
        pod_spec(containers=containers("a")),
        pod_spec(containers=[{"name": "a", "$patch": 1}]),
        status("unknown patch type: %!s(int64=1) in map: map[$patch:1 name:a]", 500),
    ),
    (
        "retain-keys-not-a-list",
        pod_spec(volumes=[{"name": "v", "emptyDir": {}}]),
        pod_spec(volumes=[{"name": "v", "$retainKeys": "name"}]),
        status("invalid patch format of retainKeys", 400, "BadRequest"),
    ),
    (
        "field-outside-retain-keys",
        pod_spec(volumes=[{"name": "v", "emptyDir": {}}]),
        pod_spec(volumes=[{"name": "v", "$retainKeys": ["name"], "configMap": {"name": "cm"}}]),
        status("invalid patch format of retainKeys", 400, "BadRequest"),
    ),
    (
        "set-element-order-missing-patch-item",
        pod_spec(containers=containers("a")),
        pod_spec(containers=[{"name": "b", "image": "x"}], **{"$setElementOrder/containers": [{"name": "a"}]}),
        status("The order in patch list:\n[map[image:x name:b]]\n doesn't match $setElementOrder list:\n"
               "[map[name:a]]\n", 500),
    ),
    (
        "set-element-order-not-a-list",
        pod_spec(containers=containers("a")),
        pod_spec(**{"$setElementOrder/containers": "a"}),
        status("expected a []interface {}, but received a string", 500),
    ),
    (
        "delete-from-primitive-list-without-slash",
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}},
        status("invalid patch format of primitive list", 400, "BadRequest"),
    ),
    (
        "list-of-lists",
        {"metadata": {"finalizers": []}},
        {"metadata": {"finalizers": [["a"]]}},
        REJECTED,
    ),
    (
        "mixed-element-types",
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"finalizers": [1]}},
        status("list element types are not identical: [[a] [1]]", 500),
    ),
]


@pytest.mark.parametrize(
    ("original", "patch", "expected"), [case[1:] for case in ERROR_CASES], ids=[case[0] for case in ERROR_CASES]
)
def test_strategic_merge_patch_errors_as_upstream(
    original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    with pytest.raises(ApiError) as raised:
        strategic_merge_patch(original, patch, POD)
    assert raised.value.to_status() == expected


def test_errors_without_an_api_status_are_patch_errors() -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch(pod_spec(containers=containers("a")), pod_spec(containers=[{}]), POD)
