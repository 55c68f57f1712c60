"""The proxy subresources: `pods/proxy`, `services/proxy` and `nodes/proxy`, as kube-apiserver's ProxyREST.

`/api/v1/namespaces/<ns>/pods/[<scheme>:]<name>[:<port>]/proxy[/<path>]` (and the services and nodes forms)
forwards the request to the location `proxy_location` resolves, with the rest of the path cleaned of `.`/`..`
(path.Join) and the query string unchanged, through `apiserver.http.forward` — as upstream's
UpgradeAwareHandler with its rewriting transport (k8s.io/apimachinery/pkg/util/proxy):

- `GET`/`HEAD` of `…/proxy` without a trailing slash answers 301 to `…/proxy/` (upstream's root-path redirect);
- the credential is not forwarded (`Authorization` and `Impersonate-*` are dropped, as the authentication and
  impersonation filters remove them upstream); `X-Forwarded-Uri` names the path the client asked for, and
  `X-Forwarded-For` gets the client's address;
- a backend's redirect is passed back, never followed; its `Location` is rewritten into the proxy path when it
  points at the backend itself (transport.go rewriteURL); CORS headers are removed from the answer;
- WebSocket upgrades are relayed;
- every proxied answer carries `Content-Security-Policy: sandbox`. Upstream adds no such header; it is ours, so
  that workload HTML never runs scripts in the API server's (and the console's) origin.

Links inside `text/html` answers are rewritten the same way (`proxy_html`).
"""
from __future__ import annotations

import dataclasses
import posixpath
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from apiserver.admission.interface import Operation
from apiserver.endpoints.proxy_html import html_body_rewriter
from apiserver.endpoints.proxy_location import (
    Getter,
    HostResolver,
    Location,
    node_location,
    pod_location,
    service_location,
)
from apiserver.http.asgi import Scope
from apiserver.http.forward import forward
from apiserver.http.request import request_info_of
from apiserver.meta.errors import BadRequest, route_error
from apiserver.meta.objects import JSONDict

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest

PROXY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
SANDBOX_HEADER = (b"content-security-policy", b"sandbox")
_CORS_HEADERS = frozenset({
    b"access-control-allow-credentials", b"access-control-allow-headers", b"access-control-allow-methods",
    b"access-control-allow-origin",
})
# Go's url.URL.EscapedPath leaves these unescaped in a path besides letters and digits.
_PATH_SAFE = "/$&+,:;=@-._~"


def insecure_tls_context() -> ssl.SSLContext:
    """kube-apiserver's proxy transport (and its kubelet client without --kubelet-certificate-authority): the
    backends are addressed by IP, so their certificates are not verified."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class ProxyConnect:
    """The handler of one `proxy` subresource (`resource` is pods, services or nodes).

    `allow_loopback` lets loopback addresses be targets (tests only). `kubelet_tls` is the TLS context for a
    node's kubelet port, `proxy_tls` the one for https pods, services and other node ports.
    """

    resource: str
    allow_loopback: bool = False
    resolve_host: HostResolver | None = None
    proxy_tls: ssl.SSLContext = field(default_factory=insecure_tls_context)
    kubelet_tls: ssl.SSLContext = field(default_factory=insecure_tls_context)

    async def __call__(self, resource: ResourceRequest) -> None:
        request = resource.request
        if request.method not in PROXY_METHODS:
            raise route_error(405)
        if "dryRun" in request.query:
            raise BadRequest.from_message("dryRun is not supported")
        request_path = request.path
        subpath = _subpath(resource)
        await _admit_connect(resource, _options_path(subpath, request_path.endswith("/")))
        location = await self._locate(resource)
        backend_path = proxied_path(subpath, request_path.endswith("/"))
        scope = request.scope
        if not backend_path and scope["type"] == "http" and request.method in ("GET", "HEAD"):
            await _redirect_to_root(resource, request_path)
            return
        prefix = _path_prepend(request_path, backend_path)
        escaped = quote(backend_path, safe=_PATH_SAFE)
        await forward(
            scope, resource.receive, resource.send,
            url=location.url(escaped, scope.get("query_string", b"").decode("latin-1")),
            headers=forwarded_request_headers(scope.get("headers", []), prefix, escaped),
            ssl_context=self.kubelet_tls if location.kubelet else self.proxy_tls,
            allow_upgrade=True, extra_response_headers=[SANDBOX_HEADER],
            rewrite_response_headers=_response_rewriter(location, _request_host(scope), prefix),
            rewrite_response_body=_body_rewriter(location, _request_host(scope), prefix),
        )

    async def _locate(self, resource: ResourceRequest) -> Location:
        name = resource.name
        if self.resource == "pods":
            return await pod_location(_getter(resource, "pods"), resource.namespace, name,
                                      allow_loopback=self.allow_loopback)
        if self.resource == "services":
            return await service_location(
                _getter(resource, "services"), _getter(resource, "endpoints"), _getter(resource, "pods"),
                resource.namespace, name, allow_loopback=self.allow_loopback,
            )
        return await node_location(_getter(resource, "nodes"), name, allow_loopback=self.allow_loopback,
                                   resolve_host=self.resolve_host)


def _getter(resource: ResourceRequest, plural: str) -> Getter:
    store = resource.server.registry().store_for("", "v1", plural)

    async def get(namespace: str, name: str) -> JSONDict:
        if store is None:
            raise route_error(404)
        return (await store.get(namespace, name)).obj

    return get


async def _admit_connect(resource: ResourceRequest, path: str) -> None:
    """Admission of a connect request, as upstream's ConnectResource: operation CONNECT on the options object
    (PodProxyOptions …), mutating plugins first, then validating ones."""
    subresource = resource.spec.subresource(resource.subresource)
    kind = subresource.kind if subresource is not None else f"{resource.spec.kind}ProxyOptions"
    options: JSONDict = {"kind": kind, "apiVersion": "v1"}
    if path:
        options["path"] = path
    attributes = dataclasses.replace(resource.attributes(Operation.CONNECT, options), kind=kind)
    await resource.server.admission.admit(attributes)
    await resource.server.admission.validate(attributes)


def _options_path(subpath: str, trailing_slash: bool) -> str:
    """The options' `path` as upstream's getRequestOptions sets it: rooted, uncleaned, with the trailing slash."""
    path = "/" + subpath if subpath and not subpath.startswith("/") else subpath
    return path + "/" if trailing_slash and not path.endswith("/") else path


def _subpath(resource: ResourceRequest) -> str:
    """The path after `proxy`, as upstream's getRequestOptions builds the options' `path`."""
    try:
        parts = request_info_of(resource.request.scope).parts
    except LookupError:
        parts = ()
    return "/".join(parts[3:])


def proxied_path(subpath: str, trailing_slash: bool) -> str:
    """Go's net.JoinPreservingTrailingSlash("", path): cleaned of `.`, `..` and doubled slashes, rooted, with
    the request's trailing slash kept; "" when there is no subpath."""
    if not subpath and not trailing_slash:
        return ""
    cleaned = posixpath.normpath("/" + subpath)
    cleaned = "/" + cleaned.lstrip("/")
    if (trailing_slash or subpath.endswith("/")) and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned


