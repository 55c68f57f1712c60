"""Pod-specific annotations, overhead and the disabled DRA fields: upstream v1.32 rules and messages."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import FORB, INV, PODS, container, invalid, pod
from tests.support.resource_app import ResourceApp, resource_app

TEMPLATES = "/api/v1/namespaces/default/podtemplates"
MATCH = "seccomp type in annotation and field must match"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def annotated(annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    body = pod(**spec)
    body["metadata"]["annotations"] = annotations
    return body


ANNOTATION_CASES: list[tuple[str, dict[str, str], dict[str, Any], list[tuple[str, str, str]]]] = [
    ("mirror-without-node", {"kubernetes.io/config.mirror": "abc"}, {},
     [(INV, "metadata.annotations[kubernetes.io/config.mirror]",
       'Invalid value: "abc": must set spec.nodeName if mirror pod annotation is set')]),
    ("deletion-cost-not-int32", {"controller.kubernetes.io/pod-deletion-cost": "3000000000"}, {},
     [(INV, "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]",
       'Invalid value: "3000000000": must be a 32bit integer')]),
    ("deletion-cost-leading-plus", {"controller.kubernetes.io/pod-deletion-cost": "+5"}, {},
     [(INV, "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]",
       'Invalid value: "+5": must be a 32bit integer')]),
    ("seccomp-pod-unknown", {"seccomp.security.alpha.kubernetes.io/pod": "strict"}, {},
     [(INV, "metadata.annotations.seccomp.security.alpha.kubernetes.io/pod",
       'Invalid value: "strict": must be a valid seccomp profile')]),
    ("seccomp-container-localhost-path", {"container.seccomp.security.alpha.kubernetes.io/app": "localhost/../x"},
     {}, [(INV, "metadata.annotations.container.seccomp.security.alpha.kubernetes.io/app",
           "Invalid value: \"../x\": must not contain '..'")]),
    ("apparmor-unknown-container", {"container.apparmor.security.beta.kubernetes.io/web": "enforcing"}, {},
     [(INV, "metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]",
       'Invalid value: "web": container not found'),
      (INV, "metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]",
       'Invalid value: "enforcing": invalid AppArmor profile name: "enforcing"')]),
    ("tolerations-annotation", {"scheduler.alpha.kubernetes.io/tolerations": '[{"operator": "Sometimes"}]'}, {},
     [(INV, "metadata.annotations.scheduler.alpha.kubernetes.io/tolerations[0].operator",
       'Invalid value: "Sometimes": operator must be Exists when `key` is empty, which means "match all values and '
       'all keys"'),
      ("FieldValueNotSupported", "metadata.annotations.scheduler.alpha.kubernetes.io/tolerations[0].operator",
       'Unsupported value: "Sometimes": supported values: "Equal", "Exists"')]),
    ("seccomp-field-mismatch", {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"},
     {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
     [(FORB, "spec.securityContext.seccompProfile.type", f"Forbidden: {MATCH}")]),
    ("seccomp-localhost-mismatch", {"container.seccomp.security.alpha.kubernetes.io/app": "localhost/a.json"},
     {"containers": [container(securityContext={"seccompProfile": {"type": "Localhost",
                                                                   "localhostProfile": "b.json"}})]},
     [(FORB, "spec.containers[0].securityContext.seccompProfile.localhostProfile",
       "Forbidden: seccomp profile in annotation and field must match")]),
    ("apparmor-field-mismatch", {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"},
     {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}},
     [(FORB, "spec.containers[0].securityContext.appArmorProfile.type",
       "Forbidden: apparmor type in annotation and field must match")]),
    ("overhead", {}, {"overhead": {"cpu": "-1", "gpu": "1"}},
     [(INV, "spec.overhead.limits[cpu]", 'Invalid value: "-1": must be greater than or equal to 0'),
      (INV, "spec.overhead.limits[gpu]", 'Invalid value: "gpu": must be a standard resource type or fully qualified'),
      (INV, "spec.overhead.limits[gpu]", 'Invalid value: "gpu": must be a standard resource for containers')]),
]


@pytest.mark.parametrize(("annotations", "spec", "causes"), [case[1:] for case in ANNOTATION_CASES],
                         ids=[case[0] for case in ANNOTATION_CASES])
async def test_pod_specific_annotations_and_overhead_are_validated(
        api: ResourceApp, annotations: dict[str, str], spec: dict[str, Any],
        causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", PODS, annotated(annotations, **spec))
    assert (answer.status, answer.json()) == (422, invalid("p", causes))
    assert (await api.request("GET", f"{PODS}/p")).status == 404


async def test_matching_annotations_and_valid_costs_are_accepted(api: ResourceApp) -> None:
    body = annotated({"seccomp.security.alpha.kubernetes.io/pod": "docker/default",
                      "container.apparmor.security.beta.kubernetes.io/app": "localhost/prof",
                      "controller.kubernetes.io/pod-deletion-cost": "-7"},
                     securityContext={"seccompProfile": {"type": "RuntimeDefault"},
                                      "appArmorProfile": {"type": "Localhost", "localhostProfile": "prof"}})
    assert (await api.request("POST", PODS, body)).status == 201


async def test_mirror_and_apparmor_annotations_cannot_change_on_update(api: ResourceApp) -> None:
    body = annotated({"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"})
    current = (await api.request("POST", PODS, body)).json()
    current["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    current["spec"]["nodeName"] = "n1"
    answer = await api.request("PUT", f"{PODS}/p", current)
    causes = answer.json()["details"]["causes"]
    assert [(cause["field"], cause["message"]) for cause in causes][:2] == [
        ("metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
         "Forbidden: may not remove or update AppArmor annotations"),
        ("metadata.annotations[kubernetes.io/config.mirror]", "Forbidden: may not add mirror pod annotation")]


async def test_invalid_deletion_cost_may_stay_when_already_stored(api: ResourceApp) -> None:
    created = (await api.request("POST", PODS, pod())).json()
    assert created["metadata"].get("annotations") is None
    created["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": "x"}
    answer = await api.request("PUT", f"{PODS}/p", created)
    assert answer.status == 422
    assert answer.json()["message"] == ('Pod "p" is invalid: metadata.annotations[controller.kubernetes.io/'
                                        'pod-deletion-cost]: Invalid value: "x": must be a 32bit integer')


async def test_resource_claims_are_dropped_while_dra_is_disabled(api: ResourceApp) -> None:
    body = pod(resourceClaims=[{"name": "gpu", "resourceClaimName": "c"}],
               containers=[container(resources={"claims": [{"name": "gpu"}]})])
    created = (await api.request("POST", PODS, body)).json()
    assert "resourceClaims" not in created["spec"]
    assert created["spec"]["containers"][0]["resources"] == {}
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                "template": {"spec": body["spec"]}}
    stored = (await api.request("POST", TEMPLATES, template)).json()
    assert "resourceClaims" not in stored["template"]["spec"]


async def test_template_annotations_follow_pod_rules(api: ResourceApp) -> None:
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                "template": {"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "1.5"}},
                             "spec": pod()["spec"]}}
    answer = await api.request("POST", TEMPLATES, template)
    assert answer.json() == invalid("t", [
        (INV, "template.annotations[controller.kubernetes.io/pod-deletion-cost]",
         'Invalid value: "1.5": must be a 32bit integer')], kind="PodTemplate")
