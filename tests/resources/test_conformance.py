"""The resource conformance suite: every built-in stored resource, on every backend, through one Registry each.

For each spec with get/list/watch/create: CRUD with a minimal object, 404/409 Status bodies, the list and watch
resourceVersion rules (from N strictly after N, "0" starts with ADDED events, too old gives 410), pages, label
and field selectors (metadata.name and one declared field), and Table output. One Registry per backend serves the
whole module; every test works in a namespace and with a label of its own.
"""
from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio

from apiserver.meta.errors import ApiError
from apiserver.registry.catalog import builtin_specs
from apiserver.registry.context import DeleteOptions, ListOptions, StoredObject
from apiserver.registry.spec import ResourceSpec, Verb
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.registry.tables import table_for
from apiserver.storage.interface import Storage
from tests.registry.harness import NOW, ctx, next_event, no_event, opened_storage, running_registry
from tests.support.samples import sample_name, with_sample

pytestmark = pytest.mark.asyncio(loop_scope="module")

REQUIRED_VERBS = frozenset({Verb.GET, Verb.LIST, Verb.WATCH, Verb.CREATE})
# CustomResourceDefinitions are named `<plural>.<group>` and deleted behind a cleanup finalizer, so a generic
# `a<N>` object cannot exist: tests/resources/apiextensions covers their CRUD.
_NAMED_BY_CONTENT = frozenset({"customresourcedefinitions.apiextensions.k8s.io"})
SPECS = [spec for spec in builtin_specs()
         if not spec.virtual and spec.verbs >= REQUIRED_VERBS and spec.group_resource not in _NAMED_BY_CONTENT]
SPEC_IDS = [f"{spec.group or 'core'}/{spec.version}/{spec.plural}" for spec in SPECS]
BACKENDS = ("memory", "sqlite", "etcd3")
LABEL = "conformance.pilothouse.dev/test"
_tokens = itertools.count(1)


@dataclass
class Harness:
    registry: Registry
    storage: Storage
    start_revision: int  # the revision every cache started from (and the storage was compacted to)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    tmp_path: Path = tmp_path_factory.mktemp(f"conformance-{request.param}")
    prefix = f"/conformance-{uuid.uuid4().hex[:8]}/registry"
    async with opened_storage(request.param, tmp_path, request) as storage:
        for index in range(3):  # history from before the registry, then compacted away
            await storage.create(f"{prefix}-seed/{index}", b"x")
        start = await storage.current_revision()
        await storage.compact(start)
        async with running_registry(storage, prefix=prefix, fresh_timeout=0.5, consistent_timeout=0.2) as registry:
            yield Harness(registry, storage, start)


@dataclass
class Case:
    """One test's view of one spec: its store, a namespace and a label value of its own."""

    spec: ResourceSpec
    store: ResourceStore
    token: str

    @property
    def namespace(self) -> str:
        return f"conf{self.token}" if self.spec.namespaced else ""

    def name(self, base: str) -> str:
        return sample_name(self.spec.group, self.spec.plural, f"{base}{self.token}")

    def body(self, base: str, **labels: str) -> dict[str, Any]:
        return with_sample(self.spec.group, self.spec.plural,
                           {"metadata": {"name": self.name(base), "labels": {LABEL: self.token, **labels}}})

    def query(self, **params: str) -> ListOptions:
        selector = params.pop("labelSelector", "")
        params["labelSelector"] = ",".join(filter(None, [f"{LABEL}={self.token}", selector]))
        return ListOptions.from_query({key: [value] for key, value in params.items()}, watch=False)

    def watch_query(self, **params: str) -> ListOptions:
        params["labelSelector"] = f"{LABEL}={self.token}"
        return ListOptions.from_query({key: [value] for key, value in params.items()}, watch=True)

    async def create(self, base: str, **labels: str) -> StoredObject:
        return await self.store.create(self.namespace, self.body(base, **labels), ctx(self.namespace))

    async def remove(self, name: str) -> None:
        """Delete for good (a namespace is finalized first)."""
        answer, deleted = await self.store.delete(self.namespace, name, DeleteOptions(), ctx(self.namespace))
        if deleted:
            return
        assert answer.obj["metadata"]["deletionTimestamp"]
        body = answer.copy()
        body["spec"]["finalizers"] = []
        await self.store.update(self.namespace, name, body, ctx(self.namespace), subresource="finalize")
        _, deleted = await self.store.delete(self.namespace, name, DeleteOptions(), ctx(self.namespace))
        assert deleted


