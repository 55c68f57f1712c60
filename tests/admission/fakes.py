"""A plugin context over plain dicts: the cluster state admission plugins read, without a registry."""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.meta.errors import Conflict

JSONDict = dict[str, Any]


class FakeObjects:
    def __init__(self, context: FakeContext, resource: tuple[str, str, str], *, live: bool) -> None:
        self._context = context
        self._resource = resource
        self._live = live

    def _items(self) -> list[JSONDict]:
        self._context.reads.append((self._resource, self._live))
        store = self._context.live if self._live else self._context.cached
        return store.setdefault(self._resource, [])

    async def get(self, namespace: str, name: str) -> JSONDict | None:
        for item in self._items():
            meta = item.get("metadata") or {}
            if meta.get("name") == name and (meta.get("namespace") or "") == namespace:
                return item
        return None

    async def list(self, namespace: str) -> Sequence[JSONDict]:
        return [item for item in self._items() if not namespace or item["metadata"].get("namespace") == namespace]


class FakeNamespaces:
    def __init__(self, objects: FakeObjects) -> None:
        self._objects = objects

    async def get(self, name: str) -> JSONDict | None:
        return await self._objects.get("", name)


class FakeContext:
    """`cached` is what the watch caches hold, `live` what storage holds (both keyed by group/version/plural)."""

    def __init__(self) -> None:
        self.cached: dict[tuple[str, str, str], list[JSONDict]] = {}
        self.live: dict[tuple[str, str, str], list[JSONDict]] = {}
        self.reads: list[tuple[tuple[str, str, str], bool]] = []
        self.status_writes: list[JSONDict] = []
        self.conflicts = 0

    def add(self, group: str, version: str, plural: str, obj: JSONDict, *, cached: bool = True) -> JSONDict:
        self.live.setdefault((group, version, plural), []).append(obj)
        if cached:
            self.cached.setdefault((group, version, plural), []).append(obj)
        return obj

    @property
    def namespaces(self) -> FakeNamespaces:
        return FakeNamespaces(self.objects("", "v1", "namespaces"))

    @property
    def live_namespaces(self) -> FakeNamespaces:
        return FakeNamespaces(self.live_objects("", "v1", "namespaces"))

    def is_ready(self) -> bool:
        return True

    def objects(self, group: str, version: str, plural: str) -> FakeObjects:
        return FakeObjects(self, (group, version, plural), live=False)

    def live_objects(self, group: str, version: str, plural: str) -> FakeObjects:
        return FakeObjects(self, (group, version, plural), live=True)

    async def write_status(self, group: str, version: str, plural: str, obj: JSONDict) -> JSONDict:
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict(plural, obj["metadata"]["name"], "the object has been modified")
        self.status_writes.append(copy.deepcopy(obj))
        for store in (self.live, self.cached):
            items = store.get((group, version, plural), [])
            for index, item in enumerate(items):
                if item["metadata"]["name"] == obj["metadata"]["name"]:
                    items[index] = copy.deepcopy(obj)
        return obj


def pod(name: str = "p", *containers: JSONDict, namespace: str = "ns", **spec: Any) -> JSONDict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": list(containers) or [{"name": "c", "image": "nginx"}], **spec}}


def container(name: str = "c", **fields: Any) -> JSONDict:
    return {"name": name, "image": "nginx", **fields}


def attributes(obj: JSONDict | None, *, operation: Operation = Operation.CREATE, resource: str = "pods",
               kind: str = "Pod", group: str = "", namespace: str = "ns", old: JSONDict | None = None,
               subresource: str = "", user: Any = None, dry_run: bool = False, name: str | None = None
               ) -> AdmissionAttributes:
    if name is None:
        name = str(((obj or old or {}).get("metadata") or {}).get("name") or "")
    return AdmissionAttributes(
        operation=operation, group=group, version="v1", resource=resource, kind=kind, namespace=namespace,
        name=name, subresource=subresource, object=obj, old_object=old, user=user, dry_run=dry_run,
    )


def status_of(error: Exception) -> JSONDict:
    return error.to_status()  # type: ignore[attr-defined, no-any-return]
