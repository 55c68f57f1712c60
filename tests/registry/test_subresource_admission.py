"""What admission sees of subresource writes: the URL's resource (group, version, plural), the subresource and
the parent's name, and the body's kind, as upstream's createHandler and patch/update handlers build them."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from apiserver.admission.chain import AdmissionChain
from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.endpoints.resources import ResourceEndpoints
from tests.registry.test_binding_endpoints import binding, make_pod, with_pod_subresources
from tests.registry.test_eviction_endpoints import eviction
from tests.resources.test_scale import DEPLOYMENTS, deployment
from tests.support.resource_app import ResourceApp, resource_app

PODS = "/api/v1/namespaces/default/pods"


class Recorder:
    """A mutating and validating plugin that only remembers what it saw."""

    name = "Recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[str, AdmissionAttributes]] = []

    def handles(self, operation: Operation) -> bool:
        return True

    async def admit(self, attributes: AdmissionAttributes) -> None:
        self.seen.append(("admit", attributes))

    async def validate(self, attributes: AdmissionAttributes) -> None:
        self.seen.append(("validate", attributes))


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[ResourceApp, Recorder]]:
    async with resource_app() as running:
        app = with_pod_subresources(running)
        recorder = Recorder()
        app.app = ResourceEndpoints(dataclasses.replace(app.app.server, admission=AdmissionChain([recorder])))
        yield app, recorder


def described(recorder: Recorder) -> set[tuple[str, str, str, str, str, str, str]]:
    return {(phase, a.group, a.version, a.resource, a.subresource, a.kind, a.name) for phase, a in recorder.seen}


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        (f"{PODS}/web/eviction", eviction(), "Eviction"),
        (f"{PODS}/web/eviction", eviction(api_version="policy/v1beta1"), "Eviction"),
        (f"{PODS}/web/binding", binding(), "Binding"),
    ],
    ids=["eviction", "eviction-v1beta1", "binding"],
)
async def test_pod_subresource_creates_are_admitted_as_pods(
    recorded: tuple[ResourceApp, Recorder], path: str, body: dict[str, object], kind: str,
) -> None:
    app, recorder = recorded
    await make_pod(app)
    answer = await app.request("POST", path, body)
    assert answer.status == 201, answer.body
    subresource = path.rsplit("/", 1)[1]
    assert described(recorder) == {(phase, "", "v1", "pods", subresource, kind, "web")
                                   for phase in ("admit", "validate")}


async def test_eviction_admission_names_the_url_pod_not_the_body(recorded: tuple[ResourceApp, Recorder]) -> None:
    app, recorder = recorded
    await make_pod(app)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction(name="other"))
    assert answer.status == 400
    assert {attributes.name for _, attributes in recorder.seen} == {"web"}


@pytest.mark.parametrize(
    ("method", "headers"),
    [("PUT", None), ("PATCH", {"content-type": "application/merge-patch+json"})],
    ids=["update", "patch"],
)
async def test_scale_writes_are_admitted_as_the_parent_resource(
    recorded: tuple[ResourceApp, Recorder], method: str, headers: dict[str, str] | None,
) -> None:
    app, recorder = recorded
    assert (await app.request("POST", DEPLOYMENTS, deployment())).status == 201
    recorder.seen.clear()
    scale = (await app.request("GET", f"{DEPLOYMENTS}/web/scale")).json()
    body = {**scale, "spec": {"replicas": 5}} if method == "PUT" else {"spec": {"replicas": 5}}
    answer = await app.request(method, f"{DEPLOYMENTS}/web/scale", body, headers=headers)
    assert answer.status == 200, answer.body
    assert described(recorder) == {(phase, "apps", "v1", "deployments", "scale", "Scale", "web")
                                   for phase in ("admit", "validate")}
    assert all(attributes.operation is Operation.UPDATE for _, attributes in recorder.seen)
