"""Raw HTTPS requests, as curl sends them: exact Status bodies, and bad input that changes nothing."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def request(server: ServerProcess, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return server.request(method, path, client_cert=True, body=body, headers=headers)


def failure(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason}
    if details is not None:
        status["details"] = details
    status["code"] = code
    return json.dumps(status, separators=(",", ":")).encode() + b"\n"


def configmap_names(server: ServerProcess, namespace: str = "default") -> list[str]:
    status, _, body = request(server, "GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert status == 200
    return [item["metadata"]["name"] for item in json.loads(body)["items"]]


def test_not_found_is_upstreams_exact_status_body(server: ServerProcess) -> None:
    status, headers, body = request(server, "GET", f"{CONFIGMAPS}/missing")
    assert (status, headers["content-type"]) == (404, "application/json")
    assert body == failure(404, "NotFound", 'configmaps "missing" not found', {"name": "missing", "kind": "configmaps"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"metadata":{"name":"broken"}', "the object provided is unrecognized (must be of type ConfigMap): "
         "couldn't get version/kind; json parse error: unexpected end of JSON input "
         '({"metadata":{"name":"broken"})'),
        (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"broken"},"data":{"a":1}', None),
        (b"\x00\x01garbage", "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
         "version/kind; json parse error: invalid character '\\x00' looking for beginning of value "
         "(000167617262616765)"),
    ],
    ids=["truncated", "truncated-longer", "binary"],
)
def test_a_malformed_create_is_a_400_and_stores_nothing(
    server: ServerProcess, body: bytes, message: str | None
) -> None:
    before = configmap_names(server)
    status, _, answer = request(server, "POST", CONFIGMAPS, body, {"Content-Type": "application/json"})
    assert status == 400
    if message is not None:
        assert answer == failure(400, "BadRequest", message)
    # The root CA publisher may add its ConfigMap to the namespace meanwhile (a fresh server); nothing else appears.
    after = configmap_names(server)
    assert "broken" not in after and set(after) - set(before) <= {"kube-root-ca.crt"}


def test_a_body_over_3_mib_is_413_and_stores_nothing(server: ServerProcess) -> None:
    before = configmap_names(server)
    body = json.dumps({"metadata": {"name": "huge"}, "data": {"x": "y" * (3 * 1024 * 1024)}}).encode()
    status, _, answer = request(server, "POST", CONFIGMAPS, body, {"Content-Type": "application/json"})
    assert (status, answer) == (
        413, failure(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    )
    assert configmap_names(server) == before


def test_an_unknown_content_type_is_415(server: ServerProcess) -> None:
    status, _, answer = request(server, "POST", CONFIGMAPS, b"name: x", {"Content-Type": "text/plain"})
    assert status == 415
    assert json.loads(answer)["message"].startswith(
        "the body of the request was in an unknown format - accepted media types include: application/json, "
        "application/yaml"
    )


def test_curl_gets_indented_json(server: ServerProcess) -> None:
    status, _, body = request(server, "GET", f"{CONFIGMAPS}/missing", headers={"User-Agent": "curl/8.5.0"})
    assert status == 404
    assert body == json.dumps(json.loads(failure(404, "NotFound", 'configmaps "missing" not found',
                                                 {"name": "missing", "kind": "configmaps"})), indent=2).encode()


def test_yaml_in_and_out(server: ServerProcess) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yamled\ndata:\n  key: value\n"
    status, headers, answer = request(server, "POST", CONFIGMAPS, body,
                                      {"Content-Type": "application/yaml", "Accept": "application/yaml"})
    assert (status, headers["content-type"]) == (201, "application/yaml")
    assert answer.startswith(b"apiVersion: v1\ndata:\n  key: value\nkind: ConfigMap\nmetadata:\n")
    request(server, "DELETE", f"{CONFIGMAPS}/yamled")


def test_creating_in_a_missing_namespace_is_404(server: ServerProcess) -> None:
    status, _, answer = request(server, "POST", "/api/v1/namespaces/nowhere/configmaps", b'{"metadata":{"name":"a"}}')
    assert (status, answer) == (404, failure(404, "NotFound", 'namespaces "nowhere" not found',
                                             {"name": "nowhere", "kind": "namespaces"}))


def test_the_default_namespace_cannot_be_deleted(server: ServerProcess) -> None:
    status, _, answer = request(server, "DELETE", "/api/v1/namespaces/default")
    assert (status, answer) == (403, failure(403, "Forbidden",
                                             'namespaces "default" is forbidden: this namespace may not be deleted',
                                             {"name": "default", "kind": "namespaces"}))


def test_an_unknown_patch_type_is_415_listing_the_served_ones(server: ServerProcess) -> None:
    request(server, "POST", CONFIGMAPS, b'{"metadata":{"name":"patched"}}')
    status, _, answer = request(server, "PATCH", f"{CONFIGMAPS}/patched", b"{}",
                                {"Content-Type": "application/x-unknown-patch"})
    assert (status, answer) == (415, failure(
        415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types "
        "include: application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml"))
    request(server, "DELETE", f"{CONFIGMAPS}/patched")


def test_a_watch_streams_one_event_per_line_until_timeout_seconds(server: ServerProcess) -> None:
    request(server, "POST", "/api/v1/namespaces", b'{"metadata":{"name":"watched"}}')
    request(server, "POST", "/api/v1/namespaces/watched/configmaps", b'{"metadata":{"name":"one"}}')
    status, headers, body = request(server, "GET", "/api/v1/namespaces/watched/configmaps"
                                    "?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Done")
    assert (status, headers["content-type"], headers["transfer-encoding"]) == (200, "application/json", "chunked")
    lines = body.split(b"\n")
    assert lines[-1] == b""
    [event] = [json.loads(line) for line in lines[:-1]]
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "one")


def test_the_legacy_watch_path(server: ServerProcess) -> None:
    status, _, body = request(server, "GET", "/api/v1/watch/namespaces/kube-system?timeoutSeconds=1")
    assert status == 200
    [event] = [json.loads(line) for line in body.splitlines()]
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "kube-system")


def test_unknown_resources_and_groups_are_404(server: ServerProcess) -> None:
    status, _, body = request(server, "GET", "/api/v1/namespaces/default/widgets")
    assert (status, json.loads(body)["details"]) == (404, {})
    status, _, body = request(server, "GET", "/apis/example.com/v1/widgets")
    assert status == 404 and "details" not in json.loads(body)


def test_system_namespaces_exist_after_start(server: ServerProcess) -> None:
    _, _, body = request(server, "GET", "/api/v1/namespaces?labelSelector=")
    names = {item["metadata"]["name"] for item in json.loads(body)["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_a_quiet_watch_from_a_resource_version_answers_its_headers_at_once(server: ServerProcess) -> None:
    import http.client

    _, _, listed = request(server, "GET", "/api/v1/namespaces")
    resource_version = json.loads(listed)["metadata"]["resourceVersion"]
    connection = http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=server.ssl_context(client_cert=True), timeout=5
    )
    try:
        connection.request("GET", f"/api/v1/namespaces?watch=true&resourceVersion={resource_version}")
        response = connection.getresponse()  # times out if the headers wait for an event
        assert (response.status, response.getheader("Content-Type")) == (200, "application/json")
    finally:
        connection.close()
