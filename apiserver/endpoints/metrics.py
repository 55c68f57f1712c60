"""`/metrics`: the Prometheus text exposition of a registry, served the way kube-apiserver v1.32 serves it.

- Always the text format 0.0.4, with the content type prometheus-client gives it
  (`text/plain; version=0.0.4; charset=utf-8`): kube-apiserver's handler does not enable OpenMetrics and answers
  that text format whatever the Accept header asks for.
- gzip-compressed when the client accepts gzip (Prometheus does), as promhttp does.
- Families sorted by name, none without samples, and no `_created` series (prometheus-client adds them to
  counters and histograms): what Go's client writes.
- GET and HEAD only (the server drops HEAD bodies); other methods get the 405 Status. Upstream's handler
  answers any method (and resets the metrics on DELETE when profiling is on); neither is reproduced.
- Only `/metrics` itself: a path below it gets the usual 404 Status.
- Formatting runs on a worker thread, since a large registry takes milliseconds to render.
"""
from __future__ import annotations

import asyncio
import copy
import gzip
from collections.abc import Iterable

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest, gzip_accepted
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import Request
from apiserver.http.responses import send_bytes, send_status
from apiserver.meta.errors import path_not_found, route_error

METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4.encode()


class _AsGoWritesIt(Collector):
    """The registry's families as Go's client gathers them.

    Sorted by name, without `<name>_created` samples, and without families that have no samples yet (a labelled
    metric before its first use).
    """

    def __init__(self, registry: Collector) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        families: list[Metric] = []
        for family in self._registry.collect():
            created = family.name + "_created"
            trimmed = copy.copy(family)
            trimmed.samples = [sample for sample in family.samples if sample.name != created]
            if trimmed.samples:
                families.append(trimmed)
        return sorted(families, key=_exposed_name)


def _exposed_name(family: Metric) -> str:
    """prometheus-client names a counter family without the `_total` its samples (and Go's family) carry."""
    return family.name + "_total" if family.type == "counter" else family.name


class MetricsEndpoint:
    """Serves `registry` at exactly `/metrics`."""

    def __init__(self, registry: Collector) -> None:
        self._source = _AsGoWritesIt(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.path != METRICS_PATH:
            return await send_status(send, path_not_found())
        if request.method not in ("GET", "HEAD"):
            return await send_status(send, route_error(405))
        compress = gzip_accepted(request.header("accept-encoding") or "")
        body = await asyncio.to_thread(self._render, compress)
        headers = [(b"content-encoding", b"gzip")] if compress else []
        await send_bytes(send, 200, body, content_type=CONTENT_TYPE, headers=headers)

    def _render(self, compress: bool) -> bytes:
        text = generate_latest(self._source)
        return gzip.compress(text) if compress else text


def metrics_app(registry: Collector) -> MetricsEndpoint:
    """The ASGI app for `/metrics` (route it at `/metrics`), e.g. `metrics_app(default_metrics().registry)`."""
    return MetricsEndpoint(registry)
