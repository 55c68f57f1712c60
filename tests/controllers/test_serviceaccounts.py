"""The ServiceAccounts and token controllers in a started server, observed through the API."""
from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from apiserver.meta.errors import NotFound
from tests.server.security_harness import eventually as security_eventually
from tests.server.security_harness import in_memory_server

ADMIN = UserInfo("admin", groups=("system:masters",))
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
SECRETS = Resource("", "v1", "secrets")


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            if result := await check():
                return result
        except NotFound:
            pass
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_every_namespace_gets_a_default_service_account(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        await eventually(lambda: client.get(SERVICE_ACCOUNTS, "default", namespace="kube-system"))
        await client.create(NAMESPACES, {"metadata": {"name": "fresh"}})
        await eventually(lambda: client.get(SERVICE_ACCOUNTS, "default", namespace="fresh"))
        await client.delete(SERVICE_ACCOUNTS, "default", namespace="fresh")
        recreated = await eventually(lambda: client.get(SERVICE_ACCOUNTS, "default", namespace="fresh"))
        assert recreated["metadata"]["name"] == "default"


async def test_token_secrets_are_filled_and_authenticate(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        account = await client.create(SERVICE_ACCOUNTS, {"metadata": {"name": "robot"}}, namespace="default")
        await client.create(SECRETS, {"metadata": {"name": "robot-token", "annotations": {
            "kubernetes.io/service-account.name": "robot"}}, "type": "kubernetes.io/service-account-token"},
            namespace="default")

        async def filled() -> dict[str, Any] | None:
            secret = await client.get(SECRETS, "robot-token", namespace="default")
            return secret if (secret.get("data") or {}).get("token") else None

        secret = await eventually(filled)
        assert base64.b64decode(secret["data"]["namespace"]) == b"default"
        assert base64.b64decode(secret["data"]["ca.crt"]) == (served.pki.directory / "ca.crt").read_bytes()
        assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == account["metadata"]["uid"]
        token = base64.b64decode(secret["data"]["token"]).decode()
        # The token authenticator reads Secrets from the cache, a moment behind the GET above (as upstream's).
        await security_eventually(lambda: served.request("GET", "/apis/authentication.k8s.io/v1", user=None,
                                                         headers=[("Authorization", f"Bearer {token}")]), 200)
        review = await served.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", user=None,
                                      headers=[("Authorization", f"Bearer {token}")],
                                      body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert review.json["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"


async def test_token_secret_of_a_missing_account_is_deleted(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        await client.create(SECRETS, {"metadata": {"name": "orphan", "annotations": {
            "kubernetes.io/service-account.name": "nobody"}}, "type": "kubernetes.io/service-account-token"},
            namespace="default")

        async def gone() -> bool:
            try:
                await client.get(SECRETS, "orphan", namespace="default")
            except NotFound:
                return True
            return False

        assert await eventually(gone)
        with pytest.raises(NotFound):
            await client.get(SECRETS, "orphan", namespace="default")
