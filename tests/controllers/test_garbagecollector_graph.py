"""The garbage collector's owner graph: which events cause which work, without any I/O."""
from __future__ import annotations

from typing import Any

from apiserver.controllers.garbagecollector_graph import Identity, OwnerGraph

JSONDict = dict[str, Any]
KEY = ("", "configmaps")


def obj(name: str, uid: str, *owners: JSONDict, namespace: str = "default", deleting: bool = False,
        finalizers: tuple[str, ...] = ()) -> JSONDict:
    metadata: JSONDict = {"name": name, "uid": uid, "namespace": namespace}
    if owners:
        metadata["ownerReferences"] = list(owners)
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if finalizers:
        metadata["finalizers"] = list(finalizers)
    return {"metadata": metadata}


def ref(uid: str, name: str = "owner", **extra: object) -> JSONDict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid, **extra}


def observe(graph: OwnerGraph, event_type: str, item: JSONDict) -> list[str]:
    return graph.observe(event_type, item, "v1", "ConfigMap", KEY)


def test_unknown_owner_becomes_a_virtual_node_to_check() -> None:
    graph = OwnerGraph()
    assert observe(graph, "ADDED", obj("child", "c1", ref("o1"))) == ["delete:o1"]
    owner = graph.get("o1")
    assert owner is not None and not owner.observed
    assert owner.identity == Identity("v1", "ConfigMap", "owner", "o1", "default")
    assert owner.dependents == {"c1"}


def test_known_owner_causes_no_work() -> None:
    graph = OwnerGraph()
    assert observe(graph, "ADDED", obj("owner", "o1")) == []
    assert observe(graph, "ADDED", obj("child", "c1", ref("o1"))) == []


def test_virtual_owner_observed_for_real_rechecks_its_dependents() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("child", "c1", ref("o1")))
    assert observe(graph, "ADDED", obj("owner", "o1")) == ["delete:c1"]
    assert graph.get("o1").observed  # type: ignore[union-attr]


def test_deleted_owner_queues_its_dependents_and_is_remembered_absent() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1"))
    observe(graph, "ADDED", obj("child", "c1", ref("o1")))
    assert observe(graph, "DELETED", obj("owner", "o1")) == ["delete:c1"]
    assert graph.get("o1") is None
    assert graph.absent.has("o1", "default")


def test_orphan_finalizer_on_a_deleting_owner_queues_orphaning_once() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1"))
    deleting = obj("owner", "o1", deleting=True, finalizers=("orphan",))
    assert observe(graph, "MODIFIED", deleting) == ["orphan:o1"]
    assert observe(graph, "MODIFIED", deleting) == []


def test_foreground_finalizer_queues_dependents_then_the_owner() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1"))
    observe(graph, "ADDED", obj("b", "c2", ref("o1")))
    observe(graph, "ADDED", obj("a", "c1", ref("o1")))
    work = observe(graph, "MODIFIED", obj("owner", "o1", deleting=True, finalizers=("foregroundDeletion",)))
    assert work == ["delete:c1", "delete:c2", "delete:o1"]
    assert graph.get("o1").deleting_dependents  # type: ignore[union-attr]


def test_dependent_observed_after_its_owner_started_foreground_deletion_is_checked() -> None:
    """A list delivers objects in key order: the owner's foreground deletion can be seen before a dependent."""
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("a-owner", "o1", deleting=True, finalizers=("foregroundDeletion",)))
    assert observe(graph, "ADDED", obj("b-plain", "c1", ref("o1", name="a-owner"))) == ["delete:c1"]
    assert observe(graph, "ADDED", obj("c-other", "c2", ref("o2"))) == ["delete:o2"]


def test_dependent_dropping_a_blocking_reference_requeues_a_waiting_owner() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1", deleting=True, finalizers=("foregroundDeletion",)))
    observe(graph, "ADDED", obj("child", "c1", ref("o1", blockOwnerDeletion=True)))
    owner = graph.get("o1")
    assert owner is not None and [node.identity.uid for node in graph.blocking_dependents(owner)] == ["c1"]
    assert observe(graph, "MODIFIED", obj("child", "c1", ref("o1", blockOwnerDeletion=False))) == ["delete:o1"]
    assert graph.blocking_dependents(owner) == []


def test_deleted_dependent_requeues_its_owner_deleting_in_the_foreground() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1", deleting=True, finalizers=("foregroundDeletion",)))
    observe(graph, "ADDED", obj("child", "c1", ref("o1", blockOwnerDeletion=True)))
    assert observe(graph, "DELETED", obj("child", "c1", ref("o1", blockOwnerDeletion=True))) == ["delete:o1"]
    assert graph.get("o1").dependents == set()  # type: ignore[union-attr]


def test_virtual_delete_of_another_identity_keeps_an_observed_node() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1"))
    observe(graph, "ADDED", obj("child", "c1", ref("o1")))
    assert graph.virtual_delete(Identity("v1", "ConfigMap", "owner", "o1", "other")) == ["delete:c1"]
    assert graph.get("o1") is not None
    assert graph.virtual_delete(Identity("v1", "ConfigMap", "owner", "o1", "default")) == ["delete:c1"]
    assert graph.get("o1") is None


def test_objects_without_uid_are_ignored() -> None:
    graph = OwnerGraph()
    assert observe(graph, "ADDED", {"metadata": {"name": "x"}}) == []
    assert len(graph) == 0


def test_reference_to_an_owner_seen_in_another_namespace_queues_the_dependent() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1", namespace="elsewhere"))
    assert observe(graph, "ADDED", obj("child", "c1", ref("o1"))) == ["delete:c1"]


def test_reference_with_other_coordinates_than_the_owner_seen_queues_the_dependent() -> None:
    graph = OwnerGraph()
    observe(graph, "ADDED", obj("owner", "o1"))
    assert observe(graph, "ADDED", obj("child", "c1", ref("o1", name="renamed"))) == ["delete:c1"]
