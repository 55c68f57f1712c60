"""Admission webhook metrics with upstream's names and labels (k8s.io/apiserver/pkg/admission/metrics).

`apiserver_admission_webhook_admission_duration_seconds{name,type,operation,rejected}` and
`apiserver_admission_webhook_request_total{name,type,operation,code,rejected}`; `type` is `admit` for mutating
webhooks and `validating` for validating ones, as upstream records them. Labels are bounded by the configured
webhook names.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from apiserver.observability.metrics import default_metrics

_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 10.0, 25.0)


@dataclass(frozen=True, slots=True)
class WebhookMetrics:
    duration: Histogram
    requests: Counter

    def observe(self, *, name: str, kind: str, operation: str, rejected: bool, code: int, seconds: float) -> None:
        flag = "true" if rejected else "false"
        self.duration.labels(name, kind, operation, flag).observe(seconds)
        self.requests.labels(name, kind, operation, str(code), flag).inc()


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
            "(validating or mutating) and operation. Additional labels specify whether the request was rejected or "
            "not and an HTTP status code.",
            ("name", "type", "operation", "code", "rejected"), registry=registry),
    )


def webhook_metrics() -> WebhookMetrics:
    """The webhook metrics of the process's registry (what `/metrics` serves)."""
    return _metrics_in(default_metrics().registry)
