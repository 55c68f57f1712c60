"""WithAudit: the stages it emits, what it captures at each level, and the Audit-Id header on every response."""
from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiserver.audit.backend import LogBackend
from apiserver.audit.events import AuditEvent, add_annotation, event_to_dict, log_impersonated_user
from apiserver.audit.policy import AuditPolicy, parse_policy
from apiserver.filters.audit import WithAudit, WithAuditID, WithFailedAuthenticationAudit
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.request import Request
from apiserver.http.responses import send_json, send_plain_error
from apiserver.meta.errors import NotFound, Unauthorized
from tests.audit import User
from tests.http.asgi_harness import Client, call, http_scope

ALICE = User("alice", uid="1", groups=("devs", "system:authenticated"))
SECRET_VALUE = base64.b64encode(b"correct horse battery staple").decode()


class RecordingBackend:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def process(self, event: AuditEvent) -> None:
        self.events.append(event)

    @property
    def stages(self) -> list[str]:
        return [str(event.stage) for event in self.events]

    def rendered(self, index: int = -1) -> dict[str, Any]:
        return event_to_dict(self.events[index])


def policy(level: str, omit_stages: str = "[]") -> AuditPolicy:
    return parse_policy(f"apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: {omit_stages}\n"
                        f"rules: [{{level: {level}}}]")


def user_of(scope: Scope) -> User | None:
    user: User | None = scope.get("state", {}).get("test.user")
    return user


def chain(app: ASGIApp, audit_policy: AuditPolicy | None, backend: RecordingBackend | LogBackend | None) -> ASGIApp:
    audited = WithAudit(app, policy=audit_policy, backend=backend, user_of=user_of)

    async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["test.user"] = ALICE
        await audited(scope, receive, send)

    return WithRequestInfo(authenticated)


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 200, {"kind": "Pod", "metadata": {"name": "p"}})


