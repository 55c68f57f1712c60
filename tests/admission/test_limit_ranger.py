"""LimitRanger admission: container defaults, and min/max/ratio bounds with upstream's messages."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission.interface import Operation
from apiserver.admission.plugins.limit_ranger import LimitRanger
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext, attributes, container, pod, status_of


def ranger(*items: dict[str, Any]) -> tuple[LimitRanger, FakeContext]:
    context = FakeContext()
    context.add("", "v1", "limitranges", {"metadata": {"name": "lr", "namespace": "ns"},
                                          "spec": {"limits": list(items)}})
    return LimitRanger(context), context


def resources(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if requests:
        found["requests"] = requests
    if limits:
        found["limits"] = limits
    return {"resources": found}


async def test_container_defaults_fill_missing_requests_and_limits_and_annotate() -> None:
    plugin, _ = ranger({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                        "defaultRequest": {"cpu": "100m"}})
    obj = pod("p", container("a"), container("b", **resources(limits={"cpu": "1"})),
              initContainers=[container("i")])
    await plugin.admit(attributes(obj))
    spec = obj["spec"]
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "100m"},
                                                  "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert spec["containers"][1]["resources"] == {"limits": {"cpu": "1", "memory": "256Mi"},
                                                  "requests": {"cpu": "100m"}}
    assert obj["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container a; cpu, memory limit for container a; "
        "cpu request for container b; memory limit for container b; cpu request for init container i; "
        "cpu, memory limit for init container i"
    )


async def test_pod_updates_are_not_defaulted() -> None:
    plugin, _ = ranger({"type": "Container", "default": {"cpu": "500m"}})
    obj = pod()
    await plugin.admit(attributes(obj, operation=Operation.UPDATE, old=pod()))
    assert "resources" not in obj["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("item", "fields", "message"),
    [
        ({"type": "Container", "min": {"cpu": "100m"}}, resources({"cpu": "50m"}),
         "minimum cpu usage per Container is 100m, but request is 50m"),
        ({"type": "Container", "min": {"cpu": "100m"}}, resources(),
         "minimum cpu usage per Container is 100m.  No request is specified"),
        ({"type": "Container", "min": {"cpu": "100m"}}, resources({"cpu": "200m"}, {"cpu": "50m"}),
         "minimum cpu usage per Container is 100m, but limit is 50m"),
        ({"type": "Container", "max": {"memory": "1Gi"}}, resources(),
         "maximum memory usage per Container is 1Gi.  No limit is specified"),
        ({"type": "Container", "max": {"memory": "1Gi"}}, resources(limits={"memory": "2Gi"}),
         "maximum memory usage per Container is 1Gi, but limit is 2Gi"),
        ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}, resources({"cpu": "100m"}, {"cpu": "500m"}),
         "cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000"),
        ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}, resources(limits={"cpu": "500m"}),
         "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"),
        ({"type": "Pod", "max": {"cpu": "1"}}, resources({"cpu": "800m"}, {"cpu": "800m"}),
         "maximum cpu usage per Pod is 1, but limit is 1600m"),
        ({"type": "Container", "min": {"cpu": "100m", "memory": "64Mi"}}, resources({"cpu": "50m"}),
         "[minimum cpu usage per Container is 100m, but request is 50m, "
         "minimum memory usage per Container is 64Mi.  No request is specified]"),
    ],
    ids=["min-request", "min-no-request", "min-limit", "max-no-limit", "max-limit", "ratio", "ratio-no-request",
         "pod-max", "aggregate"],
)
async def test_pod_bounds_are_enforced_with_upstream_messages(item: dict[str, Any], fields: dict[str, Any],
                                                              message: str) -> None:
    plugin, _ = ranger(item)
    obj = pod("x", container("a", **fields), container("b", **fields)) if item["type"] == "Pod" else pod(
        "x", container("a", **fields))
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(obj))
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'pods "x" is forbidden: {message}', "reason": "Forbidden",
        "details": {"name": "x", "kind": "pods"}, "code": 403,
    }


@pytest.mark.parametrize(
    ("storage", "message"),
    [("500Mi", "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"),
     ("20Gi", "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi")],
    ids=["min", "max"],
)
async def test_claim_bounds(storage: str, message: str) -> None:
    plugin, _ = ranger({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}})
    claim = {"metadata": {"name": "c", "namespace": "ns"},
             "spec": {"resources": {"requests": {"storage": storage}}}}
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(claim, resource="persistentvolumeclaims", kind="PersistentVolumeClaim"))
    assert caught.value.message == f'persistentvolumeclaims "c" is forbidden: {message}'


async def test_a_pod_within_bounds_passes() -> None:
    plugin, _ = ranger({"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "1"}})
    await plugin.validate(attributes(pod("x", container("a", **resources({"cpu": "200m"}, {"cpu": "1"})))))


async def test_limit_ranges_missing_from_cache_are_read_live() -> None:
    context = FakeContext()
    context.add("", "v1", "limitranges", {"metadata": {"name": "lr", "namespace": "ns"},
                                          "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]}},
                cached=False)
    obj = pod()
    await LimitRanger(context).admit(attributes(obj))
    assert obj["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}}
