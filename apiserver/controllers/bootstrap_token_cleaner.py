"""The bootstrap token cleaner: deletes bootstrap-token Secrets in kube-system once their `expiration` passes.

The shape of kube-controller-manager's pkg/controller/bootstrap/tokencleaner.go: events of Secrets of type
`bootstrap.kubernetes.io/token` in kube-system become keys; `reconcile` deletes an expired one (an unparseable
expiration counts as expired, as upstream's GetExpiration says) with a uid precondition, and requeues one that
expires later for exactly the time left. Runs as `system:serviceaccount:kube-system:token-cleaner`.
"""
from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import RequeueAfter
from apiserver.meta.errors import Conflict, NotFound
from apiserver.meta.objects import Clock, uid_of, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
SECRETS = Resource("", "v1", "secrets")
TOKEN_NAMESPACE = "kube-system"
BOOTSTRAP_TOKEN_TYPE = "bootstrap.kubernetes.io/token"
EXPIRATION_KEY = "expiration"


def expiration_of(secret: JSONDict) -> datetime | None:
    """The token's expiry; None without one. Raises ValueError when it cannot be read (treated as expired)."""
    encoded = (secret.get("data") or {}).get(EXPIRATION_KEY)
    if not encoded:
        return None
    try:
        text = base64.b64decode(str(encoded), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None
    if not text:
        return None
    # Go's time.RFC3339: a `T`, seconds, and a zone (Z or ±hh:mm).
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None or "T" not in text.upper():
        raise ValueError(f"not RFC 3339: {text!r}")
    return moment


class BootstrapTokenCleaner:
    name = "token-cleaner"
    workers = 1
    watches = (SECRETS,)

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._client: ApiClient | None = None
        self._secrets: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        meta = obj.get("metadata") or {}
        if event_type == "DELETED" or meta.get("namespace") != TOKEN_NAMESPACE:
            return []
        if obj.get("type") != BOOTSTRAP_TOKEN_TYPE:
            return []
        return [f"{TOKEN_NAMESPACE}/{meta.get('name') or ''}"]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._secrets = client, informers[SECRETS]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._secrets is not None
        secret = self._secrets.get(key)
        if secret is None or secret.get("type") != BOOTSTRAP_TOKEN_TYPE:
            return
        try:
            expiration = expiration_of(secret)
        except ValueError:
            expiration = self._clock()
        if expiration is None:
            return
        remaining = (expiration - self._clock()).total_seconds()
        if remaining > 0:
            raise RequeueAfter(remaining)
        options: JSONDict = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if uid_of(secret):
            options["preconditions"] = {"uid": uid_of(secret)}
        try:
            await self._client.delete(SECRETS, key.partition("/")[2], namespace=TOKEN_NAMESPACE, options=options)
        except (NotFound, Conflict):
            return
        logger.info("bootstrap_token_deleted", extra={"controller": self.name, "secret": key})
