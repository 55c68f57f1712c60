"""The token controller: fills legacy `kubernetes.io/service-account-token` Secrets.

As kube-controller-manager's tokens_controller.go: a Secret of that type names its ServiceAccount in the
`kubernetes.io/service-account.name` annotation; the controller records the account's uid in
`kubernetes.io/service-account.uid` and fills `token` (a JWT with issuer `kubernetes/serviceaccount`, signed
with the server's ServiceAccount signing key), `ca.crt` (the cluster CA) and `namespace`. A Secret whose
ServiceAccount does not exist (or has another uid) is deleted, and so are the token Secrets of a deleted
ServiceAccount. Runs with the controller manager's own credential (`system:kube-controller-manager`), as
upstream's token controller does.
"""
from __future__ import annotations

import base64
import logging
from typing import Any

from apiserver.auth.authn.serviceaccount import legacy_claims
from apiserver.auth.jwt import TokenIssuer
from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer, object_key
from apiserver.controllers.base import CONTROLLER_MANAGER
from apiserver.meta.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
SECRETS = Resource("", "v1", "secrets")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
TOKEN_TYPE = "kubernetes.io/service-account-token"
NAME_ANNOTATION = "kubernetes.io/service-account.name"
UID_ANNOTATION = "kubernetes.io/service-account.uid"


def _meta(obj: JSONDict) -> JSONDict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _annotations(obj: JSONDict) -> JSONDict:
    return _meta(obj).get("annotations") or {}


class TokensController:
    """`issuer` signs with LEGACY_ISSUER; `root_ca` is the PEM written to `ca.crt`. Without an issuer (no
    signing key) nothing is filled."""

    name = "tokens-controller"
    workers = 1
    watches = (SECRETS, SERVICE_ACCOUNTS)
    user: UserInfo = CONTROLLER_MANAGER

    def __init__(self, issuer: TokenIssuer | None, root_ca: bytes) -> None:
        self._issuer = issuer
        self._root_ca = root_ca
        self._client: ApiClient | None = None
        self._secrets: Informer | None = None
        self._accounts: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if resource == SECRETS:
            return [object_key(obj)] if event_type != "DELETED" and obj.get("type") == TOKEN_TYPE else []
        if event_type != "DELETED" or self._secrets is None:
            return []
        namespace, name = _meta(obj).get("namespace"), _meta(obj).get("name")
        return [object_key(secret) for secret in self._secrets.items()
                if secret.get("type") == TOKEN_TYPE and _meta(secret).get("namespace") == namespace
                and _annotations(secret).get(NAME_ANNOTATION) == name]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._secrets, self._accounts = client, informers[SECRETS], informers[SERVICE_ACCOUNTS]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._secrets is not None
        secret = self._secrets.get(key)
        if secret is None or self._issuer is None or _meta(secret).get("deletionTimestamp"):
            return
        namespace = str(_meta(secret).get("namespace") or "")
        account = await self._service_account(namespace, str(_annotations(secret).get(NAME_ANNOTATION) or ""))
        expected_uid = _annotations(secret).get(UID_ANNOTATION)
        if account is None or (expected_uid and expected_uid != _meta(account).get("uid")):
            await self._delete(secret)
            return
        updated = self._filled(secret, account, namespace)
        if updated is None:
            return
        try:
            await self._client.update(SECRETS, updated, namespace=namespace)
        except NotFound:
            return
        except Conflict:
            raise  # retried with backoff against the newer Secret
        logger.info("token_secret_filled", extra={"controller": self.name, "secret": key})

    async def _service_account(self, namespace: str, name: str) -> JSONDict | None:
        assert self._client is not None and self._accounts is not None
        if not name:
            return None
        if (cached := self._accounts.get(f"{namespace}/{name}")) is not None:
            return cached
        try:  # the informer may not have seen a ServiceAccount created just before its Secret
            return await self._client.get(SERVICE_ACCOUNTS, name, namespace=namespace)
        except NotFound:
            return None

    async def _delete(self, secret: JSONDict) -> None:
        assert self._client is not None
        meta = _meta(secret)
        try:
            await self._client.delete(SECRETS, str(meta.get("name")), namespace=str(meta.get("namespace")),
                                      options={"preconditions": {"uid": meta.get("uid")}})
        except (NotFound, Conflict):
            return
        logger.info("token_secret_deleted", extra={"controller": self.name, "secret": object_key(secret)})

    def _filled(self, secret: JSONDict, account: JSONDict, namespace: str) -> JSONDict | None:
        """The Secret with whatever was missing filled in, or None when nothing was."""
        assert self._issuer is not None
        data = dict(secret.get("data") or {})
        annotations = dict(_annotations(secret))
        changed = False
        if annotations.get(UID_ANNOTATION) != _meta(account).get("uid"):
            annotations[UID_ANNOTATION] = _meta(account).get("uid")
            changed = True
        wanted = {"ca.crt": self._root_ca, "namespace": namespace.encode()}
        for field, value in wanted.items():
            if not data.get(field) and value:
                data[field] = base64.b64encode(value).decode()
                changed = True
        if not data.get("token"):
            token = self._issuer.issue(legacy_claims(account, secret))
            data["token"] = base64.b64encode(token.encode()).decode()
            changed = True
        if not changed:
            return None
        return {**secret, "metadata": {**_meta(secret), "annotations": annotations}, "data": data}
