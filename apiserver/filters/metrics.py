"""Request metrics with kube-apiserver v1.32's names and labels, recorded by one filter just inside requestinfo.

Upstream instruments each route (InstrumentRouteFunc and InstrumentHandlerFunc in
k8s.io/apiserver/pkg/endpoints/metrics); this filter sees every request and gives it the labels its upstream route
would. Series: apiserver_request_total, apiserver_request_duration_seconds, apiserver_response_sizes,
apiserver_current_inflight_requests and apiserver_longrunning_requests.

Which requests are recorded, as upstream (which also keeps label values bounded):
- Resource requests for served resources. `served_resource` decides; without it every resource request counts.
- The non-resource paths upstream instruments: /healthz, /livez and /readyz (subresource: the path; component
  ""), /openapi/v3 and below (subresource `openapi/v3` or `openapi/v3/`; component ""), and aggregated discovery
  at /api and /apis (subresource: the path; component `apiserver`). Nothing else: not /version, /metrics, legacy
  discovery, /healthz/<check>, or paths nothing serves.

Labels:
- `verb`: the method, with GET and HEAD reported as LIST on collections; WATCH for `?watch` (any value but 0 or
  false, on GET) and for the legacy /watch/ paths; APPLY for a PATCH sent as `application/apply-patch+yaml`;
  CONNECT for the log, exec, attach, portforward and proxy subresources; `other` for anything else.
- `scope`: the route's. `resource` for paths naming an object and for creates, `namespace` for collections in a
  namespace, `cluster` for the rest; "" for non-resource requests.
- `dry_run`: "" without a dryRun parameter, `invalid` when a value is not `All`, else the sorted distinct values.
- `code`: the status sent. An exception that escapes before the response started is recorded with the status
  the panics filter will send for it (an ApiError's code, else 500; upstream does not record a panicking request
  at all). A request that ended without sending anything is recorded with code 0, as upstream.

Timing and counting: from entering this filter to the end of the response. Long-running requests are counted
and timed when they end, as upstream: a watch appears in apiserver_request_total when it closes, and its whole
duration goes into apiserver_request_duration_seconds (upstream's latency SLOs exclude WATCH and CONNECT for
that reason); while open it shows in apiserver_longrunning_requests. Response sizes are the body bytes of read
routes (gets, lists, `?watch` lists; not the legacy /watch/ paths or connections), as upstream.

apiserver_current_inflight_requests counts the requests that are not long-running, as the in-flight limits do
(upstream reports the highest count of the last second; this is the current count). apiserver_longrunning_requests
counts watches and connections with upstream's RecordLongRunning labels: scope from the object name (including
a `metadata.name` field selector), and no WATCH verb for the legacy /watch/ paths.

Requests the filters inside this one answer (authentication 401, authorization 403, in-flight 429, timeout 504)
are recorded with those codes; upstream records the 429s (and counts timeouts separately), not the 401s and 403s.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Gauge

from apiserver.filters.panics import PANIC_MESSAGE
from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.request import ClientDisconnected, Request, request_info_of
from apiserver.http.responses import encode_json
from apiserver.meta.errors import ApiError
from apiserver.meta.requestinfo import RequestInfo
from apiserver.observability.metrics import COMPONENT, ApiServerMetrics, RequestLabels, default_metrics

ServedResource = Callable[[RequestInfo], bool]

APPLY_PATCH = "application/apply-patch+yaml"
_AGGREGATED_DISCOVERY = "as=APIGroupDiscoveryList"
_REPORTED_VERBS = frozenset({
    "APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH", "POST", "PROXY", "PUT",
    "UPDATE", "WATCH", "WATCHLIST",
})
# Reported as CONNECT; all but `log` are served by connect routes (long-running gauge, no response size).
_CONNECT_SUBRESOURCES = frozenset({"log", "exec", "portforward", "attach", "proxy"})
_CONNECTER_SUBRESOURCES = frozenset({"exec", "portforward", "attach", "proxy"})
_HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
_PANIC_BODY_SIZE = len(PANIC_MESSAGE.encode()) + 1


class WithRequestMetrics:
    """Record every instrumented request into `metrics` (the process's `default_metrics()` unless given)."""

    def __init__(
        self, app: ASGIApp, *, metrics: ApiServerMetrics | None = None, served_resource: ServedResource | None = None
    ) -> None:
        self.app = app
        self._metrics = metrics if metrics is not None else default_metrics()
        self._served = served_resource

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        info = request_info_of(scope)
        request = Request(scope, receive)
        labels, sized, longrunning = self._labels(request, info)
        gauge = self._gauge(info, longrunning)
        response = _ResponseRecorder(send)
        if gauge is not None:
            gauge.inc()
        try:
            await self.app(scope, receive, response.send)
        except ClientDisconnected:
            raise
        except ApiError as error:
            response.failed_with(error.code, len(encode_json(error.to_status())) + 1)
            raise
        except Exception:
            response.failed_with(500, _PANIC_BODY_SIZE)
            raise
        finally:
            if gauge is not None:
                gauge.dec()
            if labels is not None:
                size = response.size if sized else None
                self._metrics.observe_request(labels, response.status, time.perf_counter() - start, size)

    def _labels(self, request: Request, info: RequestInfo) -> tuple[RequestLabels | None, bool, RequestLabels | None]:
        """The request's labels (None: not recorded), whether its size counts, and its long-running labels."""
        if not info.is_resource_request:
            return _non_resource_labels(request, info), True, None
        if self._served is not None and not self._served(info):
            return None, False, None
        labels, sized = _resource_labels(request, info)
        return labels, sized, _longrunning_labels(request, info)

    def _gauge(self, info: RequestInfo, longrunning: RequestLabels | None) -> Gauge | None:
        """Watches and connections are gauged as long-running; other long-running requests are not gauged."""
        if longrunning is not None:
            return self._metrics.longrunning_gauge(longrunning)
        if info.is_long_running:
            return None
        return self._metrics.inflight_gauge(mutating=info.is_mutating)


class _ResponseRecorder:
    """Passes messages on, noting the status and the body bytes sent."""

    __slots__ = ("_send", "size", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.size = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.size += len(message.get("body", b""))
        await self._send(message)

    def failed_with(self, status: int, size: int) -> None:
        """What the panics filter will send for an escaped exception, unless a response had already started."""
        if not self.status:
            self.status, self.size = status, size


def _resource_labels(request: Request, info: RequestInfo) -> tuple[RequestLabels, bool]:
    method = request.method.upper()
    scope = "resource" if len(info.parts) >= 2 or info.verb == "create" else _collection_scope(info)
    watch_route = info.verb == "watch" and _is_legacy_watch_path(info)
    verb = "WATCH" if watch_route else _reported_verb(request, method, scope, info)
    labels = RequestLabels(
        verb, _dry_run(request), info.api_group, info.api_version, info.resource, info.subresource, scope, COMPONENT
    )
    # Upstream sizes only its GET and LIST routes' responses.
    sized = method in ("GET", "HEAD") and not watch_route and info.subresource not in _CONNECTER_SUBRESOURCES
    return labels, sized


def _longrunning_labels(request: Request, info: RequestInfo) -> RequestLabels | None:
    """Upstream's RecordLongRunning labels, for watches and connections only."""
    if info.verb != "watch" and info.subresource not in _CONNECTER_SUBRESOURCES:
        return None
    scope = "resource" if info.name or info.verb == "create" else _collection_scope(info)
    verb = _reported_verb(request, request.method.upper(), scope, info)
    return RequestLabels(
        verb, "", info.api_group, info.api_version, info.resource, info.subresource, scope, COMPONENT
    )


def _non_resource_labels(request: Request, info: RequestInfo) -> RequestLabels | None:
    path = info.path
    if path in _HEALTH_PATHS:
        subresource, component = path, ""
    elif path == "/openapi/v3":
        subresource, component = "openapi/v3", ""
    elif path.startswith("/openapi/v3/"):
        subresource, component = "openapi/v3/", ""
    elif path in ("/api", "/apis") and _AGGREGATED_DISCOVERY in (request.header("accept") or ""):
        subresource, component = path, COMPONENT
    else:
        return None
    verb = _reported_verb(request, request.method.upper(), "", info)
    return RequestLabels(verb, _dry_run(request), "", "", "", subresource, "", component)


def _collection_scope(info: RequestInfo) -> str:
    return "namespace" if info.namespace else "cluster"


def _reported_verb(request: Request, method: str, scope: str, info: RequestInfo) -> str:
    """Upstream's CanonicalVerb, then CleanVerb, then the allow-list of reported verbs."""
    verb = method
    if method in ("GET", "HEAD"):
        verb = "GET" if scope in ("resource", "") else "LIST"
    if method == "GET" and _watch_requested(request):
        verb = "WATCH"
    elif method == "PATCH" and request.header("content-type") == APPLY_PATCH:
        verb = "APPLY"
    if info.is_resource_request and info.subresource in _CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    return verb if verb in _REPORTED_VERBS else "other"


def _watch_requested(request: Request) -> bool:
    """Convert_Slice_string_To_bool on the first `watch` value: only 0 and false (any case) are false."""
    if b"watch" not in request.scope.get("query_string", b""):
        return False
    values = request.query.get("watch", [])
    return bool(values) and values[0].lower() not in ("0", "false")


def _dry_run(request: Request) -> str:
    if b"dryRun" not in request.scope.get("query_string", b""):
        return ""
    values = request.query.get("dryRun", [])
    if any(value != "All" for value in values):
        return "invalid"
    return ",".join(sorted(set(values)))


def _is_legacy_watch_path(info: RequestInfo) -> bool:
    """`/api/v1/watch/...` or `/apis/<group>/<version>/watch/...` (not `?watch` on a list path)."""
    position = 2 if info.api_prefix == "api" else 3
    segments = info.path.strip("/").split("/", position + 1)
    return len(segments) > position and segments[position] == "watch"