async def echo_created(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await send_json(send, 201, orjson.loads(body))


def header(response: Any, name: bytes) -> str:
    return dict(response.headers)[name].decode()


def json_post(path: str, obj: object) -> tuple[Scope, Client]:
    scope = http_scope("POST", path, headers=[(b"content-type", b"application/json"), (b"user-agent", b"kubectl")])
    return scope, Client([orjson.dumps(obj)])


# The Audit-Id header


async def test_every_response_carries_a_new_audit_id_even_without_a_policy() -> None:
    response = await call(chain(ok, None, None), method="GET", path="/api/v1/namespaces/ns/pods/p")
    assert uuid.UUID(header(response, b"audit-id"))


async def test_a_client_supplied_audit_id_is_kept() -> None:
    backend = RecordingBackend()
    scope = http_scope("GET", "/api/v1/namespaces/ns/pods/p", headers=[(b"audit-id", b"trace-7")])
    response = await call(chain(ok, policy("Metadata"), backend), scope)
    assert header(response, b"audit-id") == "trace-7"
    assert {event.audit_id for event in backend.events} == {"trace-7"}


# Stages


async def test_a_request_is_audited_when_received_and_when_complete() -> None:
    backend = RecordingBackend()
    response = await call(chain(ok, policy("Metadata"), backend), method="GET", path="/api/v1/namespaces/ns/pods/p")
    assert backend.stages == ["RequestReceived", "ResponseComplete"]
    complete = backend.rendered()
    assert complete["auditID"] == header(response, b"audit-id")
    assert complete["user"] == {"username": "alice", "uid": "1", "groups": ["devs", "system:authenticated"]}
    assert (complete["verb"], complete["sourceIPs"], complete["responseStatus"]) == (
        "get", ["127.0.0.1"], {"metadata": {}, "code": 200})
    assert complete["objectRef"] == {"resource": "pods", "namespace": "ns", "name": "p", "apiVersion": "v1"}
    assert "responseObject" not in complete


async def test_omitted_stages_are_not_emitted() -> None:
    backend = RecordingBackend()
    await call(chain(ok, policy("Metadata", "[RequestReceived]"), backend), method="GET", path="/api/v1/pods")
    assert backend.stages == ["ResponseComplete"]


async def test_level_none_emits_nothing() -> None:
    backend = RecordingBackend()
    response = await call(chain(ok, policy("None"), backend), method="GET", path="/api/v1/pods")
    assert backend.events == [] and header(response, b"audit-id")


async def test_long_running_requests_also_report_when_their_response_starts() -> None:
    backend = RecordingBackend()
    seen_while_streaming: list[str] = []

    async def watch(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        seen_while_streaming.extend(backend.stages)
        await send({"type": "http.response.body", "body": b'{"type":"ADDED"}\n', "more_body": False})

    await call(chain(watch, policy("RequestResponse"), backend), method="GET", path="/api/v1/pods",
               query=b"watch=1")
    assert seen_while_streaming == ["RequestReceived", "ResponseStarted"]
    assert backend.stages == ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    assert "responseObject" not in backend.rendered()


async def test_a_panic_is_recorded_and_passed_on() -> None:
    backend = RecordingBackend()

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await call(chain(broken, policy("Metadata"), backend), method="GET", path="/api/v1/pods")
    assert backend.stages == ["RequestReceived", "Panic"]
    assert backend.rendered()["responseStatus"] == {
        "metadata": {}, "status": "Failure", "message": "APIServer panic'd: boom", "reason": "InternalError",
        "code": 500,
    }


async def test_an_api_error_is_answered_with_its_audit_id_and_recorded() -> None:
    backend = RecordingBackend()

    async def missing(scope: Scope, receive: Receive, send: Send) -> None:
        raise NotFound("pods", "p")

    app = chain(missing, policy("Metadata"), backend)
    response = await call(app, method="GET", path="/api/v1/namespaces/ns/pods/p")
    assert response.status == 404 and header(response, b"audit-id") == backend.events[-1].audit_id
    assert backend.rendered()["responseStatus"] == {
        "metadata": {}, "status": "Failure", "message": 'pods "p" not found', "reason": "NotFound",
        "details": {"name": "p", "kind": "pods"}, "code": 404,
    }


async def test_a_request_that_sends_nothing_closed_early() -> None:
    backend = RecordingBackend()

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    await call(chain(silent, policy("Metadata"), backend), method="GET", path="/api/v1/pods")
    assert backend.rendered()["responseStatus"] == {
        "metadata": {}, "status": "Success", "message": "Connection closed early", "code": 200,
    }


# What is captured


async def test_the_request_level_records_the_request_object() -> None:
    backend = RecordingBackend()
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    scope, client = json_post("/api/v1/namespaces/ns/configmaps", configmap)
    await call(chain(echo_created, policy("Request"), backend), scope, client)
    complete = backend.rendered()
    assert complete["requestObject"] == configmap and "responseObject" not in complete
    assert complete["objectRef"]["name"] == "c"


async def test_the_metadata_level_names_the_created_object_without_recording_it() -> None:
    backend = RecordingBackend()
    scope, client = json_post("/api/v1/namespaces/ns/configmaps", {"kind": "ConfigMap", "metadata": {"name": "c"}})
    await call(chain(echo_created, policy("Metadata"), backend), scope, client)
    complete = backend.rendered()
    assert complete["objectRef"]["name"] == "c" and "requestObject" not in complete
    assert complete["userAgent"] == "kubectl"


async def test_annotations_and_impersonation_from_inner_filters_are_recorded() -> None:
    backend = RecordingBackend()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        log_impersonated_user(scope, User("bob", groups=("ops",)))
        add_annotation(scope, "authorization.k8s.io/decision", "allow")
        await ok(scope, receive, send)

    await call(chain(inner, policy("Metadata"), backend), method="GET", path="/api/v1/pods")
    complete = backend.rendered()
    assert complete["impersonatedUser"] == {"username": "bob", "groups": ["ops"]}
    assert complete["annotations"] == {"authorization.k8s.io/decision": "allow"}


async def test_a_secret_created_at_request_response_level_never_shows_its_data(tmp_path: Path) -> None:
    backend = LogBackend(str(tmp_path / "audit.log"))
    backend.start()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
              "data": {"password": SECRET_VALUE}, "stringData": {"token": "correct horse"}}
    scope, client = json_post("/api/v1/namespaces/ns/secrets", secret)
    try:
        response = await call(chain(echo_created, policy("RequestResponse"), backend), scope, client)
        assert backend.flush()
    finally:
        backend.close()
    assert SECRET_VALUE.encode() in response.body
    log = (tmp_path / "audit.log").read_bytes()
    assert SECRET_VALUE.encode() not in log and b"correct horse" not in log
    complete = orjson.loads(log.splitlines()[-1])
    assert complete["stage"] == "ResponseComplete"
    assert complete["requestObject"]["data"] == complete["responseObject"]["data"] == {"password": "REDACTED"}


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    await WithAudit(app, policy=policy("Metadata"), backend=RecordingBackend(), user_of=user_of)(
        {"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


# The chain as upstream orders it: audit ID outermost, failed-authentication audit around authentication


def full_chain(app: ASGIApp, backend: RecordingBackend, *, plain_401: bool = False) -> ASGIApp:
    audit_policy = policy("Metadata")
    audited = WithAudit(app, policy=audit_policy, backend=backend, user_of=user_of)

    async def authentication(scope: Scope, receive: Receive, send: Send) -> None:
        if Request(scope, receive).header("authorization") != "Bearer good":
            if plain_401:
                return await send_plain_error(send, 401, "Unauthorized")
            raise Unauthorized("Unauthorized")
        scope.setdefault("state", {})["test.user"] = ALICE
        await audited(scope, receive, send)

    failed = WithFailedAuthenticationAudit(authentication, policy=audit_policy, backend=backend)
    return WithRequestInfo(WithAuditID(failed))


def bearer(token: str) -> Scope:
    return http_scope("GET", "/api/v1/namespaces/ns/pods", headers=[(b"authorization", f"Bearer {token}".encode())])


async def test_the_audit_id_filter_labels_responses_sent_outside_the_audit_filter() -> None:
    backend = RecordingBackend()
    response = await call(full_chain(ok, backend), bearer("good"))
    assert backend.stages == ["RequestReceived", "ResponseComplete"]
    assert {event.audit_id for event in backend.events} == {header(response, b"audit-id")}


async def test_a_failed_authentication_is_audited_once_without_a_user() -> None:
    backend = RecordingBackend()
    response = await call(full_chain(ok, backend), bearer("forged"))
    assert response.status == 401 and uuid.UUID(header(response, b"audit-id"))
    assert backend.stages == ["ResponseStarted"]
    event = backend.rendered()
    assert event["user"] == {} and event["auditID"] == header(response, b"audit-id")
    assert event["responseStatus"] == {
        "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
    }


async def test_a_plain_401_is_audited_with_the_credentials_tried() -> None:
    backend = RecordingBackend()
    await call(full_chain(ok, backend, plain_401=True), bearer("forged"))
    assert backend.rendered()["responseStatus"] == {
        "metadata": {}, "message": "Authentication failed, attempted: bearer", "code": 401,
    }
