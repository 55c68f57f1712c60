"""The webhook client against a real HTTPS server: CA bundles, server names, timeouts, redirects, Go's errors."""
from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from apiserver.webhookclient import (
    ClientConfig,
    ServiceReference,
    ServiceResolver,
    ServiceUnavailableError,
    WebhookCallError,
    WebhookClient,
)
from apiserver.webhookclient.client import hostname_error_text
from tests.support.webhook_server import Recorded, Reply, WebhookServer


@pytest.fixture(scope="module")
def server() -> Iterator[WebhookServer]:
    with WebhookServer(dns_names=("hook.web.svc",)) as running:
        yield running


class Objects:
    def __init__(self, **objects: dict[str, Any]) -> None:
        self._objects = objects

    async def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(f"{namespace}/{name}")


def _service(port_name: str = "https", service_type: str = "ClusterIP") -> dict[str, Any]:
    return {"spec": {"type": service_type, "clusterIP": "10.96.0.20",
                     "ports": [{"name": port_name, "port": 443, "targetPort": 8443}]}}


def _endpoints(port: int, port_name: str = "https") -> dict[str, Any]:
    return {"subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": port_name, "port": port}]}]}


def _url_config(server: WebhookServer, path: str, *, timeout: float = 10, ca: bytes | None = None) -> ClientConfig:
    return ClientConfig(url=server.url(path), service=None, ca_bundle=server.ca_pem if ca is None else ca,
                        timeout_seconds=timeout)


async def test_post_by_url_sends_json_with_the_timeout_parameter(server: WebhookServer) -> None:
    server.routes["/echo"] = lambda recorded: {"seen": recorded.body}
    answer = await WebhookClient().post_json(_url_config(server, "/echo", timeout=2.5), {"hello": "world"})
    assert answer == {"seen": {"hello": "world"}}
    assert server.recorded("/echo")[-1].path == "/echo?timeout=3s"


async def test_post_to_a_service_dials_its_endpoint_and_checks_the_service_name(server: WebhookServer) -> None:
    server.routes["/svc"] = lambda recorded: {"host": recorded.headers.get("Host")}
    resolver = ServiceResolver(Objects(**{"web/hook": _service()}), Objects(**{"web/hook": _endpoints(server.port)}))
    config = ClientConfig(url=None, service=ServiceReference("web", "hook", "/svc", 443), ca_bundle=server.ca_pem)
    assert await WebhookClient(resolver).post_json(config, {}) == {"host": "hook.web.svc:443"}


async def test_a_service_certificate_without_the_service_name_is_refused(server: WebhookServer) -> None:
    resolver = ServiceResolver(Objects(**{"other/hook": _service()}),
                               Objects(**{"other/hook": _endpoints(server.port)}))
    config = ClientConfig(url=None, service=ServiceReference("other", "hook", "/svc"), ca_bundle=server.ca_pem)
    with pytest.raises(WebhookCallError) as caught:
        await WebhookClient(resolver).post_json(config, {})
    assert str(caught.value) == ('Post "https://hook.other.svc:443/svc?timeout=10s": tls: failed to verify '
                                 "certificate: x509: certificate is valid for localhost, hook.web.svc, not "
                                 "hook.other.svc")


async def test_an_unknown_ca_is_refused(server: WebhookServer) -> None:
    other = WebhookServer()
    with pytest.raises(WebhookCallError) as caught:
        await WebhookClient().post_json(_url_config(server, "/echo", ca=other.ca_pem), {})
    assert str(caught.value) == (f'Post "{server.url("/echo")}?timeout=10s": tls: failed to verify certificate: '
                                 "x509: certificate signed by unknown authority")


async def test_a_redirect_is_not_followed(server: WebhookServer) -> None:
    server.routes["/redirect"] = lambda recorded: Reply(302, b"", {"Location": server.url("/echo")})
    before = len(server.recorded("/echo"))
    with pytest.raises(WebhookCallError) as caught:
        await WebhookClient().post_json(_url_config(server, "/redirect"), {})
    assert str(caught.value) == "the server responded with the status code 302 but did not return more information"
    assert len(server.recorded("/echo")) == before


