"""TokenRequest and the kubeconfig of a ServiceAccount token.

A token comes from `POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token` (a TokenRequest) made as the
logged-in user; the server applies its own limits (at least 10 minutes, at most its maximum) and its messages are
shown as they are. The kubeconfig names the server by the URL the browser used (the console and the API share an
origin) and trusts the CA bundle of the namespace's `kube-root-ca.crt` ConfigMap, which the root CA publisher
keeps in every namespace, so it works with kubectl as downloaded.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import yaml

from apiserver.client.client import ApiClient, Resource

SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
CONFIG_MAPS = Resource("", "v1", "configmaps")
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expiration: str
    audiences: tuple[str, ...]


def token_request(audiences: list[str], expiration_seconds: int | None) -> dict[str, object]:
    spec: dict[str, object] = {}
    if audiences:
        spec["audiences"] = audiences
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


async def issue_token(client: ApiClient, namespace: str, name: str, audiences: list[str],
                      expiration_seconds: int | None) -> IssuedToken:
    """Raises the ApiError of a refusal (Forbidden, NotFound, Invalid expirationSeconds…)."""
    answer = await client.create(SERVICE_ACCOUNTS, token_request(audiences, expiration_seconds),
                                 namespace=namespace, name=name, subresource="token")
    status = answer.get("status") or {}
    spec = answer.get("spec") or {}
    return IssuedToken(str(status.get("token") or ""), str(status.get("expirationTimestamp") or ""),
                       tuple(str(audience) for audience in spec.get("audiences") or ()))


async def root_ca(client: ApiClient, namespace: str) -> str:
    """The namespace's CA bundle (PEM); raises the ApiError when the ConfigMap cannot be read."""
    config_map = await client.get(CONFIG_MAPS, ROOT_CA_CONFIG_MAP, namespace=namespace)
    return str((config_map.get("data") or {}).get("ca.crt") or "")


def kubeconfig(server: str, ca_pem: str, namespace: str, name: str, token: str, cluster: str = "pilothouse") -> str:
    user = f"{namespace}-{name}"
    context = f"{user}@{cluster}"
    cluster_entry: dict[str, object] = {"server": server}
    if ca_pem:
        cluster_entry["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user, "namespace": namespace}}],
    }
    return yaml.safe_dump(config, sort_keys=False)
