"""Console sessions: who is logged in, with which credential, for how long.

The credential (a bearer token, or a verified client certificate chain without its key) lives only in the
server-side Django session (the console database); the browser holds an opaque session id in an HttpOnly,
Secure, SameSite=Strict cookie scoped to /console/. Every API call the console makes is made with that credential
through `apiserver.client.credentials`, so the API authenticates, authorizes, admits and audits it as the user.

Timeouts: `CONSOLE_SESSION_IDLE_TIMEOUT` seconds without a request, or `CONSOLE_SESSION_ABSOLUTE_TIMEOUT` seconds
after login, end the session (its row is deleted, not just ignored). Login rotates the session id (no fixation).
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from apiserver.client import loopback
from apiserver.client.client import ApiClient, Resource
from apiserver.client.credentials import BearerTokenTransport, ClientCertificateTransport, CredentialError
from apiserver.client.transports import Transport

SESSION_KEY = "console"
SELF_SUBJECT_REVIEWS = Resource("authentication.k8s.io", "v1", "selfsubjectreviews", namespaced=False)

TOKEN = "token"
CERTIFICATE = "certificate"


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The user the API says a credential belongs to (SelfSubjectReview's userInfo)."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) for a ServiceAccount user, else None."""
        parts = self.username.split(":")
        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
            return parts[2], parts[3]
        return None

    def to_json(self) -> dict[str, Any]:
        return {"username": self.username, "uid": self.uid, "groups": list(self.groups),
                "extra": {key: list(values) for key, values in self.extra.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConsoleUser:
        return cls(username=str(data.get("username") or ""), uid=str(data.get("uid") or ""),
                   groups=tuple(str(group) for group in data.get("groups") or ()),
                   extra={str(key): tuple(str(value) for value in values or ())
                          for key, values in (data.get("extra") or {}).items()})


@dataclass(frozen=True, slots=True)
class Credential:
    """A bearer token, or a client certificate chain (leaf first) already proven at login."""

    kind: str
    token: str = ""
    chain: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "token": self.token, "chain": list(self.chain)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Credential:
        return cls(kind=str(data.get("kind") or ""), token=str(data.get("token") or ""),
                   chain=tuple(str(pem) for pem in data.get("chain") or ()))

    def transport(self, client_address: str = "127.0.0.1") -> Transport:
        """A transport acting as this credential against the process's API app."""
        api = loopback.current()
        if self.kind == TOKEN:
            return BearerTokenTransport(api.app, self.token, client_address=client_address)
        if self.kind == CERTIFICATE:
            return ClientCertificateTransport(api.app, self.chain, api.client_cas, client_address=client_address)
        raise CredentialError(f"unknown credential kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A live session: the user, their credential, and an ApiClient acting as them."""

    user: ConsoleUser
    credential: Credential
    client: ApiClient
    transport: Transport
    logged_in_at: float


async def review_identity(client: ApiClient) -> ConsoleUser:
    """Who the API says the client's credential is (raises the ApiError, e.g. Unauthorized, otherwise)."""
    review = await client.create(SELF_SUBJECT_REVIEWS, {"apiVersion": "authentication.k8s.io/v1",
                                                         "kind": "SelfSubjectReview"})
    info = (review.get("status") or {}).get("userInfo") or {}
    return ConsoleUser.from_json(info)


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "127.0.0.1")


async def log_in(request: HttpRequest, credential: Credential, user: ConsoleUser) -> None:
    """Start a fresh session (new id) for `user` holding `credential`."""
    await request.session.aflush()  # drops any previous session and its row, and rotates the id
    now = time.time()
    await request.session.aset(SESSION_KEY, {"credential": credential.to_json(), "user": user.to_json(),
                                             "logged_in_at": now, "seen_at": now, "namespaces": []})


async def log_out(request: HttpRequest) -> None:
    await request.session.aflush()


async def current_session(request: HttpRequest) -> ConsoleSession | None:
    """The request's live session, or None (never logged in, timed out: then the session is destroyed)."""
    data = await request.session.aget(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    now = time.time()
    logged_in_at = float(data.get("logged_in_at") or 0)
    seen_at = float(data.get("seen_at") or 0)
    if (now - seen_at > settings.CONSOLE_SESSION_IDLE_TIMEOUT
            or now - logged_in_at > settings.CONSOLE_SESSION_ABSOLUTE_TIMEOUT):
        await request.session.aflush()
        return None
    try:
        credential = Credential.from_json(data.get("credential") or {})
        transport = credential.transport(client_address(request))
    except (CredentialError, loopback.NotInstalled):
        await request.session.aflush()
        return None
    await request.session.aset(SESSION_KEY, {**data, "seen_at": now})
    return ConsoleSession(user=ConsoleUser.from_json(data.get("user") or {}), credential=credential,
                          client=ApiClient(transport), transport=transport, logged_in_at=logged_in_at)


async def remembered_namespaces(request: HttpRequest) -> list[str]:
    """Namespaces this session has opened (hints for the accessible-namespaces list)."""
    data = await request.session.aget(SESSION_KEY) or {}
    return [str(name) for name in data.get("namespaces") or ()]


async def remember_namespace(request: HttpRequest, namespace: str, *, limit: int = 20) -> None:
    data = await request.session.aget(SESSION_KEY)
    if not isinstance(data, dict) or not namespace:
        return
    names = [namespace, *(name for name in data.get("namespaces") or () if name != namespace)][:limit]
    await request.session.aset(SESSION_KEY, {**data, "namespaces": names})
