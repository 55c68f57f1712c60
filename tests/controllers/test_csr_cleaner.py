"""The CSR cleaner: upstream's deadlines for approved/issued, denied, failed, pending and expired requests, and
the deletion of a request past its deadline in a started server."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.csr_cleaner import CSRS, CSRCleanerController, cleanup_deadline
from apiserver.meta.objects import format_time, utc_now
from tests.controllers.test_certificates import csr_object
from tests.controllers.test_namespace_lifecycle import gone
from tests.controllers.test_serviceaccounts import ADMIN, eventually
from tests.server.security_harness import in_memory_server

JSONDict = dict[str, Any]
CREATED = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
UPDATED = datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def certificate(not_after: datetime) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jane")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(CREATED - timedelta(days=1)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(Encoding.PEM)).decode()


def csr(*conditions: str, issued_until: datetime | None = None) -> JSONDict:
    status: JSONDict = {"conditions": [{"type": kind, "status": "True", "lastUpdateTime": format_time(UPDATED)}
                                       for kind in conditions]}
    if issued_until is not None:
        status["certificate"] = certificate(issued_until)
    return {"metadata": {"name": "c", "uid": "u1", "creationTimestamp": format_time(CREATED)}, "status": status}


@pytest.mark.parametrize(
    ("obj", "deadline"),
    [
        (csr(), CREATED + timedelta(hours=24)),
        (csr("Denied"), UPDATED + timedelta(hours=1)),
        (csr("Failed"), UPDATED + timedelta(hours=1)),
        (csr("Approved", issued_until=UPDATED + timedelta(days=30)), UPDATED + timedelta(hours=1)),
        (csr("Approved", issued_until=UPDATED + timedelta(minutes=5)), UPDATED + timedelta(minutes=5)),
        (csr("Approved"), None),
    ],
    ids=["pending-24h", "denied-1h", "failed-1h", "issued-1h", "certificate-expired-first", "approved-not-issued"],
)
def test_cleanup_deadline(obj: JSONDict, deadline: datetime | None) -> None:
    assert cleanup_deadline(obj) == (None if deadline is None else deadline + TICK)


class _CSRs:
    def __init__(self, obj: JSONDict) -> None:
        self._obj = obj

    def get(self, key: str) -> JSONDict | None:
        return self._obj if key == self._obj["metadata"]["name"] else None


async def test_csr_before_its_deadline_is_requeued_for_the_time_left() -> None:
    controller = CSRCleanerController(clock=lambda: UPDATED + timedelta(minutes=45))
    unused = ApiClient(None)  # type: ignore[arg-type]  # a CSR before its deadline makes no call
    await controller.start(unused, {CSRS: _CSRs(csr("Denied"))})  # type: ignore[dict-item]
    with pytest.raises(RequeueAfter) as raised:
        await controller.reconcile("c")
    assert raised.value.delay == pytest.approx(15 * 60, abs=1e-5)


def test_cleaner_acts_as_the_certificate_controller() -> None:
    assert CSRCleanerController.user.name == "system:serviceaccount:kube-system:certificate-controller"


async def test_denied_csr_past_its_deadline_is_deleted_and_a_fresh_one_kept(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        for name in ("old-denial", "fresh-denial"):
            await client.create(CSRS, csr_object(name, usages=["client auth"]))
        long_ago = format_time(utc_now() - timedelta(hours=2))
        for name, when in (("old-denial", long_ago), ("fresh-denial", None)):
            current = await client.get(CSRS, name)
            condition = {"type": "Denied", "status": "True", "reason": "Test", "message": "no"}
            if when:
                condition["lastUpdateTime"] = when
            current["status"] = {"conditions": [condition]}
            await client.update(CSRS, current, subresource="approval")
        await eventually(lambda: gone(client, CSRS, "old-denial"))
        assert (await client.get(CSRS, "fresh-denial"))["metadata"]["name"] == "fresh-denial"
