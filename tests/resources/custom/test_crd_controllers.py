"""The CRD naming, establishing and cleanup controllers, with a fake client and informer."""
from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver.client.client import Resource
from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.crd_cleanup import CRDCleanupController
from apiserver.controllers.crd_controller import CRDS
from apiserver.controllers.crd_establishing import CRDEstablishingController
from apiserver.controllers.crd_naming import CRDNamingController
from apiserver.meta.errors import Conflict
from tests.resources.custom.crds import widget_crd

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
JSONDict = dict[str, Any]


class FakeInformer:
    def __init__(self, *objects: JSONDict) -> None:
        self.objects = {obj["metadata"]["name"]: obj for obj in objects}

    def get(self, key: str) -> JSONDict | None:
        return self.objects.get(key)

    def items(self) -> list[JSONDict]:
        return list(self.objects.values())


class FakeClient:
    """Records writes; `objects` answers lists by resource plural."""

    def __init__(self, informer: FakeInformer, lists: dict[str, list[JSONDict]] | None = None) -> None:
        self.informer = informer
        self.calls: list[tuple[str, Any]] = []
        self.lists = lists or {}
        self.revision = 100

    async def update(self, resource: Resource, obj: JSONDict, *, subresource: str = "", **_: Any) -> JSONDict:
        self.calls.append((f"update/{subresource}", copy.deepcopy(obj)))
        self.revision += 1
        written = copy.deepcopy(obj)
        written["metadata"]["resourceVersion"] = str(self.revision)
        self.informer.objects[written["metadata"]["name"]] = written
        return written

    async def patch(self, resource: Resource, name: str, patch: Any, **_: Any) -> JSONDict:
        self.calls.append(("patch", patch))
        return {}

    async def list(self, resource: Resource, **_: Any) -> JSONDict:
        self.calls.append(("list", resource.plural))
        return {"items": self.lists.get(resource.plural, [])}

    async def delete(self, resource: Resource, name: str, *, namespace: str = "", **_: Any) -> JSONDict:
        self.calls.append(("delete", (resource.plural, namespace)))
        self.lists[resource.plural] = []
        return {}


def requested(name: str, plural: str, kind: str, *, short_names: tuple[str, ...] = (),
              accepted: JSONDict | None = None) -> JSONDict:
    crd = widget_crd(established=False)
    names = {"plural": plural, "singular": plural[:-1], "shortNames": list(short_names), "kind": kind,
             "listKind": kind + "List"}
    crd["metadata"] = {"name": name, "resourceVersion": "1"}
    crd["spec"]["names"] = names
    if accepted is not None:
        crd["status"] = {"acceptedNames": accepted, "conditions": []}
    return crd


def accepted_names(plural: str, kind: str, short_names: tuple[str, ...] = ()) -> JSONDict:
    return {"plural": plural, "singular": plural[:-1], "shortNames": list(short_names), "kind": kind,
            "listKind": kind + "List"}


@pytest.mark.parametrize(
    ("other", "condition"),
    [
        (None, ("True", "NoConflicts", "no conflicts found")),
        (("gadgets", "Gadget", ("widgets",)), ("False", "PluralConflict", '"widgets" is already in use')),
        (("gadgets", "Widget", ()), ("False", "ListKindConflict", '"WidgetList" is already in use')),
        (("gadgets", "Gadget", ("wd",)), ("False", "ShortNamesConflict", '"wd" is already in use')),
    ],
    ids=["no-conflict", "plural-taken", "kind-taken", "short-name-taken"],
)
def test_names_are_accepted_unless_another_crd_of_the_group_holds_them(
    other: tuple[str, str, tuple[str, ...]] | None, condition: tuple[str, str, str]
) -> None:
    crd = requested("widgets.example.com", "widgets", "Widget", short_names=("wd",))
    objects = [crd]
    if other is not None:
        plural, kind, shorts = other
        objects.append(requested(f"{plural}.example.com", plural, kind,
                                 accepted=accepted_names(plural, kind, shorts)))
    controller = CRDNamingController()
    controller._crds = FakeInformer(*objects)  # type: ignore[assignment]
    names, names_accepted, established = controller.calculate(crd)
    assert (names_accepted["status"], names_accepted["reason"], names_accepted["message"]) == condition
    if condition[0] == "True":
        assert names == accepted_names("widgets", "Widget", ("wd",))
        assert (established["status"], established["reason"], established["message"]) == (
            "False", "Installing", "the initial names have been accepted")
    else:
        assert (established["status"], established["reason"], established["message"]) == (
            "False", "NotAccepted", "not all names are accepted")


def test_a_crd_of_another_group_never_conflicts() -> None:
    crd = requested("widgets.example.com", "widgets", "Widget")
    other = requested("widgets.other.io", "widgets", "Widget", accepted=accepted_names("widgets", "Widget"))
    other["spec"]["group"] = "other.io"
    controller = CRDNamingController()
    controller._crds = FakeInformer(crd, other)  # type: ignore[assignment]
    assert controller.calculate(crd)[1]["reason"] == "NoConflicts"


