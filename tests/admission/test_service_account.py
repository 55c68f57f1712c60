"""ServiceAccount admission: default account, existence (cache, then live), the projected token volume."""
from __future__ import annotations

import pytest

from apiserver.admission.interface import Operation
from apiserver.admission.plugins.service_account import ServiceAccount
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext, attributes, container, pod, status_of

TOKEN_VOLUME = {
    "name": "kube-api-access-abcde",
    "projected": {
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
        "defaultMode": 420,
    },
}
MOUNT = {"name": "kube-api-access-abcde", "readOnly": True,
         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}


def context_with_account(name: str = "default", **fields: object) -> FakeContext:
    context = FakeContext()
    context.add("", "v1", "serviceaccounts", {"metadata": {"name": name, "namespace": "ns"}, **fields})
    return context


def plugin(context: FakeContext) -> ServiceAccount:
    return ServiceAccount(context, suffix=lambda: "abcde", retry_interval=lambda: 0.0)


async def test_pod_gets_default_account_and_token_volume_in_every_container() -> None:
    obj = pod("p", container("c"), initContainers=[container("init")])
    await plugin(context_with_account()).admit(attributes(obj))
    spec = obj["spec"]
    assert spec["serviceAccountName"] == "default"
    assert spec["volumes"] == [TOKEN_VOLUME]
    assert spec["containers"][0]["volumeMounts"] == [MOUNT]
    assert spec["initContainers"][0]["volumeMounts"] == [MOUNT]


async def test_missing_account_is_forbidden_with_upstream_message() -> None:
    obj = pod("p", serviceAccountName="robot")
    with pytest.raises(ApiError) as caught:
        await plugin(FakeContext()).admit(attributes(obj))
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found',
        "reason": "Forbidden", "details": {"name": "p", "kind": "pods"}, "code": 403,
    }


async def test_default_account_missing_from_cache_is_read_live_with_retries() -> None:
    context = FakeContext()
    context.add("", "v1", "serviceaccounts", {"metadata": {"name": "default", "namespace": "ns"}}, cached=False)
    obj = pod()
    await plugin(context).admit(attributes(obj))
    assert obj["spec"]["serviceAccountName"] == "default"
    assert (("", "v1", "serviceaccounts"), True) in context.reads


async def test_default_account_is_looked_up_ten_times_before_refusing() -> None:
    context = FakeContext()
    with pytest.raises(ApiError):
        await plugin(context).admit(attributes(pod()))
    assert context.reads.count((("", "v1", "serviceaccounts"), True)) == 10


@pytest.mark.parametrize(
    ("pod_choice", "account_choice", "mounted"),
    [(None, None, True), (False, None, False), (None, False, False), (True, False, True), (False, True, False)],
    ids=["default", "pod-false", "account-false", "pod-wins-true", "pod-wins-false"],
)
async def test_automount_choice(pod_choice: bool | None, account_choice: bool | None, mounted: bool) -> None:
    account = {} if account_choice is None else {"automountServiceAccountToken": account_choice}
    spec = {} if pod_choice is None else {"automountServiceAccountToken": pod_choice}
    obj = pod("p", **spec)
    await plugin(context_with_account(**account)).admit(attributes(obj))
    assert ("volumes" in obj["spec"]) is mounted