def _path_prepend(request_path: str, backend_path: str) -> str:
    """The request path before the backend's part: what `Location` rewriting and X-Forwarded-Uri prepend."""
    if backend_path and request_path.endswith(backend_path):
        return request_path[: len(request_path) - len(backend_path)]
    return request_path.rstrip("/") if not backend_path else request_path


def forwarded_request_headers(
    headers: Sequence[tuple[bytes, bytes]], prefix: str, escaped_path: str,
) -> list[tuple[bytes, bytes]]:
    """The client's headers without its credential and impersonation, with upstream's X-Forwarded-Uri."""
    kept = [
        (name, value) for name, value in headers
        if name.lower() not in (b"authorization", b"x-forwarded-uri") and not name.lower().startswith(b"impersonate-")
    ]
    forwarded_uri = posixpath.normpath(prefix + "/" + escaped_path.lstrip("/")) if escaped_path else prefix
    if escaped_path.endswith("/") and not forwarded_uri.endswith("/"):
        forwarded_uri += "/"
    return [*kept, (b"x-forwarded-uri", forwarded_uri.encode())]


def _request_host(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"host":
            return str(value.decode("latin-1"))
    return ""


def _response_rewriter(
    location: Location, request_host: str, prefix: str,
) -> Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]:
    def rewrite(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        result = []
        for name, value in headers:
            lowered = name.lower()
            if lowered in _CORS_HEADERS:
                continue
            if lowered == b"location":
                value = rewrite_location(value.decode("latin-1"), location.netloc, request_host, prefix).encode(
                    "latin-1")
            result.append((name, value))
        return result

    return rewrite


def _body_rewriter(
    location: Location, request_host: str, prefix: str,
) -> Callable[[Sequence[tuple[bytes, bytes]]], Callable[[bytes], bytes] | None]:
    def rewrite_url(url: str) -> str:
        return rewrite_location(url, location.netloc, request_host, prefix)

    return lambda headers: html_body_rewriter(headers, rewrite_url)


def rewrite_location(value: str, backend_netloc: str, request_host: str, prefix: str) -> str:
    """transport.go rewriteURL: a redirect to the backend itself (or to a path on it) goes through the proxy.

    A value that is not a URL is left as it is."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    different_host = bool(parts.netloc) and parts.netloc not in (backend_netloc, request_host)
    if different_host or not parts.path.startswith("/"):
        return value
    scheme, netloc = (parts.scheme, parts.netloc) if parts.netloc == request_host else ("", "")
    path = parts.path
    if not path.startswith(prefix):
        joined = posixpath.normpath(prefix + "/" + path.lstrip("/"))
        path = joined + "/" if path.endswith("/") and not joined.endswith("/") else joined
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


async def _redirect_to_root(resource: ResourceRequest, request_path: str) -> None:
    query = resource.request.scope.get("query_string", b"")
    location = request_path + "/" + ("?" + query.decode("latin-1") if query else "")
    await resource.send({
        "type": "http.response.start", "status": 301,
        "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
    })
    await resource.send({"type": "http.response.body", "body": b""})


def proxy_handlers(
    *, allow_loopback: bool = False, resolve_host: HostResolver | None = None,
) -> dict[tuple[str, str, str], ProxyConnect]:
    """The `proxy` connect handlers of pods, services and nodes, for `ResourceServer.connect`."""
    return {
        ("", plural, "proxy"): ProxyConnect(plural, allow_loopback=allow_loopback, resolve_host=resolve_host)
        for plural in ("pods", "services", "nodes")
    }