async def test_naming_writes_status_and_remembers_its_write() -> None:
    first = requested("widgets.example.com", "widgets", "Widget")
    second = requested("gadgets.example.com", "gadgets", "Gadget", short_names=("widgets",))
    informer = FakeInformer(first, second)
    client = FakeClient(informer)
    controller = CRDNamingController(clock=lambda: NOW)
    await controller.start(client, {CRDS: informer})  # type: ignore[arg-type]
    informer.objects["widgets.example.com"] = first  # the informer has not seen the write yet
    await controller.reconcile("widgets.example.com")
    informer.objects["widgets.example.com"] = first
    await controller.reconcile("gadgets.example.com")
    written = [obj for call, obj in client.calls if call == "update/status"]
    assert written[0]["status"]["acceptedNames"]["plural"] == "widgets"
    assert [c["reason"] for c in written[1]["status"]["conditions"]] == ["ShortNamesConflict", "NotAccepted"]
    assert written[1]["status"]["conditions"][0]["lastTransitionTime"] == "2024-01-02T03:04:05Z"


async def test_establishing_waits_until_the_crd_is_served() -> None:
    crd = widget_crd()
    crd["status"]["conditions"] = [crd["status"]["conditions"][0]]
    informer = FakeInformer(crd)
    client = FakeClient(informer)
    serving: set[str] = set()
    controller = CRDEstablishingController(serving.__contains__, clock=lambda: NOW)
    await controller.start(client, {CRDS: informer})  # type: ignore[arg-type]
    assert controller.keys_for(CRDS, "ADDED", crd) == ["widgets.example.com"]
    with pytest.raises(RequeueAfter):
        await controller.reconcile("widgets.example.com")
    serving.add("widgets.example.com")
    await controller.reconcile("widgets.example.com")
    [(_, written)] = client.calls
    established = written["status"]["conditions"][1]
    assert established == {"type": "Established", "status": "True", "lastTransitionTime": "2024-01-02T03:04:05Z",
                           "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}


async def test_cleanup_deletes_every_namespace_then_removes_the_finalizer() -> None:
    crd = widget_crd()
    crd["metadata"].update(deletionTimestamp="2024-01-02T03:04:05Z", resourceVersion="7",
                           finalizers=["customresourcecleanup.apiextensions.k8s.io", "other"])
    items = [{"metadata": {"name": "a", "namespace": "one"}}, {"metadata": {"name": "b", "namespace": "two"}}]
    informer = FakeInformer(crd)
    client = FakeClient(informer, {"widgets": items})
    controller = CRDCleanupController(clock=lambda: NOW)
    await controller.start(client, {CRDS: informer})  # type: ignore[arg-type]
    assert controller.keys_for(CRDS, "MODIFIED", crd) == ["widgets.example.com"]
    await controller.reconcile("widgets.example.com")
    calls = [call for call, _ in client.calls]
    assert calls == ["update/status", "list", "delete", "delete", "list", "update/status", "patch"]
    assert [argument for call, argument in client.calls if call == "delete"] == [("widgets", "one"),
                                                                                  ("widgets", "two")]
    terminating = client.calls[-2][1]["status"]["conditions"][-1]
    assert (terminating["status"], terminating["reason"], terminating["message"]) == (
        "False", "InstanceDeletionCompleted", "removed all instances")
    assert client.calls[-1][1] == {"metadata": {"finalizers": ["other"], "resourceVersion": "102"}}


async def test_cleanup_of_a_crd_never_established_deletes_nothing() -> None:
    crd = widget_crd(established=False)
    crd["metadata"].update(deletionTimestamp="2024-01-02T03:04:05Z", resourceVersion="7",
                           finalizers=["customresourcecleanup.apiextensions.k8s.io"])
    informer = FakeInformer(crd)
    client = FakeClient(informer)
    controller = CRDCleanupController(clock=lambda: NOW)
    await controller.start(client, {CRDS: informer})  # type: ignore[arg-type]
    await controller.reconcile("widgets.example.com")
    assert [call for call, _ in client.calls] == ["update/status", "update/status", "patch"]
    assert client.calls[1][1]["status"]["conditions"][-1]["reason"] == "NeverEstablished"
    assert client.calls[-1][1] == {"metadata": {"finalizers": None, "resourceVersion": "102"}}


async def test_naming_ignores_a_conflicting_write() -> None:
    crd = requested("widgets.example.com", "widgets", "Widget")
    informer = FakeInformer(crd)
    client = FakeClient(informer)

    async def conflict(*args: Any, **kwargs: Any) -> JSONDict:
        raise Conflict("customresourcedefinitions", "widgets.example.com", "changed", group="apiextensions.k8s.io")

    client.update = conflict  # type: ignore[method-assign]
    controller = CRDNamingController()
    await controller.start(client, {CRDS: informer})  # type: ignore[arg-type]
    await controller.reconcile("widgets.example.com")
