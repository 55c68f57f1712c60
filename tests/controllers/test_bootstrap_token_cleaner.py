"""The bootstrap token cleaner: expired bootstrap-token Secrets in kube-system go, others stay."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.bootstrap_token_cleaner import SECRETS, BootstrapTokenCleaner, expiration_of
from apiserver.meta.objects import format_time, utc_now
from tests.controllers.test_namespace_lifecycle import gone
from tests.controllers.test_serviceaccounts import ADMIN, eventually
from tests.server.security_harness import in_memory_server

JSONDict = dict[str, Any]
TOKEN_TYPE = "bootstrap.kubernetes.io/token"


def token(name: str, expiration: str | None, *, namespace: str = "kube-system", kind: str = TOKEN_TYPE) -> JSONDict:
    data = {"token-id": "abcdef", "token-secret": "0123456789abcdef"}
    if expiration is not None:
        data["expiration"] = expiration
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"}, "type": kind,
            "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}}


@pytest.mark.parametrize(
    ("expiration", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T12:00:00+02:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        (None, None),
    ],
    ids=["utc", "offset", "none"],
)
def test_expiration_of(expiration: str | None, expected: datetime | None) -> None:
    assert expiration_of(token("t", expiration)) == expected


@pytest.mark.parametrize("expiration", ["tomorrow", "2026-03-01"], ids=["words", "date-only"])
def test_unreadable_expiration_raises(expiration: str) -> None:
    with pytest.raises(ValueError):
        expiration_of(token("t", expiration))


class _Secrets:
    def __init__(self, obj: JSONDict) -> None:
        self._obj = obj

    def get(self, key: str) -> JSONDict | None:
        return self._obj


async def test_token_expiring_later_is_requeued_for_exactly_the_time_left() -> None:
    cleaner = BootstrapTokenCleaner(clock=lambda: datetime(2026, 3, 1, 9, 59, 30, tzinfo=UTC))
    unused = ApiClient(None)  # type: ignore[arg-type]  # an unexpired token makes no call
    await cleaner.start(unused, {SECRETS: _Secrets(token("t", "2026-03-01T10:00:00Z"))})  # type: ignore[dict-item]
    with pytest.raises(RequeueAfter) as raised:
        await cleaner.reconcile("kube-system/t")
    assert raised.value.delay == 30


def test_only_bootstrap_tokens_in_kube_system_are_keys() -> None:
    cleaner = BootstrapTokenCleaner()
    assert cleaner.keys_for(SECRETS, "ADDED", token("t", None)) == ["kube-system/t"]
    assert cleaner.keys_for(SECRETS, "ADDED", token("t", None, namespace="default")) == []
    assert cleaner.keys_for(SECRETS, "ADDED", token("t", None, kind="Opaque")) == []


async def test_expired_tokens_are_deleted_and_others_kept(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        past = format_time(utc_now() - timedelta(minutes=1))
        future = format_time(utc_now() + timedelta(hours=1))
        cases = [token("bootstrap-token-aaaaaa", past), token("bootstrap-token-bbbbbb", future),
                 token("bootstrap-token-cccccc", None), token("bootstrap-token-dddddd", "garbage"),
                 token("bootstrap-token-eeeeee", past, namespace="default"), token("opaque", past, kind="Opaque")]
        for case in cases:
            body = {key: value for key, value in case.items() if key != "metadata"}
            body["metadata"] = {"name": case["metadata"]["name"]}
            await client.create(SECRETS, body, namespace=case["metadata"]["namespace"])
        await eventually(lambda: gone(client, SECRETS, "bootstrap-token-aaaaaa", "kube-system"))
        await eventually(lambda: gone(client, SECRETS, "bootstrap-token-dddddd", "kube-system"))
        for name, namespace in (("bootstrap-token-bbbbbb", "kube-system"), ("bootstrap-token-cccccc", "kube-system"),
                                ("bootstrap-token-eeeeee", "default"), ("opaque", "kube-system")):
            assert (await client.get(SECRETS, name, namespace=namespace))["metadata"]["name"] == name
