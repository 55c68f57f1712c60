"""MeteredStorage: the whole Storage contract passes through it, and each request lands in the etcd_* metrics."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apiserver.observability.metrics import ApiServerMetrics
from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.errors import Compacted, KeyExists, KeyNotFound, StorageUnavailable
from apiserver.storage.interface import Storage
from apiserver.storage.memory.backend import MemoryStorage
from apiserver.storage.metered import MeteredStorage, key_type

# The storage conformance suite, run again with every backend call going through MeteredStorage.
from tests.storage.test_conformance import *  # noqa: F403
from tests.storage.test_conformance import collect, watching

WRAPPED_BACKENDS = ("memory", "sqlite")


@pytest.fixture(params=WRAPPED_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    options = StorageOptions(backend=request.param, sqlite_path=str(tmp_path / "state.db"))
    opened = MeteredStorage(await open_storage(options), backend_name=request.param, metrics=ApiServerMetrics())
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def prefix() -> str:
    return f"/t{uuid.uuid4().hex}/"


@pytest.fixture
def metrics() -> ApiServerMetrics:
    return ApiServerMetrics()


@pytest.fixture
async def metered(metrics: ApiServerMetrics) -> AsyncIterator[MeteredStorage]:
    wrapped = MeteredStorage(MemoryStorage(), backend_name="memory", metrics=metrics)
    try:
        yield wrapped
    finally:
        await wrapped.close()


def sample(metrics: ApiServerMetrics, name: str, operation: str, type_: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"operation": operation, "type": type_})


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("/registry/pods/ns/p", "pods"),
        ("/registry/namespaces/ns", "namespaces"),
        ("/registry/pods/", "pods"),
        ("/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com",
         "customresourcedefinitions.apiextensions.k8s.io"),
        ("/registry/example.com/widgets/ns/w", "widgets.example.com"),
        ("/registry/deployments/ns/d", "deployments"),
        ("/tabc/key", "tabc"),
    ],
    ids=["namespaced", "cluster-scoped", "prefix", "group-qualified", "custom-resource", "ungrouped-path", "foreign"],
)
def test_key_type_names_the_group_resource(key: str, expected: str) -> None:
    assert key_type(key) == expected


async def test_every_request_is_counted_and_timed(metered: MeteredStorage, metrics: ApiServerMetrics) -> None:
    revision = await metered.create("/registry/pods/ns/p", b"1")
    await metered.get("/registry/pods/ns/p")
    revision = await metered.update("/registry/pods/ns/p", b"2", expected=revision)
    await metered.list("/registry/pods/ns/")
    await metered.current_revision()
    await metered.compact(revision)
    await metered.delete("/registry/pods/ns/p")
    await metered.check()
    expected = [("create", "pods"), ("get", "pods"), ("update", "pods"), ("list", "pods"), ("currentRevision", ""),
                ("compact", ""), ("delete", "pods")]
    for operation, type_ in expected:
        assert sample(metrics, "etcd_requests_total", operation, type_) == 1.0, operation
        assert sample(metrics, "etcd_request_duration_seconds_count", operation, type_) == 1.0, operation
        duration = sample(metrics, "etcd_request_duration_seconds_sum", operation, type_)
        assert duration is not None and 0.0 <= duration < 5.0
        assert sample(metrics, "etcd_request_errors_total", operation, type_) is None
    [family] = metrics.etcd_requests.collect()
    assert len([s for s in family.samples if s.name == "etcd_requests_total"]) == len(expected)


async def test_refusals_are_answers_not_errors(metered: MeteredStorage, metrics: ApiServerMetrics) -> None:
    await metered.create("/registry/configmaps/ns/c", b"")
    with pytest.raises(KeyExists):
        await metered.create("/registry/configmaps/ns/c", b"")
    with pytest.raises(KeyNotFound):
        await metered.delete("/registry/configmaps/ns/missing")
    assert sample(metrics, "etcd_requests_total", "create", "configmaps") == 2.0
    assert sample(metrics, "etcd_requests_total", "delete", "configmaps") == 1.0
    assert sample(metrics, "etcd_request_errors_total", "create", "configmaps") is None
    assert sample(metrics, "etcd_request_errors_total", "delete", "configmaps") is None


async def test_failures_count_as_errors(metered: MeteredStorage, metrics: ApiServerMetrics) -> None:
    first = await metered.create("/registry/secrets/ns/s", b"")
    await metered.update("/registry/secrets/ns/s", b"x", expected=first)
    await metered.compact(first + 1)
    with pytest.raises(Compacted):
        await metered.list("/registry/secrets/", revision=first)
    await metered.close()
    with pytest.raises(StorageUnavailable):
        await metered.get("/registry/secrets/ns/s")
    assert sample(metrics, "etcd_request_errors_total", "list", "secrets") == 1.0
    assert sample(metrics, "etcd_request_errors_total", "get", "secrets") == 1.0
    assert sample(metrics, "etcd_requests_total", "get", "secrets") == 1.0


async def test_watch_events_are_counted_by_resource(metered: MeteredStorage, metrics: ApiServerMetrics) -> None:
    async with watching(metered, "/registry/leases/", 0) as stream:
        await metered.create("/registry/leases/ns/a", b"")
        await metered.create("/registry/leases/ns/b", b"")
        events = await collect(stream, 2)
    assert [event.key for event in events] == ["/registry/leases/ns/a", "/registry/leases/ns/b"]
    assert metrics.registry.get_sample_value(
        "apiserver_storage_events_received_total", {"resource": "leases"}
    ) == 2.0


async def test_a_given_type_function_names_the_type(metrics: ApiServerMetrics) -> None:
    types = {"minions": "nodes", "deployments": "deployments.apps"}
    wrapped = MeteredStorage(MemoryStorage(), backend_name="memory", metrics=metrics,
                             type_of=lambda key: types[key_type(key)])
    await wrapped.create("/registry/minions/n1", b"")
    await wrapped.get("/registry/deployments/ns/d")
    assert sample(metrics, "etcd_requests_total", "create", "nodes") == 1.0
    assert sample(metrics, "etcd_requests_total", "get", "deployments.apps") == 1.0


def test_the_wrapper_names_and_exposes_its_backend() -> None:
    backend = MemoryStorage()
    wrapped = MeteredStorage(backend, backend_name="memory", metrics=ApiServerMetrics())
    assert (wrapped.inner, wrapped.backend_name) == (backend, "memory")
