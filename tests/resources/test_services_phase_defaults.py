"""Status-phase defaults of Namespaces, PersistentVolumes and PersistentVolumeClaims on `/status` writes (upstream's
SetDefaults_NamespaceStatus, SetDefaults_PersistentVolume and SetDefaults_PersistentVolumeClaim), beside the
Service status rules of test_services.py."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.resource_app import ResourceApp, resource_app


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


async def test_an_empty_namespace_phase_is_active(api: ResourceApp) -> None:
    created = (await api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})).json()
    answer = await api.request("PUT", "/api/v1/namespaces/team/status", {**created, "status": {"phase": ""}})
    assert answer.status == 200, answer.json()
    assert answer.json()["status"] == {"phase": "Active"}


async def test_an_empty_claim_phase_is_pending(api: ResourceApp) -> None:
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                    "resources": {"requests": {"storage": "1Gi"}}}}
    path = "/api/v1/namespaces/default/persistentvolumeclaims/data"
    created = (await api.request("POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim)).json()
    bound = await api.request("PUT", f"{path}/status", {**created, "status": {"phase": "Bound"}})
    assert bound.json()["status"]["phase"] == "Bound"
    answer = await api.request("PUT", f"{path}/status", {**bound.json(), "status": {"accessModes": ["ReadWriteOnce"]}})
    assert answer.status == 200, answer.json()
    assert answer.json()["status"] == {"accessModes": ["ReadWriteOnce"], "phase": "Pending"}


async def test_an_empty_volume_phase_is_pending(api: ResourceApp) -> None:
    volume = {"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                                    "hostPath": {"path": "/data"}}}
    created = (await api.request("POST", "/api/v1/persistentvolumes", volume)).json()
    answer = await api.request("PUT", "/api/v1/persistentvolumes/pv1/status", {**created, "status": {"phase": ""}})
    assert answer.status == 200, answer.json()
    assert answer.json()["status"]["phase"] == "Pending"
