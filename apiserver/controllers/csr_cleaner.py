"""The CSR cleaner: deletes CertificateSigningRequests that are done with, on upstream's deadlines.

kube-controller-manager's pkg/controller/certificates/cleaner deletes a CSR when it is approved and issued for more
than an hour (the Approved condition's lastUpdateTime), denied or failed for more than an hour (that condition's
lastUpdateTime), pending (no conditions) for more than 24 hours since creation, or approved and issued with a
certificate past its NotAfter. Upstream lists every CSR hourly; here each CSR is requeued for exactly the moment
its first deadline passes, so the outcome is the same, only not up to an hour late. Named `csrcleaner` as
upstream's controller is, it runs as `system:serviceaccount:kube-system:certificate-controller`, the credential
upstream gives it.
"""
from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import RequeueAfter, controller_user
from apiserver.meta.errors import Conflict, NotFound
from apiserver.meta.objects import Clock, parse_time, uid_of, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
CSRS = Resource("certificates.k8s.io", "v1", "certificatesigningrequests", namespaced=False)
APPROVED_EXPIRATION = timedelta(hours=1)
DENIED_EXPIRATION = timedelta(hours=1)
PENDING_EXPIRATION = timedelta(hours=24)
# Upstream's isOlderThan is strict: a CSR qualifies only once its age exceeds the period.
RESOLUTION = timedelta(microseconds=1)


def _time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(str(value))
    except ValueError:
        return None


def _certificate_not_after(csr: JSONDict) -> datetime | None:
    encoded = (csr.get("status") or {}).get("certificate")
    if not encoded:
        return None
    try:
        certificates = x509.load_pem_x509_certificates(base64.b64decode(str(encoded)))
    except (ValueError, binascii.Error):
        return None
    return certificates[0].not_valid_after_utc if certificates else None


def cleanup_deadline(csr: JSONDict) -> datetime | None:
    """The first moment past which the CSR is to be deleted, or None when no rule will ever apply."""
    status = csr.get("status") or {}
    conditions = status.get("conditions") or []
    issued = bool(status.get("certificate"))
    deadlines: list[datetime] = []
    if not conditions and (created := _time((csr.get("metadata") or {}).get("creationTimestamp"))):
        deadlines.append(created + PENDING_EXPIRATION)
    for condition in conditions:
        updated = _time(condition.get("lastUpdateTime"))
        kind = condition.get("type")
        if kind == "Approved" and issued:
            if updated is not None:
                deadlines.append(updated + APPROVED_EXPIRATION)
            if (not_after := _certificate_not_after(csr)) is not None:
                deadlines.append(not_after)
        elif kind in ("Denied", "Failed") and updated is not None:
            deadlines.append(updated + DENIED_EXPIRATION)
    return min(deadlines) + RESOLUTION if deadlines else None


class CSRCleanerController:
    name = "csrcleaner"
    user = controller_user("certificate-controller")
    workers = 1
    watches = (CSRS,)

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._client: ApiClient | None = None
        self._csrs: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        return [] if event_type == "DELETED" else [str((obj.get("metadata") or {}).get("name") or "")]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._csrs = client, informers[CSRS]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._csrs is not None
        csr = self._csrs.get(key)
        if csr is None or (deadline := cleanup_deadline(csr)) is None:
            return
        remaining = (deadline - self._clock()).total_seconds()
        if remaining > 0:
            raise RequeueAfter(remaining)
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid_of(csr)}}
        try:
            await self._client.delete(CSRS, key, options=options)
        except (NotFound, Conflict):
            return
        logger.info("csr_cleaned", extra={"controller": self.name, "csr": key})