async def test_existing_mount_at_token_path_is_kept_and_no_volume_added() -> None:
    own = {"name": "mine", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    obj = pod("p", container("c", volumeMounts=[own]))
    await plugin(context_with_account()).admit(attributes(obj))
    assert obj["spec"]["containers"][0]["volumeMounts"] == [own]
    assert "volumes" not in obj["spec"]


async def test_image_pull_secrets_come_from_the_account() -> None:
    obj = pod()
    await plugin(context_with_account(imagePullSecrets=[{"name": "registry"}])).admit(attributes(obj))
    assert obj["spec"]["imagePullSecrets"] == [{"name": "registry"}]


async def test_mirror_pod_is_left_alone_but_may_not_reference_secrets() -> None:
    obj = pod("m", container("c", env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]))
    obj["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    context = FakeContext()
    service_account = plugin(context)
    await service_account.admit(attributes(obj))
    assert "serviceAccountName" not in obj["spec"]
    with pytest.raises(ApiError) as caught:
        await service_account.validate(attributes(obj))
    assert caught.value.message == 'pods "m" is forbidden: a mirror pod may not reference secrets'


async def test_updates_and_other_resources_are_ignored() -> None:
    obj = pod()
    await plugin(FakeContext()).admit(attributes(obj, operation=Operation.UPDATE, old=pod()))
    await plugin(FakeContext()).admit(attributes({"metadata": {"name": "x"}}, resource="configmaps"))
    assert "serviceAccountName" not in obj["spec"]


ENFORCING = {"annotations": {"kubernetes.io/enforce-mountable-secrets": "true"}}


def enforcing_context(**fields: object) -> FakeContext:
    context = FakeContext()
    context.add("", "v1", "serviceaccounts",
                {"metadata": {"name": "robot", "namespace": "ns", **ENFORCING}, **fields})
    return context


def env_secret(name: str, secret: str) -> dict[str, object]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}


NOT_REFERENCED = "is not allowed because service account robot does not reference that secret"
MOUNTABLE_CASES = [
    ("volume", {"volumes": [{"name": "v", "secret": {"secretName": "other"}}]},
     f'volume with secret.secretName="other" {NOT_REFERENCED}'),
    ("init-env", {"initContainers": [container("init", env=[env_secret("TOKEN", "other")])]},
     f'init container init with envVar TOKEN referencing secret.secretName="other" {NOT_REFERENCED}'),
    ("env-from", {"containers": [container("c", envFrom=[{"secretRef": {"name": "other"}}])]},
     f'container c with envFrom referencing secret.secretName="other" {NOT_REFERENCED}'),
    ("pull-secret", {"imagePullSecrets": [{"name": "allowed"}, {"name": "registry"}]},
     'imagePullSecrets[1].name="registry" is not allowed because service account robot does not reference that '
     "imagePullSecret"),
]


@pytest.mark.parametrize(("spec", "problem"), [case[1:] for case in MOUNTABLE_CASES],
                         ids=[case[0] for case in MOUNTABLE_CASES])
async def test_enforce_mountable_secrets_limits_references(spec: dict[str, object], problem: str) -> None:
    obj = pod("p", serviceAccountName="robot", automountServiceAccountToken=False)
    obj["spec"].update(spec)
    context = enforcing_context(secrets=[{"name": "allowed"}], imagePullSecrets=[{"name": "allowed"}])
    with pytest.raises(ApiError) as caught:
        await plugin(context).validate(attributes(obj))
    assert status_of(caught.value)["message"] == f'pods "p" is forbidden: {problem}'


async def test_listed_secrets_pass_and_false_annotation_does_not_enforce() -> None:
    spec = {"volumes": [{"name": "v", "secret": {"secretName": "allowed"}}],
            "containers": [container("c", env=[env_secret("A", "allowed")])]}
    obj = pod("p", serviceAccountName="robot", **spec)
    await plugin(enforcing_context(secrets=[{"name": "allowed"}])).validate(attributes(obj))
    relaxed = FakeContext()
    relaxed.add("", "v1", "serviceaccounts", {"metadata": {
        "name": "robot", "namespace": "ns", "annotations": {"kubernetes.io/enforce-mountable-secrets": "False"}}})
    obj["spec"]["volumes"][0]["secret"]["secretName"] = "other"
    await plugin(relaxed).validate(attributes(obj))


async def test_ephemeral_containers_are_held_to_the_account_secrets() -> None:
    old = pod("p", serviceAccountName="robot")
    new = pod("p", serviceAccountName="robot",
              ephemeralContainers=[{"name": "debug", "image": "busybox",
                                    "env": [env_secret("PASSWORD", "other")]}])
    with pytest.raises(ApiError) as caught:
        await plugin(enforcing_context()).validate(
            attributes(new, operation=Operation.UPDATE, old=old, subresource="ephemeralcontainers"))
    assert caught.value.message == ('pods "p" is forbidden: ephemeral container debug with envVar PASSWORD '
                                    f'referencing secret.secretName="other" {NOT_REFERENCED}')
