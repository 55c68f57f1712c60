"""Claims, volumes, namespaces, pod templates, limit ranges, quotas and service accounts: upstream v1.32 rules."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import FORB, INV, NSUP, REQ, invalid
from tests.support.resource_app import ResourceApp, resource_app

CLAIMS = "/api/v1/namespaces/default/persistentvolumeclaims"
VOLUMES = "/api/v1/persistentvolumes"
TEMPLATES = "/api/v1/namespaces/default/podtemplates"
LIMITS = "/api/v1/namespaces/default/limitranges"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def claim(name: str = "data", **spec: Any) -> dict[str, Any]:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}


def volume(name: str = "pv1", **spec: Any) -> dict[str, Any]:
    body = {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": body}


async def test_claim_defaults_and_pending_status(api: ResourceApp) -> None:
    created = (await api.request("POST", CLAIMS, claim())).json()
    assert created["spec"]["volumeMode"] == "Filesystem"
    assert created["status"] == {"phase": "Pending"}


CLAIM_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("no-access-modes", {"accessModes": []},
     [(REQ, "spec.accessModes", "Required value: at least 1 access mode is required")]),
    ("unknown-access-mode", {"accessModes": ["ReadWriteSometimes"]},
     [(NSUP, "spec.accessModes", 'Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
                                 '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"')]),
    ("no-storage-request", {"resources": {"requests": {}}}, [(REQ, "spec.resources[storage]", "Required value")]),
    ("zero-storage", {"resources": {"requests": {"storage": "0"}}},
     [(INV, "spec.resources[storage]", 'Invalid value: "0": must be greater than zero')]),
    ("volume-mode", {"volumeMode": "Raw"},
     [(NSUP, "spec.volumeMode", 'Unsupported value: "Raw": supported values: "Block", "Filesystem"')]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in CLAIM_CASES], ids=[case[0] for case in CLAIM_CASES])
async def test_invalid_claims(api: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", CLAIMS, claim("bad", **spec))
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="PersistentVolumeClaim"))


async def test_claim_spec_is_immutable_except_requests_of_bound_claims(api: ResourceApp) -> None:
    current = (await api.request("POST", CLAIMS, claim())).json()
    current["spec"]["accessModes"] = ["ReadWriteMany"]
    status = (await api.request("PUT", f"{CLAIMS}/data", current)).json()
    cause = status["details"]["causes"][0]
    assert (cause["reason"], cause["field"]) == (FORB, "spec")
    assert cause["message"].startswith(
        "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for "
        "bound claims\n  core.PersistentVolumeClaimSpec{\n")
    assert '  \tAccessModes: {\n- \t\t"ReadWriteOnce",\n+ \t\t"ReadWriteMany",\n  \t},' in cause["message"]
    current = (await api.request("GET", f"{CLAIMS}/data")).json()
    current["spec"]["volumeName"] = "pv1"
    bound = (await api.request("PUT", f"{CLAIMS}/data", current)).json()
    assert bound["spec"]["volumeName"] == "pv1"
    bound["status"] = {"phase": "Bound"}
    bound = (await api.request("PUT", f"{CLAIMS}/data/status", bound)).json()
    bound["spec"]["resources"]["requests"]["storage"] = "2Gi"
    grown = await api.request("PUT", f"{CLAIMS}/data", bound)
    assert grown.status == 200 and grown.json()["spec"]["resources"]["requests"]["storage"] == "2Gi"
    shrunk = grown.json()
    shrunk["spec"]["resources"]["requests"]["storage"] = "1Gi"
    answer = await api.request("PUT", f"{CLAIMS}/data", shrunk)
    assert answer.json() == invalid("data", [(FORB, "spec.resources.requests.storage",
                                              "Forbidden: field can not be less than previous value")],
                                    kind="PersistentVolumeClaim")


async def test_volume_defaults_and_pending_status(api: ResourceApp) -> None:
    created = (await api.request("POST", VOLUMES, volume())).json()
    assert created["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert created["spec"]["volumeMode"] == "Filesystem"
    assert created["spec"]["hostPath"] == {"path": "/data", "type": ""}
    assert created["status"] == {"phase": "Pending", "lastPhaseTransitionTime": "2024-01-02T03:04:05Z"}


VOLUME_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("no-access-modes", {"accessModes": []}, [(REQ, "spec.accessModes", "Required value")]),
    ("two-capacities", {"capacity": {"storage": "1Gi", "cpu": "1"}},
     [(NSUP, "spec.capacity", 'Unsupported value: {"cpu":"1","storage":"1Gi"}: supported values: "storage"')]),
    ("reclaim-policy", {"persistentVolumeReclaimPolicy": "Keep"},
     [(NSUP, "spec.persistentVolumeReclaimPolicy",
       'Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"')]),
    ("no-source", {"hostPath": None}, [(REQ, "spec", "Required value: must specify a volume type")]),
    ("two-sources", {"nfs": {"server": "nfs.local", "path": "/x"}},
     [(FORB, "spec.nfs", "Forbidden: may not specify more than 1 volume type")]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in VOLUME_CASES],
                         ids=[case[0] for case in VOLUME_CASES])
async def test_invalid_volumes(api: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    body = volume("bad", **spec)
    body["spec"] = {key: value for key, value in body["spec"].items() if value is not None}
    answer = await api.request("POST", VOLUMES, body)
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="PersistentVolume"))


async def test_namespace_carries_its_name_label(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "other", "env": "dev"}}}
    created = (await api.request("POST", "/api/v1/namespaces", body)).json()
    assert created["metadata"]["labels"] == {"env": "dev", "kubernetes.io/metadata.name": "team-a"}
    created["metadata"]["labels"] = {}
    updated = (await api.request("PUT", "/api/v1/namespaces/team-a", created)).json()
    assert updated["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    default = (await api.request("GET", "/api/v1/namespaces/default")).json()
    assert default["metadata"]["labels"] == {"kubernetes.io/metadata.name": "default"}


async def test_pod_template_defaults_and_validation(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}
    created = (await api.request("POST", TEMPLATES, body)).json()
    spec = created["template"]["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["containers"][0]["imagePullPolicy"]) == (
        "Always", "ClusterFirst", "Always")
    assert "enableServiceLinks" not in spec  # a Pod default, not a template one
    assert created["template"]["metadata"] == {"creationTimestamp": None, "labels": {"app": "web"}}
    bad = {**body, "metadata": {"name": "bad"}, "template": {"metadata": {"labels": {"a": "b c"}}}}
    answer = await api.request("POST", TEMPLATES, bad)
    assert [(cause["field"], cause["reason"]) for cause in answer.json()["details"]["causes"]] == [
        ("template.labels", INV), ("template.spec.containers", REQ)]


LIMIT_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("min-above-max", {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
     [(INV, "spec.limits[0].min[cpu]", 'Invalid value: "2": min value 2 is greater than max value 1'),
      (INV, "spec.limits[0].defaultRequest[cpu]",
       'Invalid value: "1": min value 2 is greater than default request value 1'),
      (INV, "spec.limits[0].default[cpu]", 'Invalid value: "2": min value 2 is greater than default value 1')]),
    ("default-above-max", {"type": "Container", "default": {"memory": "2Gi"}, "max": {"memory": "1Gi"}},
     [(INV, "spec.limits[0].defaultRequest[memory]",
       'Invalid value: "2Gi": default request value 2Gi is greater than max value 1Gi'),
      (INV, "spec.limits[0].default[memory]",
       'Invalid value: "1Gi": default value 2Gi is greater than max value 1Gi')]),
    ("pod-default", {"type": "Pod", "default": {"cpu": "1"}},
     [(FORB, "spec.limits[0].default", "Forbidden: may not be specified when `type` is 'Pod'")]),
    ("unknown-type", {"type": "Node"},
     [(INV, "spec.limits[0].type", 'Invalid value: "Node": must be a standard limit type or fully qualified')]),
]


@pytest.mark.parametrize(("item", "causes"), [case[1:] for case in LIMIT_CASES], ids=[case[0] for case in LIMIT_CASES])
async def test_invalid_limit_ranges(api: ResourceApp, item: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    body = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "bad"}, "spec": {"limits": [item]}}
    answer = await api.request("POST", LIMITS, body)
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="LimitRange"))


async def test_limit_range_container_defaults(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"}, "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}}
    item = (await api.request("POST", LIMITS, body)).json()["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


async def test_resource_quota_validation(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "bad"},
            "spec": {"hard": {"pods": "1500m", "cpu": "-1", "widgets": "3"}}}
    answer = await api.request("POST", QUOTAS, body)
    assert answer.json() == invalid("bad", [
        (INV, "spec.hard[cpu]", 'Invalid value: "-1": must be greater than or equal to 0'),
        (INV, "spec.hard[pods]", 'Invalid value: "1500m": must be an integer'),
        (INV, "spec.hard[widgets]", 'Invalid value: "widgets": must be a standard resource type or fully qualified'),
        (INV, "spec.hard[widgets]", 'Invalid value: "widgets": must be a standard resource for quota'),
    ], kind="ResourceQuota")
    good = {**body, "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10", "requests.cpu": "4",
                                                                  "count/deployments.apps": "5"}}}
    assert (await api.request("POST", QUOTAS, good)).status == 201


async def test_service_account_secret_references_keep_only_names(api: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"},
            "secrets": [{"name": "token", "namespace": "other", "uid": "x"}]}
    created = (await api.request("POST", "/api/v1/namespaces/default/serviceaccounts", body)).json()
    assert created["secrets"] == [{"name": "token"}]