@pytest.fixture(params=SPECS, ids=SPEC_IDS)
def case(request: pytest.FixtureRequest, harness: Harness) -> Iterator[Case]:
    store = harness.registry.store(request.param)
    assert isinstance(store, ResourceStore)
    yield Case(request.param, store, str(next(_tokens)))


STATUS_SPECS = [spec for spec in SPECS if spec.subresource("status") is not None]
SCALE_SPECS = [spec for spec in SPECS if spec.subresource("scale") is not None]


def _case_fixture(specs: list[ResourceSpec]) -> Any:
    @pytest.fixture(params=specs, ids=[f"{spec.group or 'core'}/{spec.version}/{spec.plural}" for spec in specs])
    def fixture(request: pytest.FixtureRequest, harness: Harness) -> Iterator[Case]:
        store = harness.registry.store(request.param)
        assert isinstance(store, ResourceStore)
        yield Case(request.param, store, str(next(_tokens)))

    return fixture


status_case = _case_fixture(STATUS_SPECS)
scale_case = _case_fixture(SCALE_SPECS)


def names(items: Any) -> list[str]:
    return [item.obj["metadata"]["name"] for item in items]


def failure(message: str, reason: str, code: int, details: dict[str, Any] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason}
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


def resource_details(spec: ResourceSpec, name: str) -> dict[str, str]:
    details = {"name": name}
    if spec.group:
        details["group"] = spec.group
    details["kind"] = spec.plural
    return details


async def test_create_get_update_delete(case: Case) -> None:
    spec, store, namespace = case.spec, case.store, case.namespace
    created = await case.create("a")
    name = case.name("a")
    assert (created.obj["apiVersion"], created.obj["kind"]) == (spec.group_version, spec.kind)
    assert created.obj["metadata"]["uid"] and created.obj["metadata"]["resourceVersion"].isdigit()
    assert (await store.get(namespace, name)).json == created.json

    with pytest.raises(ApiError) as raised:
        await case.create("a")
    assert raised.value.to_status() == failure(f'{spec.group_resource} "{name}" already exists', "AlreadyExists",
                                               409, resource_details(spec, name))

    body = created.copy()
    body["metadata"]["annotations"] = {"note": "changed"}
    updated, was_created = await store.update(namespace, name, body, ctx(namespace))
    assert not was_created
    assert int(updated.obj["metadata"]["resourceVersion"]) > int(created.obj["metadata"]["resourceVersion"])
    unchanged, _ = await store.update(namespace, name, updated.copy(), ctx(namespace))
    assert unchanged.obj["metadata"]["resourceVersion"] == updated.obj["metadata"]["resourceVersion"]

    with pytest.raises(ApiError) as raised:
        await store.update(namespace, name, created.copy(), ctx(namespace))
    message = (f'Operation cannot be fulfilled on {spec.group_resource} "{name}": the object has been modified; '
               "please apply your changes to the latest version and try again")
    assert raised.value.to_status() == failure(message, "Conflict", 409, resource_details(spec, name))

    await case.remove(name)
    not_found = failure(f'{spec.group_resource} "{name}" not found', "NotFound", 404, resource_details(spec, name))
    for attempt in (store.get(namespace, name),
                    store.delete(namespace, name, DeleteOptions(), ctx(namespace))):
        with pytest.raises(ApiError) as raised:
            await attempt
        assert raised.value.to_status() == not_found


