"""MetricsSeries: chart points as deltas between readings of our own Prometheus metrics."""
from __future__ import annotations

import pytest

from apiserver.observability.metrics import ApiServerMetrics, RequestLabels
from apiserver.server.healthhistory_series import MetricsSeries, bucket_delta, histogram_quantile

GET = RequestLabels("GET", "", "", "v1", "pods", "", "namespace", "apiserver")
WATCH = RequestLabels("WATCH", "", "", "v1", "pods", "", "namespace", "apiserver")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("quantile", "buckets", "expected"),
    [
        (0.5, ((0.1, 10.0), (0.2, 20.0), (float("inf"), 20.0)), 0.1),
        (0.5, ((0.1, 0.0), (0.2, 10.0), (float("inf"), 10.0)), 0.15),
        (0.99, ((0.1, 0.0), (0.2, 0.0), (float("inf"), 4.0)), 0.2),
        (0.5, ((0.1, 0.0), (float("inf"), 0.0)), None),
        (0.5, (), None),
    ],
    ids=["bucket-edge", "interpolated", "inf-bucket-gives-highest-bound", "no-observations", "no-buckets"],
)
def test_histogram_quantile(quantile: float, buckets: tuple[tuple[float, float], ...], expected: float | None) -> None:
    assert histogram_quantile(quantile, buckets) == (pytest.approx(expected) if expected is not None else None)


def test_bucket_delta_subtracts_per_bound() -> None:
    assert bucket_delta(((1.0, 5.0), (float("inf"), 7.0)), ((1.0, 2.0), (float("inf"), 3.0))) == (
        (1.0, 3.0), (float("inf"), 4.0))
    assert bucket_delta(((1.0, 5.0),), ()) == ((1.0, 5.0),)


def test_points_are_rates_and_latencies_between_readings() -> None:
    metrics, clock = ApiServerMetrics(), FakeClock()
    series = MetricsSeries(metrics, clock=clock)
    metrics.observe_request(GET, 200, 0.003, 100)
    series.sample()
    for _ in range(20):
        metrics.observe_request(GET, 200, 0.3, 100)  # in the (0.2, 0.4] bucket
    metrics.observe_request(WATCH, 200, 50.0, None)  # long-running: counted in the rate, not in latency
    metrics.inflight_gauge(mutating=False).inc(3)
    metrics.inflight_gauge(mutating=True).inc(1)
    metrics.storage_series("get", "pods").observe(0.004, failed=False)
    clock.now += 10.0
    series.sample()
    [point] = series.points()
    assert point["at"] == 1010.0
    assert point["requestRate"] == pytest.approx(2.1)
    assert point["latencyP50"] == pytest.approx(0.2 + 0.2 * 10 / 20)
    assert 0.2 < point["latencyP99"] <= 0.4
    assert (point["inflight"], point["inflightReadOnly"], point["inflightMutating"]) == (4.0, 3.0, 1.0)
    assert point["storageRate"] == pytest.approx(0.1)
    assert point["storageP50"] == pytest.approx(0.0025)


def test_an_interval_without_requests_has_no_latency() -> None:
    metrics, clock = ApiServerMetrics(), FakeClock()
    series = MetricsSeries(metrics, clock=clock)
    metrics.observe_request(GET, 200, 0.01, 100)
    series.sample()
    clock.now += 10.0
    series.sample()
    [point] = series.points()
    assert (point["requestRate"], point["latencyP50"], point["latencyP99"]) == (0.0, None, None)


def test_the_ring_keeps_the_window() -> None:
    metrics, clock = ApiServerMetrics(), FakeClock()
    series = MetricsSeries(metrics, clock=clock, interval=10.0, window=60.0)
    for _ in range(20):
        series.sample()
        clock.now += 10.0
    points = series.points()
    assert len(points) == 6
    assert points[-1]["at"] - points[0]["at"] == 50.0


def test_report_has_storage_latency_recent_and_since_start() -> None:
    metrics, clock = ApiServerMetrics(), FakeClock()
    series = MetricsSeries(metrics, clock=clock)
    metrics.storage_series("list", "pods").observe(2.5, failed=True)  # before the first reading
    series.sample()
    clock.now += 10.0
    metrics.storage_series("get", "pods").observe(0.004, failed=False)
    report = series.report()
    assert (report["interval"], report["window"], report["points"]) == (10.0, 1800.0, [])
    recent, total = report["storageLatency"]["recent"], report["storageLatency"]["sinceStart"]
    assert (recent["seconds"], recent["requests"]) == (10.0, 1.0)
    assert recent["p50"] == pytest.approx(0.0025) and recent["p99"] == pytest.approx(0.00495)
    assert (total["requests"], total["errors"]) == (2.0, 1.0)
    assert total["p99"] == pytest.approx(2.0 + 1.0 * (0.99 * 2 - 1) / 1)


def test_window_must_hold_an_interval() -> None:
    with pytest.raises(ValueError, match="no longer than the window"):
        MetricsSeries(ApiServerMetrics(), interval=10.0, window=5.0)
