"""ServiceAccount: every pod runs as a ServiceAccount that exists, and gets its API token as a projected volume.

Upstream's plugin/pkg/admission/serviceaccount, on pod CREATE:
- a mirror pod (annotation `kubernetes.io/config.mirror`) is left as it is, but may reference no
  ServiceAccount, no Secret and no ServiceAccountToken or ClusterTrustBundle projection;
- otherwise `spec.serviceAccountName` defaults to `default`, and the ServiceAccount must exist: read from the
  cache, then live (the `default` one up to 10 times, 100-200 ms apart, since its controller may still be
  creating it), else Forbidden `error looking up service account <ns>/<name>: serviceaccount "<name>" not found`;
- unless the pod (first) or the ServiceAccount says `automountServiceAccountToken: false`, every container and
  init container without a mount at /var/run/secrets/kubernetes.io/serviceaccount mounts (read-only) a projected
  volume `kube-api-access-<5 random characters>` holding a bound token (3607 s), the cluster CA (ConfigMap
  kube-root-ca.crt) and the namespace;
- a pod without imagePullSecrets gets the ServiceAccount's;
- an account annotated `kubernetes.io/enforce-mountable-secrets: "true"` limits the pod's secret references to
  the ones it lists (mountable_secrets.py), on create and for ephemeral containers added later.
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.plugins.mountable_secrets import (
    enforces_mountable_secrets,
    ephemeral_secrets_problem,
    mountable_secrets_problem,
)
from apiserver.meta.errors import NotFound
from apiserver.meta.objects import JSONDict

DEFAULT_SERVICE_ACCOUNT = "default"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# serviceaccount.WarnOnlyBoundTokenExpirationSeconds: an hour plus 7 s, so kubelets refresh before expiry.
TOKEN_EXPIRATION_SECONDS = 3607
DEFAULT_MODE = 0o644
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand alphabet (no vowels, no 0/1/3)
DEFAULT_ACCOUNT_ATTEMPTS = 10


def random_suffix() -> str:
    return "".join(random.choice(_NAME_ALPHABET) for _ in range(5))


def token_volume_source() -> JSONDict:
    """The projected source of the API access volume, as upstream writes it (defaultMode explicit)."""
    return {
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "metadata.namespace"}}]}},
        ],
        "defaultMode": DEFAULT_MODE,
    }


class ServiceAccount:
    name = "ServiceAccount"

    def __init__(self, context: PluginContext, *, suffix: Callable[[], str] = random_suffix,
                 retry_interval: Callable[[], float] = lambda: random.uniform(0.1, 0.2)) -> None:
        self._context = context
        self._suffix = suffix
        self._retry_interval = retry_interval

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        pod = _pod(attributes)
        if pod is None or _is_mirror(pod):
            return
        spec = pod.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
        account = await self._account(attributes, str(spec["serviceAccountName"]))
        if _should_automount(account, spec):
            self._mount_token(spec)
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": secret.get("name", "")} for secret in account["imagePullSecrets"]
                                        if isinstance(secret, dict)]

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if _is_ephemeral_update(attributes):
            await self._validate_ephemeral(attributes)
            return
        pod = _pod(attributes)
        if pod is None:
            return
        spec = pod.get("spec") or {}
        if _is_mirror(pod):
            if problem := _mirror_problem(spec):
                raise forbidden(attributes, problem)
            return
        name = str(spec.get("serviceAccountName") or "")
        if not name:
            pod_name = (pod.get("metadata") or {}).get("name") or ""
            raise forbidden(attributes, f"no service account specified for pod {attributes.namespace}/{pod_name}")
        account = await self._account(attributes, name)
        if enforces_mountable_secrets(account) and (problem := mountable_secrets_problem(account, spec)):
            raise forbidden(attributes, problem)

    async def _validate_ephemeral(self, attributes: AdmissionAttributes) -> None:
        pod = attributes.object
        assert isinstance(pod, dict)
        spec = pod.get("spec") or {}
        name = str(spec.get("serviceAccountName") or "")
        if not name:
            pod_name = (pod.get("metadata") or {}).get("name") or ""
            raise forbidden(attributes, f"no service account specified for pod {attributes.namespace}/{pod_name}")
        account = await self._account(attributes, name)
        if enforces_mountable_secrets(account) and (problem := ephemeral_secrets_problem(account, spec)):
            raise forbidden(attributes, problem)

    async def _account(self, attributes: AdmissionAttributes, name: str) -> JSONDict:
        namespace = attributes.namespace
        account = await self._context.objects("", "v1", "serviceaccounts").get(namespace, name)
        attempts = DEFAULT_ACCOUNT_ATTEMPTS if name == DEFAULT_SERVICE_ACCOUNT else 1
        for attempt in range(attempts if account is None else 0):
            if attempt:
                await asyncio.sleep(self._retry_interval())
            account = await self._context.live_objects("", "v1", "serviceaccounts").get(namespace, name)
            if account is not None:
                break
        if account is None:
            error = NotFound("serviceaccount", name)
            raise forbidden(attributes, f"error looking up service account {namespace}/{name}: {error.message}")
        return account

    def _mount_token(self, spec: JSONDict) -> None:
        volumes = [volume for volume in spec.get("volumes") or () if isinstance(volume, dict)]
        existing = next((str(volume.get("name")) for volume in volumes
                         if str(volume.get("name") or "").startswith(VOLUME_PREFIX)), "")
        volume_name = existing or VOLUME_PREFIX + self._suffix()
        mount = {"name": volume_name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
        needs_volume = False
        for field in ("initContainers", "containers"):
            for container in spec.get(field) or ():
                if not isinstance(container, dict):
                    continue
                mounts = container.setdefault("volumeMounts", [])
                if not any(isinstance(item, dict) and item.get("mountPath") == TOKEN_MOUNT_PATH for item in mounts):
                    mounts.append(dict(mount))
                    needs_volume = True
        if needs_volume and not existing:
            spec["volumes"] = [*volumes, {"name": volume_name, "projected": token_volume_source()}]


def _pod(attributes: AdmissionAttributes) -> JSONDict | None:
    """The pod of a pod CREATE (the only request the plugin looks at here)."""
    if attributes.group != "" or attributes.resource != "pods" or attributes.subresource:
        return None
    if attributes.operation is not Operation.CREATE or not isinstance(attributes.object, dict):
        return None
    return attributes.object


def _is_ephemeral_update(attributes: AdmissionAttributes) -> bool:
    return (attributes.group == "" and attributes.resource == "pods" and attributes.operation is Operation.UPDATE
            and attributes.subresource == "ephemeralcontainers" and isinstance(attributes.object, dict))


def _is_mirror(pod: JSONDict) -> bool:
    return MIRROR_POD_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def _should_automount(account: JSONDict, spec: JSONDict) -> bool:
    """The pod's choice first, then the ServiceAccount's; true when neither says."""
    for choice in (spec.get("automountServiceAccountToken"), account.get("automountServiceAccountToken")):
        if isinstance(choice, bool):
            return choice
    return True


def _mirror_problem(spec: JSONDict) -> str:
    if spec.get("serviceAccountName"):
        return "a mirror pod may not reference service accounts"
    if any(True for _ in secret_references(spec)):
        return "a mirror pod may not reference secrets"
    projections = [source for volume in spec.get("volumes") or () if isinstance(volume, dict)
                   for source in (volume.get("projected") or {}).get("sources") or () if isinstance(source, dict)]
    if any("serviceAccountToken" in source for source in projections):
        return "a mirror pod may not use ServiceAccountToken volume projections"
    if any("clusterTrustBundle" in source for source in projections):
        return "a mirror pod may not use ClusterTrustBundle projections"
    return ""


def secret_references(spec: JSONDict) -> Iterator[str]:
    """Names of the Secrets a pod spec references (podutil.VisitPodSecretNames, for the common sources)."""
    for secret in spec.get("imagePullSecrets") or ():
        yield str((secret or {}).get("name") or "")
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, dict):
            continue
        if "secret" in volume:
            yield str((volume["secret"] or {}).get("secretName") or "")
        for source in (volume.get("projected") or {}).get("sources") or ():
            if isinstance(source, dict) and "secret" in source:
                yield str((source["secret"] or {}).get("name") or "")
        for kind in ("azureFile", "cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "csi",
                     "storageos"):
            source = volume.get(kind)
            if isinstance(source, dict) and (source.get("secretName") or source.get("secretRef")
                                             or source.get("nodePublishSecretRef")):
                yield kind
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            if not isinstance(container, dict):
                continue
            for source in container.get("envFrom") or ():
                if isinstance(source, dict) and source.get("secretRef"):
                    yield str(source["secretRef"].get("name") or "")
            for env in container.get("env") or ():
                reference = ((env or {}).get("valueFrom") or {}).get("secretKeyRef")
                if isinstance(reference, dict):
                    yield str(reference.get("name") or "")
