"""RuntimeClass, DefaultIngressClass, PersistentVolumeClaimResize and CertificateSubjectRestriction admission."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apiserver.admission.interface import Operation
from apiserver.admission.plugins.certificate_subject_restriction import CertificateSubjectRestriction
from apiserver.admission.plugins.default_ingress_class import DefaultIngressClass
from apiserver.admission.plugins.persistent_volume_claim_resize import PersistentVolumeClaimResize
from apiserver.admission.plugins.runtime_class import RuntimeClass
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext, attributes, pod

GVISOR = {"metadata": {"name": "gvisor"}, "handler": "runsc", "overhead": {"podFixed": {"cpu": "250m"}},
          "scheduling": {"nodeSelector": {"sandbox": "yes"},
                         "tolerations": [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}]}}


def runtime_context() -> FakeContext:
    context = FakeContext()
    context.add("node.k8s.io", "v1", "runtimeclasses", GVISOR)
    return context


async def test_runtime_class_brings_overhead_and_scheduling() -> None:
    obj = pod("p", runtimeClassName="gvisor")
    plugin = RuntimeClass(runtime_context())
    await plugin.admit(attributes(obj))
    await plugin.validate(attributes(obj))
    assert (obj["spec"]["overhead"], obj["spec"]["nodeSelector"], obj["spec"]["tolerations"]) == (
        {"cpu": "250m"}, {"sandbox": "yes"}, [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"runtimeClassName": "kata"}, 'pod rejected: RuntimeClass "kata" not found'),
        ({"runtimeClassName": "gvisor", "nodeSelector": {"sandbox": "no"}},
         "conflict: runtimeClass.scheduling.nodeSelector[sandbox] = yes; pod.spec.nodeSelector[sandbox] = no"),
        ({"runtimeClassName": "gvisor", "overhead": {"cpu": "1"}},
         "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"),
    ],
    ids=["missing", "selector-conflict", "overhead-mismatch"],
)
async def test_runtime_class_refusals(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as caught:
        await RuntimeClass(runtime_context()).admit(attributes(pod("p", **spec)))
    assert caught.value.message == f'pods "p" is forbidden: {message}'


async def test_overhead_without_runtime_class_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        await RuntimeClass(FakeContext()).validate(attributes(pod("p", overhead={"cpu": "1"})))
    assert caught.value.message == ('pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding '
                                    "RuntimeClass defined Overhead")


async def test_default_ingress_class_is_the_newest_default() -> None:
    context = FakeContext()
    for name, created in (("old", "2024-01-01T00:00:00Z"), ("new", "2024-06-01T00:00:00Z")):
        context.add("networking.k8s.io", "v1", "ingressclasses", {"metadata": {
            "name": name, "creationTimestamp": created,
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}}})
    ingress = {"metadata": {"name": "i", "namespace": "ns"}, "spec": {}}
    legacy = {"metadata": {"name": "j", "namespace": "ns", "annotations": {"kubernetes.io/ingress.class": "x"}},
              "spec": {}}
    for obj in (ingress, legacy):
        await DefaultIngressClass(context).admit(attributes(obj, resource="ingresses", kind="Ingress",
                                                            group="networking.k8s.io"))
    assert (ingress["spec"], legacy["spec"]) == ({"ingressClassName": "new"}, {})


def claim(size: str, phase: str = "Bound", storage_class: str = "fast") -> dict[str, Any]:
    return {"metadata": {"name": "c", "namespace": "ns"},
            "spec": {"storageClassName": storage_class, "resources": {"requests": {"storage": size}}},
            "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("expandable", "old", "message"),
    [
        (True, claim("1Gi"), None),
        (False, claim("1Gi"), "only dynamically provisioned pvc can be resized and the storageclass that provisions "
                              "the pvc must support resize"),
        (True, claim("1Gi", phase="Pending"), "Only bound persistent volume claims can be expanded"),
    ],
    ids=["allowed", "class-forbids", "not-bound"],
)
async def test_claim_resize(expandable: bool, old: dict[str, Any], message: str | None) -> None:
    context = FakeContext()
    context.add("storage.k8s.io", "v1", "storageclasses",
                {"metadata": {"name": "fast"}, "allowVolumeExpansion": expandable})
    request = attributes(claim("2Gi"), old=old, operation=Operation.UPDATE, resource="persistentvolumeclaims",
                         kind="PersistentVolumeClaim")
    if message is None:
        await PersistentVolumeClaimResize(context).validate(request)
        return
    with pytest.raises(ApiError) as caught:
        await PersistentVolumeClaimResize(context).validate(request)
    assert caught.value.message == f'persistentvolumeclaims "c" is forbidden: {message}'


def csr(organization: str, signer: str = "kubernetes.io/kube-apiserver-client") -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    pem = request.public_bytes(serialization.Encoding.PEM)
    return {"metadata": {"name": "r"}, "spec": {"signerName": signer, "request": base64.b64encode(pem).decode()}}


@pytest.mark.parametrize(
    ("obj", "refused"),
    [(csr("system:masters"), True), (csr("dev"), False),
     (csr("system:masters", "kubernetes.io/kube-apiserver-client-kubelet"), False)],
    ids=["masters", "other-group", "other-signer"],
)
async def test_certificate_subject_restriction(obj: dict[str, Any], refused: bool) -> None:
    request = attributes(obj, resource="certificatesigningrequests", kind="CertificateSigningRequest",
                         group="certificates.k8s.io", namespace="")
    plugin = CertificateSubjectRestriction(FakeContext())
    if not refused:
        await plugin.validate(request)
        return
    with pytest.raises(ApiError) as caught:
        await plugin.validate(request)
    assert caught.value.message == ('certificatesigningrequests.certificates.k8s.io "r" is forbidden: use of '
                                    "kubernetes.io/kube-apiserver-client signer with system:masters group is not "
                                    "allowed")
