"""The ServiceAccount plugin's mountable-secrets rule (`kubernetes.io/enforce-mountable-secrets`).

When a pod's ServiceAccount carries the annotation with a true value (Go's strconv.ParseBool), the pod may use
only the Secrets the account lists: secret volumes and env/envFrom references must name one of its `secrets`,
imagePullSecrets one of its `imagePullSecrets`. Ephemeral containers added through `pods/ephemeralcontainers`
are held to the same list. The first offending reference is reported with upstream v1.32's wording.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from apiserver.meta.objects import JSONDict

ENFORCE_ANNOTATION: Final = "kubernetes.io/enforce-mountable-secrets"
_GO_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_NOT_REFERENCED: Final = "is not allowed because service account {account} does not reference that secret"


def enforces_mountable_secrets(account: JSONDict) -> bool:
    annotations = (account.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(ENFORCE_ANNOTATION, "")) in _GO_TRUE


def _names(entries: Any) -> set[str]:
    return {str(entry.get("name") or "") for entry in entries or () if isinstance(entry, dict)}


def _container_references(label: str, containers: Any) -> Iterator[tuple[str, str]]:
    """(secret name, how upstream describes the reference) for env and envFrom of each container."""
    for container in containers or ():
        if not isinstance(container, dict):
            continue
        name = container.get("name") or ""
        for env in container.get("env") or ():
            reference = ((env or {}).get("valueFrom") or {}).get("secretKeyRef")
            if isinstance(reference, dict):
                secret = str(reference.get("name") or "")
                yield secret, f'{label} {name} with envVar {(env or {}).get("name") or ""} referencing ' \
                              f'secret.secretName="{secret}"'
        for source in container.get("envFrom") or ():
            reference = (source or {}).get("secretRef")
            if isinstance(reference, dict):
                secret = str(reference.get("name") or "")
                yield secret, f'{label} {name} with envFrom referencing secret.secretName="{secret}"'


def _pod_references(spec: JSONDict) -> Iterator[tuple[str, str]]:
    for volume in spec.get("volumes") or ():
        source = (volume or {}).get("secret") if isinstance(volume, dict) else None
        if isinstance(source, dict):
            secret = str(source.get("secretName") or "")
            yield secret, f'volume with secret.secretName="{secret}"'
    yield from _container_references("init container", spec.get("initContainers"))
    yield from _container_references("container", spec.get("containers"))


def mountable_secrets_problem(account: JSONDict, spec: JSONDict) -> str:
    """limitSecretReferences: the first reference the account does not allow, or ''."""
    account_name = (account.get("metadata") or {}).get("name") or ""
    mountable = _names(account.get("secrets"))
    for secret, described in _pod_references(spec):
        if secret not in mountable:
            return f"{described} {_NOT_REFERENCED.format(account=account_name)}"
    pull_secrets = _names(account.get("imagePullSecrets"))
    for index, reference in enumerate(spec.get("imagePullSecrets") or ()):
        name = str((reference or {}).get("name") or "") if isinstance(reference, dict) else ""
        if name not in pull_secrets:
            return (f'imagePullSecrets[{index}].name="{name}" is not allowed because service account '
                    f"{account_name} does not reference that imagePullSecret")
    return ""


def ephemeral_secrets_problem(account: JSONDict, spec: JSONDict) -> str:
    """limitEphemeralContainerSecretReferences: env/envFrom of ephemeral containers only."""
    account_name = (account.get("metadata") or {}).get("name") or ""
    mountable = _names(account.get("secrets"))
    for secret, described in _container_references("ephemeral container", spec.get("ephemeralContainers")):
        if secret not in mountable:
            return f"{described} {_NOT_REFERENCED.format(account=account_name)}"
    return ""