async def test_a_server_error_quotes_its_text(server: WebhookServer) -> None:
    server.routes["/boom"] = lambda recorded: Reply(500, b"boom\n", {"Content-Type": "text/plain"})
    with pytest.raises(WebhookCallError) as caught:
        await WebhookClient().post_json(_url_config(server, "/boom"), {})
    assert str(caught.value) == 'an error on the server ("boom") has prevented the request from succeeding'


async def test_a_slow_webhook_hits_the_deadline(server: WebhookServer) -> None:
    server.routes["/slow"] = lambda recorded: Reply(200, {}, delay=2.0)
    with pytest.raises(WebhookCallError) as caught:
        await WebhookClient().post_json(_url_config(server, "/slow", timeout=0.5), {})
    assert caught.value.timeout
    assert str(caught.value) == f'Post "{server.url("/slow")}?timeout=1s": context deadline exceeded'


async def test_a_closed_port_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ClientConfig(url=f"https://127.0.0.1:{port}/x", service=None, ca_bundle=b"")
    with pytest.raises(WebhookCallError) as caught:
        await WebhookClient().post_json(config, {})
    assert str(caught.value) == (f'Post "https://127.0.0.1:{port}/x?timeout=10s": dial tcp 127.0.0.1:{port}: '
                                 "connect: connection refused")


def test_client_config_from_a_stored_client_config() -> None:
    pem = b"-----BEGIN CERTIFICATE-----\n"
    config = ClientConfig.from_dict({"service": {"namespace": "a", "name": "b", "path": "/p"},
                                     "caBundle": base64.b64encode(pem).decode()}, timeout_seconds=3)
    assert config == ClientConfig(url=None, service=ServiceReference("a", "b", "/p", 443), ca_bundle=pem,
                                  timeout_seconds=3)


@pytest.mark.parametrize(
    ("services", "endpoints", "routing", "message"),
    [
        ({}, {}, True, 'service "hook" not found'),
        ({"web/hook": _service()}, {}, True, 'endpoints "hook" not found'),
        ({"web/hook": _service()}, {"web/hook": {"subsets": []}}, True,
         'no endpoints available for service "hook"'),
        ({"web/hook": _service()}, {"web/hook": _endpoints(1, "other")}, True,
         'no endpoints available for service "hook"'),
        ({"web/hook": {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}}, {}, True,
         'no service port 443 found for service "hook"'),
        ({"web/hook": _service(service_type="ExternalName")}, {}, True, 'unsupported service type "ExternalName"'),
        ({"web/hook": {"spec": {"clusterIP": "None", "ports": [{"port": 443}]}}}, {}, False,
         'cannot route to service with ClusterIP "None"'),
    ],
    ids=["no-service", "no-endpoints", "empty-endpoints", "no-port-name", "no-port", "external-name", "headless"],
)
async def test_resolver_errors(services: dict[str, Any], endpoints: dict[str, Any], routing: bool,
                               message: str) -> None:
    resolver = ServiceResolver(Objects(**services), Objects(**endpoints), endpoint_routing=routing)
    with pytest.raises(ServiceUnavailableError) as caught:
        await resolver.resolve("web", "hook", 443)
    assert str(caught.value) == message


async def test_cluster_routing_uses_the_cluster_ip() -> None:
    resolver = ServiceResolver(Objects(**{"web/hook": _service()}), Objects(), endpoint_routing=False)
    assert await resolver.resolve("web", "hook", 443) == ("10.96.0.20", 443)


def test_recorded_request_shape() -> None:
    assert Recorded("/p", {}, {"request": {"uid": "1"}}).request == {"uid": "1"}


def test_hostname_errors_name_what_the_certificate_is_valid_for(server: WebhookServer) -> None:
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", server.port)))
    assert hostname_error_text(der, "127.0.0.2") == "x509: certificate is valid for 127.0.0.1, not 127.0.0.2"
    assert hostname_error_text(der, "a.b.svc") == "x509: certificate is valid for localhost, hook.web.svc, not a.b.svc"