async def test_list_and_watch_resource_version_rules(case: Case, harness: Harness) -> None:
    store, namespace = case.store, case.namespace
    first = await case.create("a")
    first_version = first.obj["metadata"]["resourceVersion"]

    after_first = await store.watch(namespace, case.watch_query(resourceVersion=first_version))
    second = await case.create("b")
    event = await next_event(after_first)
    assert event.type == "ADDED" and event.object.json == second.json
    await no_event(after_first, 0.02)
    await after_first.aclose()

    from_zero = await store.watch(namespace, case.watch_query(resourceVersion="0"))
    initial = [await next_event(from_zero), await next_event(from_zero)]
    assert [item.type for item in initial] == ["ADDED", "ADDED"]
    assert names(item.object for item in initial) == [case.name("a"), case.name("b")]
    await from_zero.aclose()

    consistent = await store.list(namespace, case.query())
    assert names(consistent.items) == [case.name("a"), case.name("b")]
    assert int(consistent.resource_version) >= int(second.obj["metadata"]["resourceVersion"])
    exact = await store.list(namespace, case.query(resourceVersion=first_version, resourceVersionMatch="Exact"))
    assert names(exact.items) == [case.name("a")] and exact.resource_version == first_version

    page = await store.list(namespace, case.query(limit="1"))
    assert names(page.items) == [case.name("a")] and page.continue_token
    rest = await store.list(namespace, case.query(limit="1", **{"continue": page.continue_token}))
    assert names(rest.items) == [case.name("b")] and rest.resource_version == page.resource_version

    too_old = await store.watch(namespace, case.watch_query(resourceVersion="1"))
    error = await next_event(too_old)
    assert error.type == "ERROR"
    assert error.object.obj == failure(f"too old resource version: 1 ({harness.start_revision})", "Expired", 410)
    with pytest.raises(ApiError) as raised:
        await store.list(namespace, case.query(resourceVersion="1", resourceVersionMatch="Exact"))
    assert raised.value.to_status() == failure("The resourceVersion for the provided list is too old.", "Expired", 410)


def selectable_value(case: Case, obj: dict[str, Any]) -> tuple[str, str] | None:
    """Set one declared selectable field (not under status, which create resets) on `obj`; (path, value)."""
    for selectable in case.spec.selectable_fields:
        if selectable.path.startswith("status."):
            continue
        candidate = _with_path(obj, selectable.path.split("."), "picked")
        if selectable.value(candidate) == "picked":
            obj.clear()
            obj.update(candidate)
            return selectable.path, "picked"
    return None


def _with_path(obj: dict[str, Any], path: list[str], value: str) -> dict[str, Any]:
    copied = orjson.loads(orjson.dumps(obj))
    target = copied
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return copied


async def test_label_and_field_selectors(case: Case) -> None:
    store, namespace = case.store, case.namespace
    body = case.body("a", app="web")
    field = selectable_value(case, body)
    created = await store.create(namespace, body, ctx(namespace))
    await case.create("b", app="db")
    assert names((await store.list(namespace, case.query(labelSelector="app=web"))).items) == [case.name("a")]
    assert names((await store.list(namespace, case.query(labelSelector="app!=web"))).items) == [case.name("b")]
    by_name = case.query(fieldSelector=f"metadata.name={case.name('b')}")
    assert names((await store.list(namespace, by_name)).items) == [case.name("b")]
    if field is not None:
        path, value = field
        selected = await store.list(namespace, case.query(fieldSelector=f"{path}={value}"))
        assert names(selected.items) == [case.name("a")]
    with pytest.raises(ApiError) as raised:
        await store.list(namespace, case.query(fieldSelector="spec.noSuchField=x"))
    assert raised.value.code == 400 and "spec.noSuchField" in raised.value.message

    stream = await store.watch(namespace, ListOptions.from_query(
        {"resourceVersion": [created.obj["metadata"]["resourceVersion"]],
         "labelSelector": [f"{LABEL}={case.token},app=web"]}, watch=True))
    relabelled = created.copy()
    relabelled["metadata"]["labels"]["app"] = "db"
    await store.update(namespace, case.name("a"), relabelled, ctx(namespace))
    event = await next_event(stream)
    assert event.type == "DELETED" and event.object.obj["metadata"]["name"] == case.name("a")
    await stream.aclose()


