"""`--admission-control-config-file`: AdmissionConfiguration files, PodSecurity defaults and exemptions,
ResourceQuota limitedResources, and kube-apiserver's start-up errors for bad files."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apiserver.admission.chain import build_admission_chain
from apiserver.admission.config import AdmissionConfigError, read_admission_configuration
from apiserver.admission.plugins.resource_quota import ResourceQuota
from apiserver.admission.podsecurity.plugin import PodSecurity
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import ApiError
from apiserver.server.assembly import build_server
from apiserver.server.config import SERVE_FLAGS, ServerConfig
from apiserver.server.flags import parse_flags
from tests.admission.fakes import FakeContext, attributes, container, pod, status_of

POD_SECURITY = {"apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
                "defaults": {"enforce": "baseline", "enforce-version": "latest", "warn": "restricted"},
                "exemptions": {"usernames": ["admin"], "namespaces": ["tools"], "runtimeClasses": ["kata"]}}
QUOTA = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "ResourceQuotaConfiguration",
         "limitedResources": [{"resource": "pods", "matchContains": ["cpu"],
                               "matchScopes": [{"scopeName": "PriorityClass", "operator": "In",
                                                "values": ["high"]}]}]}
PREFIX = "failed to initialize admission: "


def write_config(tmp_path: Path, *plugins: dict[str, Any]) -> Path:
    path = tmp_path / "admission.yaml"
    path.write_text(json.dumps({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
                                "plugins": list(plugins)}))
    return path


def test_flag_is_parsed_into_the_config(tmp_path: Path) -> None:
    values = parse_flags(SERVE_FLAGS, [f"--admission-control-config-file={tmp_path}/a.yaml"], command="serve")
    assert ServerConfig.from_flags(values).admission_control_config_file == f"{tmp_path}/a.yaml"


def test_inline_and_path_configurations_are_read(tmp_path: Path) -> None:
    (tmp_path / "podsecurity.yaml").write_text("apiVersion: pod-security.admission.config.k8s.io/v1\n"
                                               "kind: PodSecurityConfiguration\ndefaults:\n  enforce: restricted\n")
    path = write_config(tmp_path, {"name": "PodSecurity", "path": "podsecurity.yaml"},
                        {"name": "ResourceQuota", "configuration": QUOTA})
    configuration = read_admission_configuration(str(path))
    assert configuration.for_plugin("PodSecurity") == {
        "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "restricted"}}
    assert configuration.for_plugin("ResourceQuota") == QUOTA
    assert read_admission_configuration("").plugins == {}


def bad_configurations(tmp_path: Path) -> list[tuple[str, str]]:
    missing = tmp_path / "missing.yaml"
    wrong_kind = tmp_path / "kind.yaml"
    wrong_kind.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: Admission\n")
    bad_level = write_config(tmp_path, {"name": "PodSecurity", "configuration": {
        **POD_SECURITY, "defaults": {"enforce": "strict", "audit-version": "1.2"},
        "exemptions": {"namespaces": ["Bad_NS"], "usernames": ["", "a", "a"]}}})
    return [
        (str(missing), f'{PREFIX}failed to read plugin config: unable to read admission control configuration from '
                       f'"{missing}" [open {missing}: no such file or directory]'),
        (str(wrong_kind), f'{PREFIX}failed to read plugin config: no kind "Admission" is registered for version '
                          '"apiserver.config.k8s.io/v1"'),
        (str(bad_level), f'{PREFIX}couldn\'t init admission plugin "PodSecurity": invalid configuration: ['
                         'defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, '
                         'restricted, defaults.audit-version: Invalid value: "1.2": must be "latest" or "v1.x", '
                         'exemptions.namespaces[0]: Invalid value: "Bad_NS": a lowercase RFC 1123 label must '
                         "consist of lower case alphanumeric characters or '-', and must start and end with an "
                         "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?'), exemptions.usernames[0]: Invalid value: \"\": username "
                         'must not be empty, exemptions.usernames[2]: Duplicate value: "a"]'),
    ]


def test_bad_files_stop_the_server_at_start_with_upstream_errors(tmp_path: Path) -> None:
    for path, message in bad_configurations(tmp_path):
        with pytest.raises(AdmissionConfigError) as caught:
            build_server(ServerConfig(data_dir=tmp_path / "data", storage_backend="memory",
                                      etcd_compaction_interval=0, admission_control_config_file=path))
        assert str(caught.value) == message


def test_quota_configuration_without_resource_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"name": "ResourceQuota", "configuration": {
        **QUOTA, "limitedResources": [{"matchContains": ["cpu"]}]}})
    with pytest.raises(AdmissionConfigError) as caught:
        build_admission_chain(["ResourceQuota"], FakeContext(), read_admission_configuration(str(path)))
    assert str(caught.value) == (f'{PREFIX}couldn\'t init admission plugin "ResourceQuota": '
                                 "limitedResources[0].resource: Required value")


def pod_security_request(namespace: str = "ns", user: str = "alice", **spec: Any) -> Any:
    annotations: dict[str, str] = {}
    request = attributes(pod("p", container("c", securityContext={"privileged": True}), namespace=namespace,
                             **spec),
                         namespace=namespace, user=UserInfo(user, groups=("system:authenticated",)))
    object.__setattr__(request, "annotate", annotations.__setitem__)
    return request, annotations


def pod_security_context() -> FakeContext:
    context = FakeContext()
    for name in ("ns", "tools"):
        context.add("", "v1", "namespaces", {"metadata": {"name": name, "labels": {}}})
    return context


async def test_pod_security_defaults_apply_to_unlabelled_namespaces() -> None:
    plugin = PodSecurity(pod_security_context(), configuration=POD_SECURITY)
    request, _ = pod_security_request()
    with pytest.raises(ApiError) as caught:
        await plugin.validate(request)
    assert status_of(caught.value)["message"] == (
        'pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set '
        "securityContext.privileged=true)")


@pytest.mark.parametrize(("namespace", "user", "spec", "exempt"), [
    ("tools", "alice", {}, "namespace"),
    ("ns", "admin", {}, "user"),
    ("ns", "alice", {"runtimeClassName": "kata"}, "runtimeClass"),
])
async def test_pod_security_exemptions_allow_with_audit_annotation(namespace: str, user: str, spec: dict[str, Any],
                                                                   exempt: str) -> None:
    plugin = PodSecurity(pod_security_context(), configuration=POD_SECURITY)
    request, annotations = pod_security_request(namespace, user, **spec)
    await plugin.validate(request)
    assert annotations == {"pod-security.kubernetes.io/exempt": exempt}
    assert request.warnings == []


def quota_context(*quotas: dict[str, Any]) -> FakeContext:
    context = FakeContext()
    for quota in quotas:
        context.add("", "v1", "resourcequotas", quota)
    return context


def quota(name: str, hard: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": "1"},
            "spec": {"hard": hard, **spec}, "status": {"hard": hard, "used": {key: "0" for key in hard}}}


def cpu_pod(**spec: Any) -> dict[str, Any]:
    return pod("p", container("c", resources={"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}), **spec)


async def test_limited_resources_need_a_covering_quota() -> None:
    plugin = ResourceQuota(quota_context(quota("pods-only", {"pods": "5"})), configuration=QUOTA)
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(cpu_pod()))
    # The pod evaluator charges `cpu` as well as `requests.cpu`, so a covering quota names all three.
    assert status_of(caught.value)["message"] == ('pods "p" is forbidden: insufficient quota to consume: '
                                                  "cpu,limits.cpu,requests.cpu")
    covered = ResourceQuota(quota_context(quota("compute", {"cpu": "4", "requests.cpu": "4", "limits.cpu": "4"})),
                            configuration=QUOTA)
    await covered.validate(attributes(cpu_pod(), dry_run=True))
    await plugin.validate(attributes(pod("p", container("c"))))  # uses no cpu: nothing limited


async def test_limited_scopes_need_a_quota_with_that_scope() -> None:
    compute = quota("compute", {"cpu": "4", "requests.cpu": "4", "limits.cpu": "4"})
    plugin = ResourceQuota(quota_context(compute), configuration=QUOTA)
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(cpu_pod(priorityClassName="high"), dry_run=True))
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "insufficient quota to match these scopes: [{PriorityClass In [high]}]", "code": 500}
    scoped = quota("high", {"pods": "5"}, scopeSelector={"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]})
    allowed = ResourceQuota(quota_context(compute, scoped), configuration=QUOTA)
    await allowed.validate(attributes(cpu_pod(priorityClassName="high"), dry_run=True))
