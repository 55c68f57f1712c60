"""/version: the `version.Info` document, in the shape and order kube-apiserver v1.32 serves it.

kubectl, client-go and the Python client require all nine fields as strings. `/usr/bin/kubectl` (the gcloud
dispatcher) runs the kubectl whose minor version matches `minor`, so `major`/`minor` must say 1.32. The
`+pilothouse` build suffix is semver build metadata: kubectl and the dispatcher parse it like k3s's
`v1.32.0+k3s1` (checked against the real binaries). Fields that describe a Go build say what actually runs.

Upstream serves it through go-restful with one GET route that produces and consumes application/json, so
other methods get 405, an Accept without `application/json` or `*/*` gets 406, a Content-Type other than
application/json gets 415, and deeper paths 404, each as a Status with empty details. The body is written by
WriteRawJSON: indented by two spaces, without a trailing newline.
"""
from __future__ import annotations

import platform
import sys
from collections.abc import Mapping

from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import APPLICATION_JSON, encode_json, send_bytes, send_status
from apiserver.meta.errors import route_error

KUBERNETES_VERSION = "v1.32.0"
GIT_VERSION = f"{KUBERNETES_VERSION}+pilothouse"
# Upstream's value for a build without stamped build information.
UNSET_BUILD_DATE = "1970-01-01T00:00:00Z"

_GO_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386"}
_ROUTE_PATHS = ("/version", "/version/")


def build_version_info(
    *, git_commit: str = "", git_tree_state: str = "", build_date: str = UNSET_BUILD_DATE
) -> dict[str, str]:
    """The `version.Info` fields in upstream's order. `major.minor` always follows KUBERNETES_VERSION."""
    major, minor, _ = KUBERNETES_VERSION.removeprefix("v").split(".", 2)
    return {
        "major": major,
        "minor": minor,
        "gitVersion": GIT_VERSION,
        "gitCommit": git_commit,
        "gitTreeState": git_tree_state,
        "buildDate": build_date,
        "goVersion": f"{platform.python_implementation().lower()}{platform.python_version()}",
        "compiler": sys.implementation.name,
        "platform": _go_platform(),
    }


def _go_platform() -> str:
    """GOOS/GOARCH spelling of where the server runs, e.g. `linux/amd64`."""
    machine = platform.machine().lower()
    return f"{sys.platform.removesuffix('2')}/{_GO_ARCHITECTURES.get(machine, machine)}"


class VersionEndpoint:
    """The ASGI handler for `/version` and everything under it."""

    def __init__(self, info: Mapping[str, str]) -> None:
        self._body = encode_json(dict(info), indent=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] not in _ROUTE_PATHS:
            return await send_status(send, route_error(404))
        if scope["method"] != "GET":
            return await send_status(send, route_error(405))
        if not _consumes_json(_first_header(scope, b"content-type")):
            return await send_status(send, route_error(415, "415: Unsupported Media Type"))
        if not _produces_json(_first_header(scope, b"accept")):
            return await send_status(send, route_error(406, "406: Not Acceptable"))
        await send_bytes(send, 200, self._body, content_type=APPLICATION_JSON)


def _first_header(scope: Scope, name: bytes) -> bytes:
    return next((value for key, value in scope.get("headers", ()) if key.lower() == name), b"")


def _media_types(header: bytes) -> list[bytes]:
    return [part.split(b";", 1)[0].strip() for part in header.split(b",")]


def _consumes_json(content_type: bytes) -> bool:
    """go-restful's Consumes check; a GET without a Content-Type always passes."""
    return not content_type or APPLICATION_JSON in _media_types(content_type)


def _produces_json(accept: bytes) -> bool:
    """go-restful's Produces check: only `application/json` or `*/*` itself match (not `application/*`)."""
    return not accept or any(media in (APPLICATION_JSON, b"*/*") for media in _media_types(accept))
