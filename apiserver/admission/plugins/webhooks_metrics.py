"""Admission webhook metrics with upstream's names and labels (k8s.io/apiserver/pkg/admission/metrics).

- `apiserver_admission_webhook_admission_duration_seconds{name,type,operation,rejected}` and
  `apiserver_admission_webhook_request_total{name,type,operation,code,rejected}`: every call;
- `apiserver_admission_webhook_rejection_count{name,type,operation,error_type,rejection_code}`: every call that
  rejects the request: `no_error` with the webhook's code when it answered allowed=false, `calling_webhook_error`
  with the call error's code when the call failed under failurePolicy Fail, `apiserver_internal_error` with code 0
  when the server itself failed (dry-run refused, an invalid patch);
- `apiserver_admission_webhook_fail_open_count{name,type}`: every call failure that failurePolicy Ignore let pass.

`type` is `admit` for mutating webhooks and `validating` for validating ones, as upstream records them. Codes over
600 are written as 600, as upstream does. Labels are bounded by the configured webhook names.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apiserver.observability.metrics import default_metrics

_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 10.0, 25.0)
NO_ERROR = "no_error"
CALLING_WEBHOOK_ERROR = "calling_webhook_error"
APISERVER_INTERNAL_ERROR = "apiserver_internal_error"
_MAX_CODE = 600


class _CounterType(str):
    """The type "counter", which prometheus-client's text writer does not rename.

    The writer exposes every counter family as `<name>_total`; Go's writes a counter under its own name, and the
    two webhook counters are named `..._count`. Compared to the plain string "counter" this is unequal, so the
    writer leaves the name alone, and it still prints as "counter" on the TYPE line.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is self

    __hash__ = str.__hash__


_COUNTER = _CounterType("counter")


class UnsuffixedCounter(Collector):
    """A labelled counter exposed exactly under `name` (no `_total`). Incremented on the event loop only."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def inc(self, *labels: str) -> None:
        self._values[labels] = self._values.get(labels, 0.0) + 1.0

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for labels, value in list(self._values.items()):  # a scrape runs on a worker thread
            family.add_sample(self._name, dict(zip(self._labelnames, labels, strict=True)), value)
        yield family

    def _family(self) -> Metric:
        family = Metric(self._name, self._documentation, "counter")
        family.type = _COUNTER
        return family


@dataclass(frozen=True, slots=True)
class WebhookMetrics:
    duration: Histogram
    requests: Counter
    rejections: UnsuffixedCounter
    fail_opens: UnsuffixedCounter

    def observe(self, *, name: str, kind: str, operation: str, rejected: bool, code: int, seconds: float) -> None:
        flag = "true" if rejected else "false"
        self.duration.labels(name, kind, operation, flag).observe(seconds)
        self.requests.labels(name, kind, operation, str(min(code, _MAX_CODE)), flag).inc()

    def observe_rejection(self, *, name: str, kind: str, operation: str, error_type: str, code: int) -> None:
        self.rejections.inc(name, kind, operation, error_type, str(min(code, _MAX_CODE)))

    def observe_fail_open(self, *, name: str, kind: str) -> None:
        self.fail_opens.inc(name, kind)


@functools.cache
def _metrics_in(registry: CollectorRegistry) -> WebhookMetrics:
    return WebhookMetrics(
        duration=Histogram(
            "apiserver_admission_webhook_admission_duration_seconds",
            "[STABLE] Admission webhook latency in seconds, identified by name and broken out for each operation "
            "and API resource and type (validate or admit).",
            ("name", "type", "operation", "rejected"), buckets=_BUCKETS, registry=registry),
        requests=Counter(
            "apiserver_admission_webhook_request_total",
            "[ALPHA] Admission webhook request total, identified by name and broken out for each admission type "
            "(validating or admit) and operation. Additional labels specify whether the request was rejected or "
            "not and an HTTP status code. Codes greater than 600 are truncated to 600, to keep the metrics "
            "cardinality bounded.",
            ("name", "type", "operation", "code", "rejected"), registry=registry),
        rejections=UnsuffixedCounter(
            "apiserver_admission_webhook_rejection_count",
            "[ALPHA] Admission webhook rejection count, identified by name and broken out for each admission type "
            "(validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or "
            "apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection "
            "code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the "
            "code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics "
            "cardinality bounded.",
            ("name", "type", "operation", "error_type", "rejection_code"), registry),
        fail_opens=UnsuffixedCounter(
            "apiserver_admission_webhook_fail_open_count",
            "[ALPHA] Admission webhook fail open count, identified by name and broken out for each admission type "
            "(validating or admit).",
            ("name", "type"), registry),
    )


def webhook_metrics() -> WebhookMetrics:
    """The webhook metrics of the process's registry (what `/metrics` serves)."""
    return _metrics_in(default_metrics().registry)
