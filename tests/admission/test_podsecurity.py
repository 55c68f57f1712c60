"""PodSecurity: namespace labels, the Baseline and Restricted checks, enforce/audit/warn with upstream's words."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission.interface import Operation
from apiserver.admission.podsecurity.evaluator import evaluate_pod, forbidden_detail
from apiserver.admission.podsecurity.plugin import PodSecurity
from apiserver.admission.podsecurity.policy import LevelVersion, policy_of
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext, attributes, container, pod, status_of

RESTRICTED_OK = {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                 "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def context_for(labels: dict[str, str], *pods: dict[str, Any]) -> FakeContext:
    context = FakeContext()
    context.add("", "v1", "namespaces", {"metadata": {"name": "ns", "labels": labels}})
    for item in pods:
        context.add("", "v1", "pods", item)
    return context


def restricted(spec: dict[str, Any] | None = None, **context: Any) -> str:
    obj = pod("p", container("c", securityContext={**RESTRICTED_OK, **context}), **(spec or {}))
    return forbidden_detail(evaluate_pod(LevelVersion("restricted"), obj["metadata"], obj["spec"]))


def baseline(obj: dict[str, Any]) -> str:
    return forbidden_detail(evaluate_pod(LevelVersion("baseline"), obj["metadata"], obj["spec"]))


def test_plain_pod_fails_restricted_with_upstream_detail_in_upstream_order() -> None:
    obj = pod("p", container("c"))
    assert forbidden_detail(evaluate_pod(LevelVersion("restricted"), obj["metadata"], obj["spec"])) == (
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")'
    )


@pytest.mark.parametrize(
    ("spec", "detail"),
    [
        ({"hostNetwork": True, "hostPID": True}, "host namespaces (hostNetwork=true, hostPID=true)"),
        ({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, 'hostPath volumes (volume "h")'),
        ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
         "forbidden sysctls (kernel.msgmax)"),
        ({"securityContext": {"windowsOptions": {"hostProcess": True}}},
         "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)"),
        ({"securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "root"}}},
         'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)'),
        ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
         'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'),
        ({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
         'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")'),
    ],
    ids=["host-namespaces", "host-path", "sysctls", "host-process", "selinux", "seccomp", "apparmor"],
)
def test_baseline_pod_level_checks(spec: dict[str, Any], detail: str) -> None:
    assert baseline(pod("p", **spec)) == detail


@pytest.mark.parametrize(
    ("context", "detail"),
    [
        ({"privileged": True}, 'privileged (container "c" must not set securityContext.privileged=true)'),
        ({"capabilities": {"add": ["SYS_ADMIN", "NET_RAW", "CHOWN"]}},
         'non-default capabilities (container "c" must not include "NET_RAW", "SYS_ADMIN" in '
         "securityContext.capabilities.add)"),
        ({"procMount": "Unmasked"}, 'procMount (container "c" must not set securityContext.procMount to "Unmasked")'),
    ],
    ids=["privileged", "capabilities", "proc-mount"],
)
def test_baseline_container_checks(context: dict[str, Any], detail: str) -> None:
    assert baseline(pod("p", container("c", securityContext=context))) == detail


def test_host_ports_name_every_container_and_port() -> None:
    obj = pod("p", container("a", ports=[{"containerPort": 80, "hostPort": 8080}]),
              container("b", ports=[{"containerPort": 81, "hostPort": 81}]))
    assert baseline(obj) == 'hostPort (containers "a", "b" use hostPorts 8080, 81)'  # sorted as strings, as upstream


@pytest.mark.parametrize(
    ("spec", "context", "detail"),
    [
        ({}, {}, ""),
        ({}, {"runAsUser": 0}, 'runAsUser=0 (container "c" must not set runAsUser=0)'),
        ({}, {"runAsNonRoot": False}, 'runAsNonRoot != true (container "c" must not set '
                                      "securityContext.runAsNonRoot=false)"),
        ({}, {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_ADMIN"]}},
         'unrestricted capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)'),
        ({"volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]},
         {}, 'restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")'),
        ({"os": {"name": "windows"}}, {"allowPrivilegeEscalation": None, "capabilities": None,
                                       "seccompProfile": None}, ""),
    ],
    ids=["compliant", "run-as-root", "run-as-non-root-false", "capability-add", "volumes", "windows-exempt"],
)
def test_restricted_checks(spec: dict[str, Any], context: dict[str, Any], detail: str) -> None:
    cleaned = {key: value for key, value in context.items() if value is not None}
    removed = [key for key, value in context.items() if value is None]
    security = {key: value for key, value in {**RESTRICTED_OK, **cleaned}.items() if key not in removed}
    obj = pod("p", container("c", securityContext=security), **spec)
    assert forbidden_detail(evaluate_pod(LevelVersion("restricted"), obj["metadata"], obj["spec"])) == detail


def test_warn_follows_a_stricter_enforce_level_and_bad_labels_are_field_errors() -> None:
    policy, errors = policy_of({"pod-security.kubernetes.io/enforce": "baseline",
                                "pod-security.kubernetes.io/audit": "strict",
                                "pod-security.kubernetes.io/audit-version": "1.2"})
    assert (str(policy.enforce), str(policy.audit), str(policy.warn)) == (
        "baseline:latest", "privileged:latest", "baseline:latest")
    assert [str(error) for error in errors] == [
        'metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "strict": must be one of privileged, '
        "baseline, restricted",
        'metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: "1.2": must be "latest" or "v1.x"',
    ]


async def test_enforce_refuses_with_upstream_message() -> None:
    context = context_for({"pod-security.kubernetes.io/enforce": "baseline"})
    with pytest.raises(ApiError) as caught:
        await PodSecurity(context).validate(attributes(pod("x", hostNetwork=True)))
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "x" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
        "reason": "Forbidden", "details": {"name": "x", "kind": "pods"}, "code": 403,
    }


async def test_warn_and_audit_do_not_refuse() -> None:
    context = context_for({"pod-security.kubernetes.io/warn": "restricted",
                           "pod-security.kubernetes.io/audit": "baseline"})
    annotations: dict[str, str] = {}
    request = attributes(pod("x", container("c", securityContext={"privileged": True})))
    object.__setattr__(request, "annotate", annotations.__setitem__)
    await PodSecurity(context).validate(request)
    assert request.warnings == [
        'would violate PodSecurity "restricted:latest": privileged (container "c" must not set '
        'securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set '
        'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    ]
    assert annotations == {
        "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
        "pod-security.kubernetes.io/audit-violations": 'would violate PodSecurity "baseline:latest": privileged '
                                                       '(container "c" must not set securityContext.privileged=true)',
    }


async def test_deployment_templates_are_warned_about_never_refused() -> None:
    context = context_for({"pod-security.kubernetes.io/enforce": "baseline"})
    deployment = {"metadata": {"name": "d", "namespace": "ns"},
                  "spec": {"template": {"metadata": {}, "spec": {"hostPID": True, "containers": [container()]}}}}
    request = attributes(deployment, resource="deployments", kind="Deployment", group="apps")
    await PodSecurity(context).validate(request)
    assert request.warnings == ['would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)']


async def test_namespace_with_bad_label_is_invalid() -> None:
    namespace = {"metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}}
    with pytest.raises(ApiError) as caught:
        await PodSecurity(FakeContext()).validate(
            attributes(namespace, resource="namespaces", kind="Namespace", namespace=""))
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'namespaces "team" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid '
                   'value: "strict": must be one of privileged, baseline, restricted',
        "reason": "Invalid", "details": {"name": "team", "kind": "namespaces"}, "code": 422,
    }


async def test_stricter_namespace_label_warns_about_existing_pods() -> None:
    pods = [pod("b", hostNetwork=True), pod("a", hostNetwork=True), pod("c", container("c"))]
    context = context_for({}, *pods)
    old = {"metadata": {"name": "ns"}}
    new = {"metadata": {"name": "ns", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    request = attributes(new, resource="namespaces", kind="Namespace", namespace="", old=old,
                         operation=Operation.UPDATE)
    await PodSecurity(context).validate(request)
    assert request.warnings == [
        'existing pods in namespace "ns" violate the new PodSecurity enforce level "baseline:latest"',
        "a (and 1 other pod): host namespaces (hostNetwork=true)",
    ]


async def test_pod_updates_that_change_no_image_are_not_evaluated() -> None:
    context = context_for({"pod-security.kubernetes.io/enforce": "baseline"})
    old = pod("x", hostNetwork=True)
    new = pod("x", hostNetwork=True)
    new["metadata"]["labels"] = {"a": "b"}
    await PodSecurity(context).validate(attributes(new, operation=Operation.UPDATE, old=old))
