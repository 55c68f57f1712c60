"""The three-way patch of client-side `kubectl apply`: deletions, conflicts, and convergence to `unchanged`."""
from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from apiserver.meta.patch import (
    LAST_APPLIED_ANNOTATION,
    MergeConflict,
    client_side_apply_patch,
    last_applied_configuration,
    strategic_merge_patch,
    three_way_merge_patch,
)
from apiserver.meta.patch_threeway import with_last_applied
from tests.meta.test_patch_diff import PodGenerator
from tests.meta.test_patch_fixtures import DEPLOYMENT, POD


def deployment(image: str = "nginx:1", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}],
                                         "env": [{"name": "MODE", "value": "prod"}]}]},
            },
            **spec,
        },
    }


def served(applied: dict[str, Any]) -> dict[str, Any]:
    """What the server stores for a created object: identity, defaults inside lists, status, another label."""
    live = copy.deepcopy(applied)
    live["metadata"].update(uid="0f1e", resourceVersion="7", generation=1)
    live["metadata"]["labels"]["injected-by"] = "webhook"
    pod_spec = live["spec"]["template"]["spec"]
    for container in pod_spec["containers"]:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        for port in container.get("ports", []):
            port.setdefault("protocol", "TCP")
    pod_spec.setdefault("restartPolicy", "Always")
    live["spec"].setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}})
    live["status"] = {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]}
    return live


def test_last_applied_configuration_is_kubectls_encoding() -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
                "data": {"html": "<b>&</b>"}}
    assert last_applied_configuration(manifest) == (
        '{"apiVersion":"v1","data":{"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"},"kind":"ConfigMap",'
        '"metadata":{"annotations":{},"name":"c","namespace":"default"}}\n'
    )


def test_last_applied_configuration_leaves_out_the_old_annotation() -> None:
    manifest = with_last_applied({"kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a": "1"}}})
    assert orjson.loads(last_applied_configuration(manifest)) == {
        "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a": "1"}}
    }


def test_unchanged_manifest_gives_empty_patch() -> None:
    manifest = deployment()
    live = served(with_last_applied(manifest))
    assert client_side_apply_patch(manifest, live, DEPLOYMENT) == {}


def test_field_removed_from_manifest_is_deleted_and_others_kept() -> None:
    original = deployment(labels={"app": "web", "team": "a"})
    live = served(with_last_applied(original))
    patch = client_side_apply_patch(deployment(labels={"app": "web"}), live, DEPLOYMENT)
    assert patch["metadata"]["labels"] == {"team": None}
    updated = strategic_merge_patch(live, patch, DEPLOYMENT)
    assert updated["metadata"]["labels"] == {"app": "web", "injected-by": "webhook"}


def test_container_removed_from_manifest_is_deleted_and_injected_one_kept() -> None:
    spec = {"containers": [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]}
    original = {"spec": {"template": {"spec": spec}}}
    modified = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a"}]}}}}
    current = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a", "imagePullPolicy": "Always"}, {"name": "b", "image": "b"},
        {"name": "sidecar", "image": "proxy"},
    ]}}}}
    patch = three_way_merge_patch(original, modified, current, DEPLOYMENT)
    assert patch == {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "b", "$patch": "delete"}],
    }}}}
    assert strategic_merge_patch(current, patch, DEPLOYMENT)["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "image": "a", "imagePullPolicy": "Always"}, {"name": "sidecar", "image": "proxy"},
    ]


def test_changed_image_and_strategy_converge() -> None:
    first = deployment()
    live = served(with_last_applied(first))
    second = deployment(image="nginx:2", strategy={"type": "Recreate"})
    patch = client_side_apply_patch(second, live, DEPLOYMENT)
    assert patch["spec"]["strategy"] == {"$retainKeys": ["type"], "type": "Recreate"}
    updated = strategic_merge_patch(live, patch, DEPLOYMENT)
    container = updated["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["imagePullPolicy"]) == ("nginx:2", "IfNotPresent")
    assert updated["spec"]["strategy"] == {"type": "Recreate"}
    assert updated["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] == last_applied_configuration(second)
    assert client_side_apply_patch(second, updated, DEPLOYMENT) == {}


def test_no_last_applied_configuration_means_nothing_is_deleted() -> None:
    live = served(deployment(labels={"app": "web", "team": "a"}))
    patch = client_side_apply_patch(deployment(), live, DEPLOYMENT)
    assert set(patch) == {"metadata"}
    assert set(patch["metadata"]) == {"annotations"}


def test_without_overwrite_a_field_changed_on_both_sides_conflicts() -> None:
    original = {"metadata": {"labels": {"a": "x"}}}
    current = {"metadata": {"labels": {"a": "y"}}}
    modified = {"metadata": {"labels": {"a": "z"}}}
    with pytest.raises(MergeConflict) as raised:
        three_way_merge_patch(original, modified, current, POD, overwrite=False)
    assert raised.value.message == (
        "patch:\nmetadata:\n  labels:\n    a: z\n\nconflicts with changes made from original to current:\n"
        "metadata:\n  labels:\n    a: y\n\n"
    )
    assert three_way_merge_patch(original, modified, current, POD) == {"metadata": {"labels": {"a": "z"}}}


def test_without_overwrite_changes_to_different_fields_do_not_conflict() -> None:
    original = {"metadata": {"labels": {"a": "x"}}, "spec": {"containers": [{"name": "c", "image": "1"}]}}
    current = {"metadata": {"labels": {"a": "x", "b": "y"}}, "spec": {"containers": [{"name": "c", "image": "1"}]}}
    modified = {"metadata": {"labels": {"a": "x"}}, "spec": {"containers": [{"name": "c", "image": "2"}]}}
    patch = three_way_merge_patch(original, modified, current, POD, overwrite=False)
    assert patch == {"spec": {
        "$setElementOrder/containers": [{"name": "c"}], "containers": [{"name": "c", "image": "2"}]}}


def with_server_fields(pod: dict[str, Any]) -> dict[str, Any]:
    live = copy.deepcopy(pod)
    live["metadata"]["uid"] = "u"
    live["status"] = {"phase": "Running"}
    for container in live["spec"]["containers"]:
        container["terminationMessagePath"] = "/dev/termination-log"
    return live


@pytest.mark.parametrize("seed", range(200))
def test_apply_of_a_new_manifest_converges(seed: int) -> None:
    generator = PodGenerator(seed)
    first, second = generator.pod(sorted_finalizers=True), generator.pod(sorted_finalizers=True)
    live = with_server_fields(strategic_merge_patch({}, with_last_applied(first), POD))
    before = copy.deepcopy(live)
    updated = strategic_merge_patch(live, client_side_apply_patch(second, live, POD), POD)
    assert live == before
    assert client_side_apply_patch(second, updated, POD) == {}
    assert updated["spec"]["containers"] == [
        {**container, "terminationMessagePath": "/dev/termination-log"}
        if container["name"] in {c["name"] for c in first["spec"]["containers"]} else container
        for container in second["spec"]["containers"]
    ]


def test_unsorted_primitive_merge_list_never_settles() -> None:
    # Upstream quirk, reproduced: the live list is sorted in place before it is compared with the manifest's.
    manifest = {"metadata": {"name": "p", "finalizers": ["b.io/x", "a.io/y"]}}
    patch = three_way_merge_patch(manifest, manifest, manifest, POD)
    assert patch == {"metadata": {"$setElementOrder/finalizers": ["b.io/x", "a.io/y"]}}
