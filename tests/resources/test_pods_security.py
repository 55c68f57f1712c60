"""Pod create refused as upstream v1.32 refuses it: security contexts, host namespaces, user namespaces, `os`."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import PODS, container, invalid, pod
from tests.support.resource_app import ResourceApp, resource_app

ID_RANGE = "must be between 0 and 2147483647, inclusive"
SYSCTL_REGEX = r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"
WINDOWS = "cannot be set for a windows pod"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def with_context(**context: Any) -> dict[str, Any]:
    return {"containers": [container(securityContext=context)]}


CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("container-run-as-user", with_context(runAsUser=-1),
     [("FieldValueInvalid", "spec.containers[0].securityContext.runAsUser", f"Invalid value: -1: {ID_RANGE}")]),
    ("container-run-as-group", with_context(runAsGroup=2147483648),
     [("FieldValueInvalid", "spec.containers[0].securityContext.runAsGroup",
       f"Invalid value: 2147483648: {ID_RANGE}")]),
    ("proc-mount-unknown", with_context(procMount="Weird"),
     [("FieldValueNotSupported", "spec.containers[0].securityContext.procMount",
       'Unsupported value: "Weird": supported values: "Default", "Unmasked"')]),
    ("proc-mount-unmasked-needs-user-namespace", with_context(procMount="Unmasked"),
     [("FieldValueInvalid", "spec.containers[0].securityContext.procMount",
       'Invalid value: "Unmasked": `hostUsers` must be false to use `Unmasked`')]),
    ("seccomp-type-required", with_context(seccompProfile={}),
     [("FieldValueRequired", "spec.containers[0].securityContext.seccompProfile.type",
       "Required value: type is required when seccompProfile is set")]),
    ("seccomp-type-unknown", with_context(seccompProfile={"type": "Bogus"}),
     [("FieldValueNotSupported", "spec.containers[0].securityContext.seccompProfile.type",
       'Unsupported value: "Bogus": supported values: "Localhost", "RuntimeDefault", "Unconfined"')]),
    ("seccomp-localhost-needs-profile", with_context(seccompProfile={"type": "Localhost"}),
     [("FieldValueRequired", "spec.containers[0].securityContext.seccompProfile.localhostProfile",
       "Required value: must be set when seccomp type is Localhost")]),
    ("seccomp-localhost-relative", with_context(seccompProfile={"type": "Localhost", "localhostProfile": "../x"}),
     [("FieldValueInvalid", "spec.containers[0].securityContext.seccompProfile.localhostProfile",
       "Invalid value: \"../x\": must not contain '..'")]),
    ("seccomp-profile-only-for-localhost",
     with_context(seccompProfile={"type": "RuntimeDefault", "localhostProfile": "p.json"}),
     [("FieldValueInvalid", "spec.containers[0].securityContext.seccompProfile.localhostProfile",
       'Invalid value: {"type":"RuntimeDefault","localhostProfile":"p.json"}: '
       "can only be set when seccomp type is Localhost")]),
    ("apparmor-type-required", with_context(appArmorProfile={}),
     [("FieldValueRequired", "spec.containers[0].securityContext.appArmorProfile.type",
       "Required value: type is required when appArmorProfile is set")]),
    ("apparmor-padded", with_context(appArmorProfile={"type": "Localhost", "localhostProfile": " p "}),
     [("FieldValueInvalid", "spec.containers[0].securityContext.appArmorProfile.localhostProfile",
       'Invalid value: " p ": must not be padded with whitespace')]),
    ("apparmor-profile-only-for-localhost",
     with_context(appArmorProfile={"type": "Unconfined", "localhostProfile": "p"}),
     [("FieldValueInvalid", "spec.containers[0].securityContext.appArmorProfile.localhostProfile",
       'Invalid value: "p": can only be set when AppArmor type is Localhost')]),
    ("no-escalation-but-privileged", with_context(allowPrivilegeEscalation=False, privileged=True),
     [("FieldValueInvalid", "spec.containers[0].securityContext",
       'Invalid value: {"allowPrivilegeEscalation":false,"privileged":true}: '
       "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")]),
    ("no-escalation-but-sys-admin",
     with_context(allowPrivilegeEscalation=False, capabilities={"add": ["CAP_SYS_ADMIN"]}),
     [("FieldValueInvalid", "spec.containers[0].securityContext",
       'Invalid value: {"allowPrivilegeEscalation":false,"capabilities":{"add":["CAP_SYS_ADMIN"]}}: '
       "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN")]),
    ("windows-user-name-two-backslashes", with_context(windowsOptions={"runAsUserName": "a\\b\\c"}),
     [("FieldValueInvalid", "spec.containers[0].securityContext.windowsOptions.runAsUserName",
       'Invalid value: "a\\\\b\\\\c": runAsUserName cannot contain more than one backslash')]),
    ("init-container-context", {"initContainers": [container(name="init", securityContext={"runAsUser": -5})]},
     [("FieldValueInvalid", "spec.initContainers[0].securityContext.runAsUser", f"Invalid value: -5: {ID_RANGE}")]),
    ("pod-ids", {"securityContext": {"runAsUser": -1, "fsGroup": -2, "supplementalGroups": [1, -3]}},
     [("FieldValueInvalid", "spec.securityContext.fsGroup", f"Invalid value: -2: {ID_RANGE}"),
      ("FieldValueInvalid", "spec.securityContext.runAsUser", f"Invalid value: -1: {ID_RANGE}"),
      ("FieldValueInvalid", "spec.securityContext.supplementalGroups[1]", f"Invalid value: -3: {ID_RANGE}")]),
    ("share-process-namespace-with-host-pid", {"shareProcessNamespace": True, "hostPID": True},
     [("FieldValueInvalid", "spec.securityContext.shareProcessNamespace",
       "Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled")]),
    ("fs-group-change-policy", {"securityContext": {"fsGroupChangePolicy": "Sometimes"}},
     [("FieldValueNotSupported", "spec.securityContext.fsGroupChangePolicy",
       'Unsupported value: "Sometimes": supported values: "Always", "OnRootMismatch"')]),
    ("sysctls", {"securityContext": {"sysctls": [{"name": "", "value": "1"}, {"name": "Bad!", "value": "1"},
                                                 {"name": "kernel.shm_rmid_forced", "value": "1"},
                                                 {"name": "kernel.shm_rmid_forced", "value": "0"}]}},
     [("FieldValueRequired", "spec.securityContext.sysctls[0].name", "Required value"),
      ("FieldValueInvalid", "spec.securityContext.sysctls[1].name",
       f'Invalid value: "Bad!": must have at most 253 characters and match regex {SYSCTL_REGEX}'),
      ("FieldValueDuplicate", "spec.securityContext.sysctls[3].name",
       'Duplicate value: "kernel.shm_rmid_forced"')]),
    ("namespaced-sysctls-with-host-namespaces",
     {"hostNetwork": True, "hostIPC": True,
      "securityContext": {"sysctls": [{"name": "net/ipv4/ip_forward", "value": "1"},
                                      {"name": "kernel.msgmax", "value": "1"}]}},
     [("FieldValueInvalid", "spec.securityContext.sysctls[0].name",
       "Invalid value: \"net/ipv4/ip_forward\": may not be specified when 'hostNetwork' is true"),
      ("FieldValueInvalid", "spec.securityContext.sysctls[1].name",
       "Invalid value: \"kernel.msgmax\": may not be specified when 'hostIPC' is true")]),
    ("host-users-false-with-host-namespaces", {"hostUsers": False, "hostNetwork": True, "hostPID": True},
     [("FieldValueForbidden", "spec.hostNetwork", "Forbidden: when `pod.Spec.HostUsers` is false"),
      ("FieldValueForbidden", "spec.HostPID", "Forbidden: when `pod.Spec.HostUsers` is false")]),
    ("host-network-port-mismatch",
     {"hostNetwork": True, "containers": [container(ports=[{"containerPort": 80, "hostPort": 8080}])]},
     [("FieldValueInvalid", "spec.containers[0].ports[0].hostPort",
       "Invalid value: 8080: must match `containerPort` when `hostNetwork` is true")]),
    ("os-name-required", {"os": {}}, [("FieldValueRequired", "spec.os.name", "Required value: cannot be empty")]),
    ("os-name-unknown", {"os": {"name": "plan9"}},
     [("FieldValueNotSupported", "spec.os", 'Unsupported value: "plan9": supported values: "linux", "windows"')]),
    ("linux-pod-with-windows-options",
     {"os": {"name": "linux"}, "containers": [container(securityContext={"windowsOptions": {}})]},
     [("FieldValueForbidden", "spec.containers[0].securityContext.windowsOptions",
       "Forbidden: windows options cannot be set for a linux pod")]),
    ("windows-pod-with-linux-fields",
     {"os": {"name": "windows"}, "hostPID": True, "securityContext": {"runAsUser": 1, "seLinuxOptions": {}},
      "initContainers": [container(name="init", securityContext={"privileged": False})]},
     [("FieldValueForbidden", "spec.securityContext.seLinuxOptions", f"Forbidden: {WINDOWS}"),
      ("FieldValueForbidden", "spec.hostPID", f"Forbidden: {WINDOWS}"),
      ("FieldValueForbidden", "spec.securityContext.runAsUser", f"Forbidden: {WINDOWS}"),
      ("FieldValueForbidden", "spec.initContainers[0].securityContext.privileged", f"Forbidden: {WINDOWS}")]),
    ("host-process-mixed",
     {"securityContext": {"windowsOptions": {"hostProcess": True}},
      "containers": [container(), container(name="b", securityContext={"windowsOptions": {"hostProcess": False}})]},
     [("FieldValueInvalid", "spec.containers[1].securityContext.windowsOptions.hostProcess",
       "Invalid value: false: pod hostProcess value must be identical if both are specified, was true"),
      ("FieldValueInvalid", "spec",
       'Invalid value: "": If pod contains any hostProcess containers then all containers must be HostProcess '
       "containers"),
      ("FieldValueInvalid", "spec.hostNetwork",
       "Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers")]),
]


@pytest.mark.parametrize(("spec", "causes"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_create_refused_with_upstream_causes(api: ResourceApp, spec: dict[str, Any],
                                                   causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", PODS, pod(**spec))
    assert (answer.status, answer.json()) == (422, invalid("p", causes))
    assert (await api.request("GET", f"{PODS}/p")).status == 404


VALID: list[tuple[str, dict[str, Any]]] = [
    ("restricted-container", with_context(runAsNonRoot=True, runAsUser=1000, allowPrivilegeEscalation=False,
                                          capabilities={"drop": ["ALL"]}, seccompProfile={"type": "RuntimeDefault"})),
    ("privileged", with_context(privileged=True)),
    ("seccomp-localhost", with_context(seccompProfile={"type": "Localhost", "localhostProfile": "profiles/a.json"})),
    ("apparmor-localhost", with_context(appArmorProfile={"type": "Localhost", "localhostProfile": "k8s-nginx"})),
    ("unmasked-in-user-namespace", {"hostUsers": False, **with_context(procMount="Unmasked")}),
    ("safe-sysctls", {"securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1 2"},
                                                      {"name": "kernel/shm_rmid_forced", "value": "1"}]}}),
    ("host-network-defaults-host-port",
     {"hostNetwork": True, "containers": [container(ports=[{"containerPort": 80}])]}),
    ("windows-pod", {"os": {"name": "windows"}, **with_context(windowsOptions={"runAsUserName": "DOMAIN\\user"})}),
    ("host-process-pod", {"hostNetwork": True, "securityContext": {"windowsOptions": {"hostProcess": True}}}),
]


@pytest.mark.parametrize("spec", [case[1] for case in VALID], ids=[case[0] for case in VALID])
async def test_valid_security_settings_are_created(api: ResourceApp, spec: dict[str, Any]) -> None:
    answer = await api.request("POST", PODS, pod(**spec))
    assert answer.status == 201, answer.json()
