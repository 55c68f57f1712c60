"""NodeRestriction: a kubelet writes only its own Node and mirror pods bound to it."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission.interface import Operation
from apiserver.admission.plugins.node_restriction import NodeRestriction
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext, attributes, pod

NODE = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))


def mirror_pod(**spec: Any) -> dict[str, Any]:
    obj = pod("m", **{"nodeName": "n1", **spec})
    obj["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    obj["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u",
                                           "controller": True}]
    return obj


async def test_node_may_create_its_own_mirror_pod() -> None:
    await NodeRestriction(FakeContext()).admit(attributes(mirror_pod(), user=NODE))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (pod("p", nodeName="n1"),
         'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'),
        (mirror_pod(nodeName="n2"), 'node "n1" can only create pods with spec.nodeName set to itself'),
        (mirror_pod(serviceAccountName="default"), 'node "n1" can not create pods that reference a service account'),
        (mirror_pod(volumes=[{"name": "s", "secret": {"secretName": "s"}}]),
         'node "n1" can not create pods that reference secrets'),
    ],
    ids=["not-mirror", "other-node", "service-account", "secret"],
)
async def test_node_pod_creates_are_limited(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(FakeContext()).admit(attributes(obj, user=NODE))
    assert caught.value.message == f'pods "{obj["metadata"]["name"]}" is forbidden: {message}'


async def test_node_may_not_modify_another_node() -> None:
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(FakeContext()).admit(attributes(
            {"metadata": {"name": "n2"}}, resource="nodes", kind="Node", namespace="", user=NODE,
            operation=Operation.UPDATE, old={"metadata": {"name": "n2"}}))
    assert caught.value.message == 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'


async def test_node_may_not_delete_pods_bound_elsewhere() -> None:
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(FakeContext()).admit(attributes(
            None, old=pod("p", nodeName="n2"), operation=Operation.DELETE, user=NODE))
    assert caught.value.message == ('pods "p" is forbidden: node "n1" can only delete pods with spec.nodeName set '
                                    "to itself")


async def test_other_users_are_not_restricted() -> None:
    await NodeRestriction(FakeContext()).admit(attributes(pod("p"), user=UserInfo("alice")))


def eviction(name: str = "p") -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "ns"}}


def evicting(name: str = "p", *, operation: Operation = Operation.CREATE) -> Any:
    return attributes(eviction(name), kind="Eviction", subresource="eviction", user=NODE, operation=operation)


async def test_node_may_evict_its_own_pods() -> None:
    context = FakeContext()
    context.add("", "v1", "pods", pod("p", nodeName="n1"))
    await NodeRestriction(context).admit(evicting())


@pytest.mark.parametrize(
    ("stored", "operation", "message"),
    [
        (pod("p", nodeName="n2"), Operation.CREATE, "node n1 can only evict pods with spec.nodeName set to itself"),
        (pod("p"), Operation.CREATE, "node n1 can only evict pods with spec.nodeName set to itself"),
        (pod("p", nodeName="n1"), Operation.UPDATE, "unexpected operation UPDATE"),
    ],
    ids=["bound-elsewhere", "unbound", "not-a-create"],
)
async def test_node_evictions_are_limited(stored: dict[str, Any], operation: Operation, message: str) -> None:
    context = FakeContext()
    context.add("", "v1", "pods", stored)
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(context).admit(evicting(operation=operation))
    assert (caught.value.code, caught.value.message) == (403, f'pods "p" is forbidden: {message}')


async def test_node_eviction_of_a_missing_pod_is_not_found() -> None:
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(FakeContext()).admit(evicting("gone"))
    assert (caught.value.code, caught.value.message) == (404, 'pods "gone" not found')


async def test_node_may_not_use_other_pod_subresources() -> None:
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(FakeContext()).admit(attributes(
            {"metadata": {"name": "p"}}, kind="Binding", subresource="binding", user=NODE))
    assert caught.value.message == ('pods "p" is forbidden: unexpected pod subresource "binding", only \'status\' '
                                    "and 'eviction' are allowed")


def lease(name: str) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}}


async def test_node_may_write_only_its_own_lease_in_kube_node_lease() -> None:
    plugin = NodeRestriction(FakeContext())
    await plugin.admit(attributes(lease("n1"), user=NODE, group="coordination.k8s.io", resource="leases",
                                  kind="Lease", namespace="kube-node-lease"))
    cases = [
        (attributes(lease("n1"), user=NODE, group="coordination.k8s.io", resource="leases", kind="Lease",
                    namespace="default"),
         'leases.coordination.k8s.io "n1" is forbidden: can only access leases in the "kube-node-lease" system '
         "namespace"),
        (attributes(lease("n2"), user=NODE, group="coordination.k8s.io", resource="leases", kind="Lease",
                    namespace="kube-node-lease"),
         'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the '
         "requesting node"),
        (attributes(None, user=NODE, group="coordination.k8s.io", resource="leases", kind="Lease",
                    namespace="kube-node-lease", operation=Operation.DELETE, old=lease("n2"), name="n2"),
         'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the '
         "requesting node"),
    ]
    for request, message in cases:
        with pytest.raises(ApiError) as caught:
            await plugin.admit(request)
        assert caught.value.message == message


async def test_node_may_write_only_its_own_csinode() -> None:
    plugin = NodeRestriction(FakeContext())
    body = {"metadata": {"name": "n1"}}
    await plugin.admit(attributes(body, user=NODE, group="storage.k8s.io", resource="csinodes", kind="CSINode",
                                  namespace=""))
    with pytest.raises(ApiError) as caught:
        await plugin.admit(attributes({"metadata": {"name": "n2"}}, user=NODE, group="storage.k8s.io",
                                      resource="csinodes", kind="CSINode", namespace="", operation=Operation.UPDATE,
                                      old={"metadata": {"name": "n2"}}))
    assert caught.value.message == ('csinodes.storage.k8s.io "n2" is forbidden: can only access CSINode with the '
                                    "same name as the requesting node")


def token_request(**reference: Any) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": "sa"},
            "spec": {"audiences": ["api"], **({"boundObjectRef": reference} if reference else {})}}


TOKEN_CASES = [
    ({}, "node requested token not bound to a pod"),
    ({"apiVersion": "v1", "kind": "Secret", "name": "s"}, "node requested token not bound to a pod"),
    ({"apiVersion": "v1", "kind": "Pod", "name": "web"}, "node requested token with a pod binding without a uid"),
    ({"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "old"},
     "the UID in the bound object reference (old) does not match the UID in record. The object might have been "
     "deleted and then recreated"),
    ({"apiVersion": "v1", "kind": "Pod", "name": "elsewhere", "uid": "u2"},
     "node requested token bound to a pod scheduled on a different node"),
]


@pytest.mark.parametrize(("reference", "message"), TOKEN_CASES)
async def test_node_token_requests_must_be_bound_to_its_pods(reference: dict[str, Any], message: str) -> None:
    context = FakeContext()
    context.add("", "v1", "pods", {"metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
                                   "spec": {"nodeName": "n1"}})
    context.add("", "v1", "pods", {"metadata": {"name": "elsewhere", "namespace": "ns", "uid": "u2"},
                                   "spec": {"nodeName": "n2"}})
    request = attributes(token_request(**reference), user=NODE, resource="serviceaccounts", kind="TokenRequest",
                         subresource="token", name="sa")
    with pytest.raises(ApiError) as caught:
        await NodeRestriction(context).admit(request)
    assert caught.value.message == f'serviceaccounts "sa" is forbidden: {message}'
    allowed = attributes(token_request(apiVersion="v1", kind="Pod", name="web", uid="u1"), user=NODE,
                         resource="serviceaccounts", kind="TokenRequest", subresource="token", name="sa")
    await NodeRestriction(context).admit(allowed)
