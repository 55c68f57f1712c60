"""What the aggregator's proxy sends and answers: front-proxy headers, stripped credentials, path matching,
refused redirects and unavailable backends (kube-aggregator's handler_proxy.go)."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.aggregation.apiservices import APIServiceIndex
from apiserver.aggregation.proxy import (
    REDIRECT_REJECTED,
    AggregationProxy,
    _RedirectRefusal,
    header_key_escape,
    proxied_headers,
    remote_target,
)
from apiserver.aggregation.transport import ProxyClientCertificate, ProxyTLS
from apiserver.auth.user import UserInfo
from apiserver.http.request import set_user
from apiserver.webhookclient import ServiceResolver


@pytest.mark.parametrize(("key", "escaped"), [
    ("scopes", "scopes"),
    ("example.com/scopes", "example.com%2Fscopes"),
    ("100%", "100%25"),
    ("ünïcode", "%C3%BCn%C3%AFcode"),
    ("a b", "a%20b"),
], ids=["plain", "slash", "percent", "utf8", "space"])
def test_extra_keys_are_escaped_as_client_go_does(key: str, escaped: str) -> None:
    assert header_key_escape(key) == escaped


def test_credentials_and_identity_headers_are_replaced_by_the_users() -> None:
    incoming = [(b"accept", b"application/json"), (b"authorization", b"Bearer secret"),
                (b"X-Remote-User", b"mallory"), (b"x-remote-group", b"system:masters"),
                (b"X-Remote-Extra-Scopes", b"all"), (b"impersonate-user", b"root"), (b"user-agent", b"kubectl")]
    user = UserInfo("alice", groups=("devs", "system:authenticated"), extra={"example.com/scopes": ["read", "write"]})
    assert proxied_headers(incoming, user) == [
        (b"accept", b"application/json"), (b"user-agent", b"kubectl"), (b"x-remote-user", b"alice"),
        (b"x-remote-group", b"devs"), (b"x-remote-group", b"system:authenticated"),
        (b"x-remote-extra-example.com%2Fscopes", b"read"), (b"x-remote-extra-example.com%2Fscopes", b"write"),
    ]


def _index(*, available: bool = True) -> APIServiceIndex:
    index = APIServiceIndex()
    conditions = [{"type": "Available", "status": "True" if available else "False"}]
    index.observe("ADDED", {"metadata": {"name": "v1alpha1.wardle.example.com"},
                            "spec": {"group": "wardle.example.com", "version": "v1alpha1",
                                     "service": {"namespace": "wardle", "name": "api", "port": 443},
                                     "groupPriorityMinimum": 1000, "versionPriority": 15},
                            "status": {"conditions": conditions}})
    index.observe("ADDED", {"metadata": {"name": "v1.apps"}, "spec": {"group": "apps", "version": "v1"}})
    return index


@pytest.mark.parametrize(("path", "remote"), [
    ("/apis/wardle.example.com/v1alpha1", True),
    ("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders/x", True),
    ("/apis/wardle.example.com", False),
    ("/apis/wardle.example.com/v1beta1", False),
    ("/apis/apps/v1/deployments", False),
    ("/api/v1/pods", False),
], ids=["version", "object", "group", "other-version", "local", "core"])
def test_only_paths_of_remote_group_versions_are_proxied(path: str, remote: bool) -> None:
    assert (remote_target(path, _index()) is not None) is remote


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


async def _never_called(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the local handlers must not see a remote APIService's request")


class _NoObjects:
    async def get(self, namespace: str, name: str) -> None:
        return None


def _proxy(index: APIServiceIndex) -> AggregationProxy:
    resolver = ServiceResolver(_NoObjects(), _NoObjects(), endpoint_routing=True)
    return AggregationProxy(_never_called, index=index, resolver=resolver,
                            tls=ProxyTLS(ProxyClientCertificate(None, None)))


def _scope(path: str) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    set_user(scope, UserInfo("alice"))
    return scope


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


@pytest.mark.parametrize("available", [False, True], ids=["unavailable", "unresolvable"])
async def test_unavailable_or_unresolvable_backends_answer_service_unavailable(available: bool) -> None:
    send = _Recorder()
    await _proxy(_index(available=available))(_scope("/apis/wardle.example.com/v1alpha1/flunders"), _receive, send)
    assert send.messages[0]["status"] == 503
    assert send.messages[1]["body"] == b"service unavailable\n"


async def test_local_group_versions_go_to_the_local_handlers() -> None:
    seen: list[str] = []

    async def local(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])

    resolver = ServiceResolver(_NoObjects(), _NoObjects(), endpoint_routing=True)
    proxy = AggregationProxy(local, index=_index(), resolver=resolver,
                             tls=ProxyTLS(ProxyClientCertificate(None, None)))
    await proxy(_scope("/apis/apps/v1/deployments"), _receive, _Recorder())
    assert seen == ["/apis/apps/v1/deployments"]


async def test_redirects_from_the_backend_are_refused() -> None:
    send = _Recorder()
    refusal = _RedirectRefusal(send)
    await refusal({"type": "http.response.start", "status": 302, "headers": [(b"location", b"https://elsewhere/")]})
    await refusal({"type": "http.response.body", "body": b"moved", "more_body": False})
    assert send.messages[0]["status"] == 502
    assert send.messages[1]["body"] == REDIRECT_REJECTED.encode()
    assert len(send.messages) == 2


async def test_other_answers_pass_the_redirect_refusal_untouched() -> None:
    send = _Recorder()
    refusal = _RedirectRefusal(send)
    start = {"type": "http.response.start", "status": 304, "headers": []}
    await refusal(start)
    await refusal({"type": "http.response.body", "body": b"", "more_body": False})
    assert send.messages[0] is start and len(send.messages) == 2
