"""Type defaults are applied where upstream's decoder applies them: before managedFields and admission.

An Update manager (create, PUT, non-apply PATCH) owns the defaults its write introduced; a server-side apply
owns exactly its applied configuration, its merged object defaulted afterwards; mutating admission sees the
defaulted object.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.admission.chain import AdmissionChain
from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.endpoints.managed import omit_zero_times
from apiserver.endpoints.resources import ResourceEndpoints
from apiserver.registry.catalog import builtin_specs
from tests.support.resource_app import ResourceApp, resource_app
from tests.support.samples import SAMPLES

PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
APPLY = {"content-type": "application/apply-patch+yaml"}
MERGE = {"content-type": "application/merge-patch+json"}

CONTAINER_DEFAULTS = {
    ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {},
    "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {},
}
POD_SPEC_DEFAULTS = {
    "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
    "f:terminationGracePeriodSeconds": {},
}


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as started:
        yield started


def pod(name: str = "p") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}


def deployment(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}},
                 **spec},
    }


def fields_of(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    entries = [entry for entry in obj["metadata"].get("managedFields", []) if entry["manager"] == manager]
    assert len(entries) == 1, obj["metadata"].get("managedFields")
    return entries[0]["fieldsV1"]


# --- Update managers own the defaults they introduced --------------------------------------------------------

async def test_pod_create_owns_its_defaults(app: ResourceApp) -> None:
    created = await app.request("POST", f"{PODS}?fieldManager=kubectl-create", pod())
    assert created.status == 201, created.json()
    assert fields_of(created.json(), "kubectl-create") == {"f:spec": {
        "f:containers": {'k:{"name":"c"}': CONTAINER_DEFAULTS},
        "f:enableServiceLinks": {}, **POD_SPEC_DEFAULTS,
    }}


async def test_pod_dry_run_create_owns_its_defaults(app: ResourceApp) -> None:
    created = await app.request("POST", f"{PODS}?fieldManager=creator&dryRun=All", pod())
    assert created.status == 201, created.json()
    assert set(fields_of(created.json(), "creator")["f:spec"]) >= {"f:dnsPolicy", "f:restartPolicy"}
    assert (await app.request("GET", f"{PODS}/p")).status == 404


async def test_deployment_create_owns_defaults_but_not_template_zero_time(app: ResourceApp) -> None:
    created = await app.request("POST", f"{DEPLOYMENTS}?fieldManager=kubectl-create", deployment())
    assert created.status == 201, created.json()
    body = created.json()
    assert body["spec"]["template"]["metadata"]["creationTimestamp"] is None
    assert fields_of(body, "kubectl-create")["f:spec"] == {
        "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {}, "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"nginx"}': CONTAINER_DEFAULTS}, **POD_SPEC_DEFAULTS},
        },
    }


async def test_namespace_creator_owns_the_name_label(app: ResourceApp) -> None:
    created = await app.request("POST", "/api/v1/namespaces?fieldManager=creator",
                                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    assert created.status == 201, created.json()
    assert fields_of(created.json(), "creator") == {
        "f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}},
    }


async def test_secret_creator_owns_data_and_type_not_string_data(app: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"user": "admin"}}
    created = await app.request("POST", "/api/v1/namespaces/default/secrets?fieldManager=creator", body)
    assert created.status == 201, created.json()
    assert created.json()["data"] == {"user": "YWRtaW4="}
    assert fields_of(created.json(), "creator") == {"f:data": {".": {}, "f:user": {}}, "f:type": {}}


async def test_put_keeps_the_creators_defaults_and_gives_new_ones_to_the_updater(app: ResourceApp) -> None:
    created = (await app.request("POST", f"{DEPLOYMENTS}?fieldManager=creator", deployment())).json()
    replaced = deployment()
    replaced["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    replaced["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    updated = await app.request("PUT", f"{DEPLOYMENTS}/web?fieldManager=editor", replaced)
    assert updated.status == 200, updated.json()
    obj = updated.json()
    # The body left every default out; decoded, it carries them again, so the creator keeps owning them.
    creator = fields_of(obj, "creator")["f:spec"]
    assert {"f:progressDeadlineSeconds", "f:replicas", "f:strategy"} <= set(creator)
    assert "f:dnsPolicy" in creator["f:template"]["f:spec"]
    assert fields_of(obj, "editor") == {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"sidecar"}': CONTAINER_DEFAULTS,
    }}}}}


async def test_merge_patch_owns_the_defaults_of_what_it_added(app: ResourceApp) -> None:
    await app.request("POST", f"{DEPLOYMENTS}?fieldManager=creator", deployment())
    containers = [{"name": "nginx", "image": "nginx:1.27"}, {"name": "sidecar", "image": "busybox:1.36"}]
    patched = await app.request("PATCH", f"{DEPLOYMENTS}/web?fieldManager=patcher",
                                {"spec": {"template": {"spec": {"containers": containers}}}}, headers=MERGE)
    assert patched.status == 200, patched.json()
    assert fields_of(patched.json(), "patcher") == {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"sidecar"}': CONTAINER_DEFAULTS,
    }}}}}
    assert "f:progressDeadlineSeconds" in fields_of(patched.json(), "creator")["f:spec"]


async def test_create_on_update_owns_its_defaults(app: ResourceApp) -> None:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    created = await app.request("PUT", "/api/v1/namespaces/default/services/web?fieldManager=putter", body)
    assert created.status == 201, created.json()
    # The allocated clusterIP and the IP families are the strategy's, after tracking: nobody owns them.
    assert fields_of(created.json(), "putter") == {"f:spec": {
        "f:internalTrafficPolicy": {},
        "f:ports": {".": {}, 'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:protocol": {},
                                                                "f:targetPort": {}}},
        "f:selector": {}, "f:sessionAffinity": {}, "f:type": {},
    }}


# --- server-side apply owns exactly its configuration ------------------------------------------------------

async def test_apply_create_does_not_own_defaults(app: ResourceApp) -> None:
    applied = await app.request("PATCH", f"{DEPLOYMENTS}/web?fieldManager=applier", deployment(), headers=APPLY)
    assert applied.status == 201, applied.json()
    obj = applied.json()
    assert obj["spec"]["progressDeadlineSeconds"] == 600
    assert obj["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert fields_of(obj, "applier")["f:spec"] == {
        "f:selector": {},
        "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                       "f:spec": {"f:containers": {'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}}}},
    }


async def test_apply_by_another_manager_does_not_conflict_on_defaults_it_leaves_out(app: ResourceApp) -> None:
    await app.request("POST", f"{DEPLOYMENTS}?fieldManager=kubectl-create", deployment())
    config = deployment(replicas=1)
    config["metadata"]["labels"] = {"tier": "web"}
    applied = await app.request("PATCH", f"{DEPLOYMENTS}/web?fieldManager=applier", config, headers=APPLY)
    assert applied.status == 200, applied.json()
    applier = fields_of(applied.json(), "applier")
    assert "f:progressDeadlineSeconds" not in applier["f:spec"]
    assert "f:dnsPolicy" not in applier["f:spec"]["f:template"]["f:spec"]
    # Setting a defaulted field to another value is a conflict with the creator, who owns the default.
    config["spec"]["progressDeadlineSeconds"] = 300
    conflict = await app.request("PATCH", f"{DEPLOYMENTS}/web?fieldManager=applier", config, headers=APPLY)
    assert conflict.status == 409, conflict.json()
    assert conflict.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.progressDeadlineSeconds'
    )


# --- mutating admission sees the defaulted object ------------------------------------------------------------

class _Recorder:
    """A mutating plugin that keeps a copy of every object it is shown."""

    name = "Recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[Operation, dict[str, Any]]] = []

    def handles(self, operation: Operation) -> bool:
        return True

    async def admit(self, attributes: AdmissionAttributes) -> None:
        if attributes.object is not None and attributes.kind == "Pod":
            self.seen.append((attributes.operation, copy.deepcopy(attributes.object)))


async def test_mutating_admission_sees_defaults(app: ResourceApp) -> None:
    recorder = _Recorder()
    server = dataclasses.replace(app.app.server, admission=AdmissionChain([recorder]))
    app = ResourceApp(ResourceEndpoints(server), app.registry, app.storage)
    created = (await app.request("POST", PODS, pod())).json()
    body = copy.deepcopy(created)
    for key in ("dnsPolicy", "restartPolicy"):
        del body["spec"][key]
    assert (await app.request("PUT", f"{PODS}/p", body)).status == 200
    assert (await app.request("PATCH", f"{PODS}/p", {"metadata": {"labels": {"a": "b"}}}, headers=MERGE)).status == 200
    applied = await app.request("PATCH", f"{PODS}/q?fieldManager=applier", pod("q"), headers=APPLY)
    assert applied.status == 201, applied.json()
    assert [operation for operation, _ in recorder.seen] == [Operation.CREATE, Operation.UPDATE, Operation.UPDATE,
                                                             Operation.CREATE]
    for _, obj in recorder.seen:
        assert obj["spec"]["restartPolicy"] == "Always"
        assert obj["spec"]["dnsPolicy"] == "ClusterFirst"
        assert obj["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


async def test_fields_mutating_admission_adds_are_not_the_creators() -> None:
    async with resource_app(plugins=("NamespaceLifecycle", "ServiceAccount")) as app:
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        assert (await app.request("POST", "/api/v1/namespaces/default/serviceaccounts", account)).status == 201
        created = await app.request("POST", f"{PODS}?fieldManager=creator", pod())
        assert created.status == 201, created.json()
        obj = created.json()
        assert obj["spec"]["serviceAccountName"] == "default"
        assert obj["spec"]["volumes"][0]["name"].startswith("kube-api-access-")
        spec_fields = fields_of(obj, "creator")["f:spec"]
        assert "f:dnsPolicy" in spec_fields
        assert "f:serviceAccountName" not in spec_fields and "f:volumes" not in spec_fields


# --- the hook itself --------------------------------------------------------------------------------------------

_SPECS = {(spec.group, spec.plural): spec for spec in builtin_specs()}


@pytest.mark.parametrize("key", sorted(SAMPLES), ids=lambda key: "/".join(part for part in key if part))
def test_default_is_idempotent_and_leaves_metadata_alone(key: tuple[str, str]) -> None:
    spec = _SPECS[key]
    obj = {"apiVersion": spec.group_version, "kind": spec.kind,
           "metadata": {"name": "x", "namespace": "default", "labels": {"app": "sample"}},
           **copy.deepcopy(SAMPLES[key])}
    spec.strategy.default(obj)
    once = copy.deepcopy(obj)
    spec.strategy.default(obj)
    assert obj == once
    assert obj["metadata"] == {"name": "x", "namespace": "default", "labels": {"app": "sample"}}
    assert "status" not in obj


def test_omit_zero_times_copies_only_what_changes() -> None:
    obj = {"metadata": {"name": "a"}, "spec": {"template": {"metadata": {"creationTimestamp": None}}},
           "list": [{"creationTimestamp": None}, {"x": 1}]}
    view = omit_zero_times(obj)
    assert view == {"metadata": {"name": "a"}, "spec": {"template": {"metadata": {}}}, "list": [{}, {"x": 1}]}
    assert view["metadata"] is obj["metadata"] and view["list"][1] is obj["list"][1]
    assert obj["spec"]["template"]["metadata"] == {"creationTimestamp": None}
    plain = {"a": [{"b": 1}]}
    assert omit_zero_times(plain) is plain
