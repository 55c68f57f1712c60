"""/version: upstream's version.Info document, and what kubectl and the Python client make of it."""
from __future__ import annotations

import asyncio
import json
import os
import pathlib

import kubernetes
import pytest

from apiserver.endpoints.health import PING, HealthRegistry
from apiserver.endpoints.router import build_router
from apiserver.endpoints.version import GIT_VERSION, KUBERNETES_VERSION, VersionEndpoint, build_version_info
from apiserver.filters.chain import build_chain
from apiserver.http.asgi import ASGIApp
from tests.http.asgi_harness import call, serve_over_http

FIXED_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0+pilothouse", "gitCommit": "abc", "gitTreeState": "clean",
    "buildDate": "2025-01-02T03:04:05Z", "goVersion": "cpython3.11.7", "compiler": "cpython",
    "platform": "linux/amd64",
}
FIXED_BODY = (
    b'{\n  "major": "1",\n  "minor": "32",\n  "gitVersion": "v1.32.0+pilothouse",\n  "gitCommit": "abc",\n'
    b'  "gitTreeState": "clean",\n  "buildDate": "2025-01-02T03:04:05Z",\n  "goVersion": "cpython3.11.7",\n'
    b'  "compiler": "cpython",\n  "platform": "linux/amd64"\n}'
)


def _status(code: int, reason: str, message: str) -> bytes:
    return (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"%s","reason":"%s",'
        b'"details":{},"code":%d}\n' % (message.encode(), reason.encode(), code)
    )


def test_version_info_has_upstreams_nine_string_fields_in_order() -> None:
    info = build_version_info()
    assert list(info) == [
        "major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform",
    ]
    assert all(isinstance(value, str) for value in info.values())
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "32", GIT_VERSION)
    assert GIT_VERSION.startswith(KUBERNETES_VERSION + "+") and KUBERNETES_VERSION.startswith("v1.32.")
    assert info["buildDate"] == "1970-01-01T00:00:00Z"
    assert info["compiler"] == "cpython" and info["goVersion"].startswith("cpython3.11")
    assert info["platform"].startswith("linux/")


def test_version_info_takes_build_facts() -> None:
    info = build_version_info(git_commit="abc", git_tree_state="dirty", build_date="2025-01-02T03:04:05Z")
    assert (info["gitCommit"], info["gitTreeState"], info["buildDate"]) == ("abc", "dirty", "2025-01-02T03:04:05Z")


@pytest.mark.parametrize("path", ["/version", "/version/"])
@pytest.mark.parametrize("accept", [b"application/json, */*", b"*/*", b"application/json", b"text/html, */*;q=0.1"])
async def test_get_version_is_indented_json_without_trailing_newline(path: str, accept: bytes) -> None:
    response = await call(VersionEndpoint(FIXED_INFO), method="GET", path=path, headers=[(b"accept", accept)])
    assert (response.status, response.body) == (200, FIXED_BODY)
    assert response.headers == [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(FIXED_BODY))]


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected_status", "expected_body"),
    [
        ("POST", "/version", [], 405,
         _status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")),
        ("HEAD", "/version", [], 405,
         _status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")),
        ("GET", "/version/extra", [], 404,
         _status(404, "NotFound", "the server could not find the requested resource")),
        ("GET", "/version", [(b"accept", b"text/html")], 406, _status(406, "NotAcceptable", "406: Not Acceptable")),
        ("GET", "/version", [(b"accept", b"application/*")], 406,
         _status(406, "NotAcceptable", "406: Not Acceptable")),
        ("GET", "/version", [(b"content-type", b"text/plain")], 415,
         _status(415, "UnsupportedMediaType", "415: Unsupported Media Type")),
    ],
    ids=["post", "head", "deeper-path", "accept-html", "accept-wildcard-subtype", "content-type-text"],
)
async def test_version_route_errors_are_go_restful_statuses(
    method: str, path: str, headers: list[tuple[bytes, bytes]], expected_status: int, expected_body: bytes
) -> None:
    response = await call(VersionEndpoint(FIXED_INFO), method=method, path=path, headers=headers)
    assert (response.status, response.body) == (expected_status, expected_body)


def _app_with_health() -> ASGIApp:
    registry = HealthRegistry()
    registry.register(PING)
    return build_chain(build_router(health=registry, version=build_version_info()))


async def _run(*args: str, home: pathlib.Path) -> tuple[int, str, str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_kubectl_dispatcher_runs_kubectl_1_32_and_parses_our_version(tmp_path: pathlib.Path) -> None:
    async with serve_over_http(_app_with_health()) as url:
        code, out, err = await _run("/usr/bin/kubectl", "--server", url, "version", "-o", "json", home=tmp_path)
        text_code, text, text_err = await _run("/usr/bin/kubectl", "--server", url, "version", home=tmp_path)
    assert code == 0, err
    document = json.loads(out)
    assert document["serverVersion"] == build_version_info()
    assert document["clientVersion"]["minor"].startswith("32")
    assert text_code == 0, text_err
    assert f"Server Version: {GIT_VERSION}" in text
    assert "WARNING" not in text_err


async def test_kubectl_get_raw_prints_health_verbatim(tmp_path: pathlib.Path) -> None:
    async with serve_over_http(_app_with_health()) as url:
        code, out, err = await _run(
            "/usr/lib/google-cloud-sdk/bin/kubectl.1.32", "--server", url, "get", "--raw", "/readyz?verbose",
            home=tmp_path,
        )
    assert code == 0, err
    assert out == "[+]ping ok\nreadyz check passed\n"


async def test_python_client_parses_our_version() -> None:
    async with serve_over_http(_app_with_health()) as url:
        configuration = kubernetes.client.Configuration(host=url)

        def get_code() -> object:
            with kubernetes.client.ApiClient(configuration) as api_client:
                return kubernetes.client.VersionApi(api_client).get_code()

        info = await asyncio.to_thread(get_code)
    assert info.git_version == GIT_VERSION  # type: ignore[attr-defined]
    assert (info.major, info.minor, info.platform) == ("1", "32", build_version_info()["platform"])  # type: ignore[attr-defined]
