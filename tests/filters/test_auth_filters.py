"""The security filters on their own: authentication, impersonation, in-flight limits and authorization."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from apiserver.auth.authn.anonymous import AnonymousAuthenticator
from apiserver.auth.authn.requestheader import headers_to_strip
from apiserver.auth.authn.tokens import BearerTokenAuthenticator, StaticTokenAuthenticator
from apiserver.auth.authn.union import RequestAuthenticator
from apiserver.auth.authz.interface import Attributes, AuthorizerError, Decision
from apiserver.auth.user import UserInfo
from apiserver.filters.chain import build_chain
from apiserver.filters.inflight import WithMaxInFlightLimit
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.http.asgi import Message, Receive, Scope, Send
from apiserver.http.request import set_user, user_of
from apiserver.http.responses import send_bytes
from tests.http.asgi_harness import Client, call, http_scope

ALICE = UserInfo("alice", groups=("devs",))
TOKENS = StaticTokenAuthenticator({"alice-token": ALICE, "root-token": UserInfo("root", groups=("system:masters",))})


class AllowOnly:
    """Allows exactly the (user, verb, resource or path) triples it was given."""

    def __init__(self, *allowed: tuple[str, str, str], error: bool = False) -> None:
        self.allowed = set(allowed)
        self.error = error
        self.asked: list[Attributes] = []

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        self.asked.append(attributes)
        if self.error:
            raise AuthorizerError("rule source unavailable")
        target = attributes.resource if attributes.is_resource_request else attributes.path
        if (attributes.user.name, attributes.verb, target) in self.allowed:
            return Decision.ALLOW, "allowed by test"
        return Decision.NO_OPINION, ""


def authenticator(*, anonymous: bool = True) -> RequestAuthenticator:
    return RequestAuthenticator([BearerTokenAuthenticator(TOKENS)],
                                anonymous=AnonymousAuthenticator() if anonymous else None)


class Recorder:
    """The innermost app: remembers the user and headers it saw and answers 200."""

    def __init__(self) -> None:
        self.users: list[UserInfo | None] = []
        self.headers: list[list[tuple[bytes, bytes]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.users.append(user_of(scope))
        self.headers.append(list(scope["headers"]))
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            return
        await send_bytes(send, 200, b"ok", content_type=b"text/plain")


def chain(app: Recorder, authorizer: AllowOnly, **options: object) -> object:
    return build_chain(app, authenticator=options.pop("authenticator", authenticator()),
                       strip_headers=headers_to_strip(None), authorizer=authorizer, **options)


def bearer(token: str) -> tuple[bytes, bytes]:
    return b"authorization", f"Bearer {token}".encode()


async def test_a_bad_token_is_401_and_never_reaches_the_handler() -> None:
    app = Recorder()
    response = await call(chain(app, AllowOnly()), method="GET", path="/api", headers=[bearer("wrong")])
    assert (response.status, response.body) == (401, (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
        b'"reason":"Unauthorized","code":401}\n'))
    assert app.users == []


async def test_credentials_and_front_proxy_headers_are_stripped_after_authentication() -> None:
    app = Recorder()
    headers = [bearer("alice-token"), (b"X-Remote-User", b"root"), (b"x-remote-extra-scope", b"x"),
               (b"accept", b"application/json")]
    response = await call(chain(app, AllowOnly(("alice", "get", "/api"))), method="GET", path="/api",
                          headers=headers)
    assert response.status == 200
    assert app.users == [UserInfo("alice", groups=("devs", "system:authenticated"))]
    assert app.headers == [[(b"accept", b"application/json")]]


async def test_no_credentials_is_anonymous_or_401_without_anonymous() -> None:
    app = Recorder()
    anonymous = await call(chain(app, AllowOnly(("system:anonymous", "get", "/livez"))), method="GET",
                           path="/livez")
    refused = await call(chain(app, AllowOnly(), authenticator=authenticator(anonymous=False)), method="GET",
                         path="/livez")
    assert (anonymous.status, refused.status) == (200, 401)
    assert app.users == [UserInfo("system:anonymous", groups=("system:unauthenticated",))]


async def test_forbidden_requests_get_upstreams_status_and_an_authorizer_error_is_500() -> None:
    app = Recorder()
    path = "/api/v1/namespaces/default/pods/p/log"
    forbidden = await call(chain(app, AllowOnly()), method="GET", path=path, headers=[bearer("alice-token")])
    assert forbidden.status == 403
    assert forbidden.body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"p\\" is '
        b'forbidden: User \\"alice\\" cannot get resource \\"pods/log\\" in API group \\"\\" in the namespace '
        b'\\"default\\"","reason":"Forbidden","details":{"name":"p","kind":"pods"},"code":403}\n')
    failed = await call(chain(app, AllowOnly(error=True)), method="GET", path="/api", headers=[bearer("alice-token")])
    assert (failed.status, failed.body) == (500, b'Internal Server Error: "/api": rule source unavailable\n')
    assert app.users == []


async def test_impersonation_needs_the_impersonate_verb_on_each_element() -> None:
    app = Recorder()
    authorizer = AllowOnly(("alice", "impersonate", "users"), ("bob", "get", "/api"))
    headers = [bearer("alice-token"), (b"impersonate-user", b"bob"), (b"impersonate-group", b"ops")]
    refused = await call(chain(app, authorizer), method="GET", path="/api", headers=headers)
    assert refused.status == 403
    assert b'groups \\"ops\\" is forbidden: User \\"alice\\" cannot impersonate resource \\"groups\\"' in refused.body
    authorizer.allowed.add(("alice", "impersonate", "groups"))
    allowed = await call(chain(app, authorizer), method="GET", path="/api", headers=headers)
    assert allowed.status == 200
    assert app.users == [UserInfo("bob", groups=("ops", "system:authenticated"))]
    assert app.headers == [[]]


async def test_websockets_are_authenticated_and_authorized_before_they_are_accepted() -> None:
    app = Recorder()
    authorizer = AllowOnly(("alice", "watch", "pods"))
    sent: list[Message] = []

    async def websocket(headers: Sequence[tuple[bytes, bytes]]) -> str:
        scope = {"type": "websocket", "path": "/api/v1/namespaces/n/pods", "query_string": b"watch=true",
                 "headers": list(headers), "raw_path": b"/api/v1/namespaces/n/pods"}
        messages = iter([{"type": "websocket.connect"}])

        async def receive() -> Message:
            return next(messages)

        async def send(message: Message) -> None:
            sent.append(message)

        await chain(app, authorizer)(scope, receive, send)  # type: ignore[operator]
        return str(sent.pop()["type"])

    assert await websocket([bearer("wrong")]) == "websocket.close"
    assert await websocket([]) == "websocket.close"  # anonymous may not watch pods
    assert await websocket([bearer("alice-token")]) == "websocket.accept"
    assert [attributes.verb for attributes in authorizer.asked] == ["watch", "watch"]


async def test_requests_over_the_inflight_limit_get_429_but_long_running_and_masters_do_not() -> None:
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send_bytes(send, 200, b"ok", content_type=b"text/plain")

    app = WithRequestInfo(WithMaxInFlightLimit(slow, max_requests_inflight=1, max_mutating_requests_inflight=1))
    first = asyncio.create_task(call(app, method="GET", path="/api/v1/pods"))
    await asyncio.sleep(0)
    rejected = await call(app, method="GET", path="/api/v1/namespaces")
    assert (rejected.status, rejected.body) == (429, b"Too many requests, please try again later.\n")
    assert (b"retry-after", b"1") in rejected.headers
    masters = http_scope("GET", "/api/v1/namespaces")

    async def as_root(scope: Scope, receive: Receive, send: Send) -> None:
        set_user(scope, UserInfo("root", groups=("system:masters",)))
        await app(scope, receive, send)

    root = asyncio.create_task(call(as_root, scope=masters, client=Client()))
    watch = asyncio.create_task(call(app, method="GET", path="/api/v1/pods", query=b"watch=true"))
    await asyncio.sleep(0.01)
    assert not root.done() and not watch.done()  # both got past the limit and wait in the handler
    release.set()
    assert [(await task).status for task in (first, root, watch)] == [200, 200, 200]


@pytest.mark.parametrize("limit", [-1])
def test_negative_inflight_limits_are_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        WithMaxInFlightLimit(Recorder(), max_requests_inflight=limit)
