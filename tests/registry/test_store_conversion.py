"""Conversions between versions sharing storage: core ⇄ events.k8s.io Events, autoscaling v1 ⇄ v2 HPAs.

Round trips through the converters, and through a Registry (an object written in one version and read in the
other; the stored form is the storage version).
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from apiserver.registry.context import ListOptions
from apiserver.registry.conversion import convert
from apiserver.registry.hpa_conversion import CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION, METRICS_ANNOTATION
from apiserver.registry.stores import Registry
from apiserver.storage.memory.backend import MemoryStorage
from tests.registry.harness import ctx, resource_store, running_registry

CORE_EVENT = {
    "apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "e", "namespace": "ns"},
    "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u"},
    "reason": "Started", "message": "Started container", "source": {"component": "kubelet", "host": "n1"},
    "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:01:00Z", "count": 2,
    "type": "Normal", "eventTime": "2024-01-01T00:00:00.000001Z",
    "series": {"count": 2, "lastObservedTime": "2024-01-01T00:01:00.000000Z"},
    "action": "Start", "related": {"kind": "Node", "name": "n1"}, "reportingComponent": "kubelet",
    "reportingInstance": "n1",
}


def test_core_event_as_events_k8s_io_renames_fields_in_that_versions_order() -> None:
    converted = convert(CORE_EVENT, "events.k8s.io/v1")
    assert list(converted) == [
        "apiVersion", "kind", "metadata", "eventTime", "series", "reportingController", "reportingInstance",
        "action", "reason", "regarding", "related", "note", "type", "deprecatedSource", "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp", "deprecatedCount",
    ]
    assert converted["regarding"] == CORE_EVENT["involvedObject"]
    assert converted["note"] == "Started container" and converted["reportingController"] == "kubelet"
    assert converted["deprecatedSource"] == {"component": "kubelet", "host": "n1"}
    assert converted["deprecatedCount"] == 2


def test_events_round_trip_both_ways() -> None:
    assert convert(convert(CORE_EVENT, "events.k8s.io/v1"), "v1") == CORE_EVENT
    new = convert(CORE_EVENT, "events.k8s.io/v1")
    assert convert(convert(new, "v1"), "events.k8s.io/v1") == new


def test_conversion_leaves_its_input_alone() -> None:
    before = json.dumps(CORE_EVENT, sort_keys=True)
    convert(CORE_EVENT, "events.k8s.io/v1")
    assert json.dumps(CORE_EVENT, sort_keys=True) == before


def v2_hpa(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                     "minReplicas": 1, "maxReplicas": 5, **spec}}


CPU_70 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
EXTERNAL = {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "a"}}},
                                             "target": {"type": "Value", "value": "30"}}}
OBJECT = {"type": "Object", "object": {"describedObject": {"kind": "Ingress", "name": "main",
                                                          "apiVersion": "networking.k8s.io/v1"},
                                       "target": {"type": "Value", "value": "2k"}, "metric": {"name": "rps"}}}


def test_a_cpu_utilization_metric_is_v1s_target_percentage() -> None:
    v1 = convert(v2_hpa(metrics=[CPU_70]), "autoscaling/v1")
    assert v1["spec"] == {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                          "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70}
    assert "annotations" not in v1["metadata"]
    assert convert(v1, "autoscaling/v2") == v2_hpa(metrics=[CPU_70])


def test_other_metrics_travel_through_v1_in_an_annotation_in_v1s_metric_shape() -> None:
    v1 = convert(v2_hpa(metrics=[MEMORY, CPU_70]), "autoscaling/v1")
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    assert v1["metadata"]["annotations"] == {
        METRICS_ANNOTATION: '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"1Gi"}}]',
    }
    back = convert(v1, "autoscaling/v2")
    assert back["spec"]["metrics"] == [MEMORY, CPU_70]
    assert "annotations" not in back["metadata"]


@pytest.mark.parametrize("metric", [PODS, EXTERNAL, OBJECT, MEMORY], ids=["pods", "external", "object", "memory"])
def test_every_metric_source_round_trips_through_v1(metric: dict[str, Any]) -> None:
    original = v2_hpa(metrics=[metric])
    assert convert(convert(original, "autoscaling/v1"), "autoscaling/v2") == original


def test_v1_round_trips_put_the_cpu_target_last_as_upstream() -> None:
    back = convert(convert(v2_hpa(metrics=[CPU_70, PODS]), "autoscaling/v1"), "autoscaling/v2")
    assert back["spec"]["metrics"] == [PODS, CPU_70]


def test_status_and_conditions_round_trip_through_v1() -> None:
    original = v2_hpa(metrics=[PODS, CPU_70])
    original["status"] = {
        "currentReplicas": 2, "desiredReplicas": 3,
        "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "200m",
                                                                         "averageUtilization": 40}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "9"}}},
        ],
        "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z",
                        "reason": "ReadyForNewScale", "message": "ok"}],
    }
    v1 = convert(original, "autoscaling/v1")
    assert v1["status"] == {"currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 40}
    annotations = v1["metadata"]["annotations"]
    assert set(annotations) == {METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION}
    assert json.loads(annotations[CURRENT_METRICS_ANNOTATION])[0] == {
        "type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 40,
                                         "currentAverageValue": "200m"}}
    assert convert(v1, "autoscaling/v2") == original


def test_a_v1_hpa_without_a_target_gets_upstreams_explicit_80_percent() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3}}
    v2 = convert(v1, "autoscaling/v2")
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def test_annotation_json_is_written_like_go() -> None:
    metric = {"type": "External", "external": {"metric": {"name": "a<b>&c"}, "target": {"type": "Value",
                                                                                         "value": "1"}}}
    v1 = convert(v2_hpa(metrics=[metric]), "autoscaling/v1")
    assert v1["metadata"]["annotations"][METRICS_ANNOTATION] == (
        '[{"type":"External","external":{"metricName":"a\\u003cb\\u003e\\u0026c","targetValue":"1"}}]'
    )


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = MemoryStorage()
    async with running_registry(storage) as running:
        yield running
    await storage.close()


async def test_an_event_written_as_events_k8s_io_is_stored_and_served_as_core(registry: Registry) -> None:
    new = resource_store(registry, "events.k8s.io", "v1", "events")
    core = resource_store(registry, "", "v1", "events")
    body = convert(CORE_EVENT, "events.k8s.io/v1")
    created = await new.create("ns", body, ctx("ns"))
    assert created.obj["apiVersion"] == "events.k8s.io/v1" and created.obj["note"] == "Started container"
    stored = await registry._storage.get(core.key("ns", "e"))
    assert stored is not None and orjson.loads(stored.value)["apiVersion"] == "v1"
    as_core = await core.get("ns", "e")
    assert as_core.obj["message"] == "Started container" and as_core.obj["involvedObject"]["name"] == "p"
    listed = await new.list("ns", ListOptions())
    assert [item.obj["apiVersion"] for item in listed.items] == ["events.k8s.io/v1"]


async def test_an_hpa_written_as_v1_reads_back_as_v2_and_v1(registry: Registry) -> None:
    v1_store = resource_store(registry, "autoscaling", "v1", "horizontalpodautoscalers")
    v2_store = resource_store(registry, "autoscaling", "v2", "horizontalpodautoscalers")
    body = {"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                                "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}}
    created = await v1_store.create("ns", body, ctx("ns"))
    assert created.obj["spec"]["targetCPUUtilizationPercentage"] == 60
    as_v2 = await v2_store.get("ns", "h")
    assert as_v2.obj["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    again = await v1_store.get("ns", "h")
    assert again.json == created.json
