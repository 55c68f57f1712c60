"""The console against an assembled in-memory server, through the real composition root, driven with httpx.

`ConsoleHarness` owns an in-memory API server (memory storage, generated PKI, a static token file, RBAC), the
root ASGI app `build_application` makes around it (so routing, the `/` redirect, security headers and the
loopback install are the production ones) and a browser-like httpx client per user (its own cookie jar).
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from apiserver.asgi import build_application
from apiserver.client import loopback
from tests.server.security_harness import InMemoryServer, eventually, in_memory_server

BASE = "https://testserver"
ORIGIN = {"Origin": BASE}
TOKENS = {"admin": "admin-token-0123456789", "viewer": "viewer-token-0123456789"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class ConsoleHarness:
    def __init__(self, server: InMemoryServer, app: Any, ca_file: Path) -> None:
        self.server = server
        self.app = app
        self.ca_file = ca_file

    def browser(self) -> httpx.AsyncClient:
        """A fresh browser: its own cookies, Accept like a browser's, no redirects followed."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app, client=("203.0.113.7", 50000)),
                                 base_url=BASE, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})

    async def login_page_token(self, browser: httpx.AsyncClient, path: str = "/console/login/") -> str:
        page = await browser.get(path)
        assert page.status_code == 200, page.text
        match = CSRF_INPUT.search(page.text)
        assert match, page.text
        return match.group(1)

    async def log_in(self, browser: httpx.AsyncClient, token: str, *, next_url: str = "") -> httpx.Response:
        csrf = await self.login_page_token(browser)
        return await browser.post("/console/login/", data={
            "csrfmiddlewaretoken": csrf, "method": "token", "token": token, "next": next_url}, headers=ORIGIN)

    async def upload(self, browser: httpx.AsyncClient, kubeconfig: bytes, context: str = "") -> httpx.Response:
        csrf = await self.login_page_token(browser)
        return await browser.post("/console/login/", data={
            "csrfmiddlewaretoken": csrf, "method": "kubeconfig", "context": context},
            files={"kubeconfig": ("config", kubeconfig, "application/octet-stream")}, headers=ORIGIN)

    async def api(self, method: str, path: str, body: object = None) -> Any:
        """An admin request straight to the API (client certificate), answering the decoded body."""
        answer = await self.server.request(method, path, body=body)
        assert answer.status < 300, answer.body
        return answer.json

    async def service_account_token(self, namespace: str, name: str) -> str:
        await self.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                       {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        answer = await self.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
        return str(answer["status"]["token"])

    async def namespace(self, name: str) -> None:
        await self.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": name}})

    async def grant_view(self, namespace: str, subject: dict[str, str], name: str = "view") -> None:
        await self.api("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [subject]})

    async def until_allowed(self, path: str, token: str) -> None:
        """RBAC reads the watch caches, a moment behind writes: wait until `token` may GET `path`."""
        await eventually(lambda: self.server.request("GET", path, user=None,
                                                     headers=[("Authorization", f"Bearer {token}")]), 200)


@asynccontextmanager
async def console_harness(tmp_path: Path) -> AsyncIterator[ConsoleHarness]:
    token_file = tmp_path / "tokens.csv"
    token_file.write_text(f'{TOKENS["admin"]},admin,uid-admin,"system:masters"\n'
                          f'{TOKENS["viewer"]},viewer,uid-viewer,\n')
    async with in_memory_server(tmp_path / "data", token_auth_file=str(token_file)) as server:
        ca_file = tmp_path / "data" / "pki" / "ca.crt"
        app = build_application(server.server.app, client_ca_file=ca_file)
        try:
            yield ConsoleHarness(server, app, ca_file)
        finally:
            loopback.uninstall()