async def test_table_has_one_row_per_item_and_every_column(case: Case) -> None:
    await case.create("a")
    await case.create("b")
    listed = await case.store.list(case.namespace, case.query())
    table = orjson.loads(table_for(case.spec, listed.items, list_resource_version=listed.resource_version,
                                   include_object="Metadata", now=NOW))
    columns = table["columnDefinitions"]
    assert len(columns) == len(case.spec.table_columns) and table["metadata"]["resourceVersion"]
    assert len(table["rows"]) == 2
    for row, item in zip(table["rows"], listed.items, strict=True):
        assert len(row["cells"]) == len(columns)
        assert row["object"]["kind"] == "PartialObjectMetadata"
        assert row["object"]["metadata"]["name"] == item.obj["metadata"]["name"]


MARKER = "conformance.pilothouse.dev/marker"
# Types whose status has observedGeneration: a status change each of them accepts.
OBSERVED_GENERATION_TYPES = frozenset({"deployments", "replicasets", "statefulsets", "daemonsets",
                                       "replicationcontrollers", "poddisruptionbudgets", "horizontalpodautoscalers"})


async def test_status_subresource_writes_only_status_and_the_main_resource_keeps_it(status_case: Case) -> None:
    """Every type with a status: `/status` takes status only (metadata and spec stay), without counting a
    generation; the main resource ignores status. The annotation marker stands in for a spec change that every
    type accepts."""
    store, namespace = status_case.store, status_case.namespace
    created = await status_case.create("s")
    name = status_case.name("s")
    generation = created.obj["metadata"].get("generation")
    body = created.copy()
    status = dict(body.get("status") or {})
    if status_case.spec.plural in OBSERVED_GENERATION_TYPES:
        status["observedGeneration"] = 1
    body["status"] = status
    body["metadata"].setdefault("annotations", {})[MARKER] = "from-status"
    through_status, _ = await store.update(namespace, name, body, ctx(namespace), subresource="status")
    assert MARKER not in (through_status.obj["metadata"].get("annotations") or {})
    assert through_status.obj.get("spec") == created.obj.get("spec")
    assert through_status.obj["metadata"].get("generation") == generation
    assert through_status.obj.get("status") == body["status"]

    main = through_status.copy()
    main["status"] = {"conformance": "ignored"}
    main["metadata"].setdefault("annotations", {})[MARKER] = "from-main"
    through_main, _ = await store.update(namespace, name, main, ctx(namespace))
    assert through_main.obj.get("status") == through_status.obj.get("status")
    assert through_main.obj["metadata"]["annotations"][MARKER] == "from-main"
    await status_case.remove(name)


async def test_scale_subresource_reads_and_writes_the_parents_replicas(scale_case: Case) -> None:
    from apiserver.registry.scale import ScaleStore

    namespace = scale_case.namespace
    created = await scale_case.create("sc")
    name = scale_case.name("sc")
    scale = ScaleStore(scale_case.store)
    read = await scale.get(namespace, name)
    assert (read.obj["apiVersion"], read.obj["kind"]) == ("autoscaling/v1", "Scale")
    assert read.obj["metadata"]["uid"] == created.obj["metadata"]["uid"]
    assert read.obj["spec"]["replicas"] == created.obj["spec"].get("replicas", 1)
    body = read.copy()
    body["spec"]["replicas"] = 4
    written, _ = await scale.update(namespace, name, body, ctx(namespace))
    assert written.obj["spec"]["replicas"] == 4
    parent = await scale_case.store.get(namespace, name)
    assert parent.obj["spec"]["replicas"] == 4
    assert parent.obj["metadata"]["generation"] == created.obj["metadata"]["generation"] + 1
    with pytest.raises(ApiError) as raised:
        await scale.update(namespace, name, body, ctx(namespace))  # the resourceVersion read before the write
    assert raised.value.reason == "Conflict"
    await scale_case.remove(name)
