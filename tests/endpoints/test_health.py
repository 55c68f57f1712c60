"""/healthz, /livez, /readyz byte for byte as kube-apiserver v1.32 (k8s.io/apiserver/pkg/server/healthz)."""
from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest

from apiserver.endpoints.health import LOG, PING, FunctionCheck, HealthRegistry, LogCheck, PostStartHookCheck
from apiserver.endpoints.router import build_router
from apiserver.endpoints.version import build_version_info
from apiserver.filters.chain import build_chain

NOT_FOUND = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
             b'"message":"the server could not find the requested resource","reason":"NotFound","code":404}\n')
PLAIN_HEADERS = [
    ("content-type", "text/plain; charset=utf-8"), ("x-content-type-options", "nosniff"),
    ("cache-control", "no-cache, private"),
]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Switch:
    """A check that fails with `reason` while `healthy` is False."""

    def __init__(self, name: str, reason: str = "connection refused") -> None:
        self.name, self.reason, self.healthy = name, reason, True

    async def check(self) -> None:
        if not self.healthy:
            raise ConnectionError(self.reason)


def _client(registry: HealthRegistry) -> httpx.AsyncClient:
    app = build_chain(build_router(health=registry, version=build_version_info()))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://apiserver")


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers but the length and the per-request Audit-Id (upstream sends one with every response)."""
    assert response.headers.get("audit-id")
    return [(name, value) for name, value in response.headers.items() if name not in ("content-length", "audit-id")]


@pytest.fixture
def etcd() -> Switch:
    return Switch("etcd")


@pytest.fixture
def registry(etcd: Switch) -> HealthRegistry:
    registry = HealthRegistry()
    registry.register(PING)
    registry.register(FunctionCheck("log", PING.check))
    registry.register(etcd)
    return registry


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
async def test_healthy_root_says_ok(registry: HealthRegistry, path: str) -> None:
    async with _client(registry) as client:
        response = await client.get(path)
    assert (response.status_code, response.content) == (200, b"ok")
    assert _headers(response) == PLAIN_HEADERS
    assert response.headers["content-length"] == "2"


@pytest.mark.parametrize("query", ["verbose", "verbose=", "verbose=true", "verbose=false", "verbose=1&x=y"])
async def test_verbose_lists_every_check(registry: HealthRegistry, query: str) -> None:
    async with _client(registry) as client:
        response = await client.get(f"/readyz?{query}")
    assert response.status_code == 200
    assert response.content == b"[+]ping ok\n[+]log ok\n[+]etcd ok\nreadyz check passed\n"
    assert _headers(response) == PLAIN_HEADERS


async def test_excluded_check_is_reported_and_not_run(registry: HealthRegistry, etcd: Switch) -> None:
    etcd.healthy = False
    async with _client(registry) as client:
        verbose = await client.get("/livez?verbose&exclude=etcd")
        quiet = await client.get("/livez?exclude=etcd")
    assert (verbose.status_code, verbose.content) == (
        200, b"[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\nlivez check passed\n"
    )
    assert (quiet.status_code, quiet.content) == (200, b"ok")


async def test_unmatched_excludes_warn_sorted_before_the_last_line(
    registry: HealthRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    async with _client(registry) as client:
        response = await client.get("/healthz?verbose&exclude=nope&exclude=log&exclude=alpha&exclude=nope")
    assert response.status_code == 200
    assert response.content == (
        b'[+]ping ok\n[+]log excluded: ok\n[+]etcd ok\n'
        b'warn: some health checks cannot be excluded: no matches for "alpha","nope"\n'
        b"healthz check passed\n"
    )
    assert any(record.levelno == logging.WARNING for record in caplog.records)


async def test_unmatched_excludes_without_verbose_still_say_ok(registry: HealthRegistry) -> None:
    async with _client(registry) as client:
        response = await client.get("/healthz?exclude=nope")
    assert (response.status_code, response.content) == (200, b"ok")


async def test_failing_check_fails_the_root_with_every_line_and_withholds_the_reason(
    registry: HealthRegistry, etcd: Switch, caplog: pytest.LogCaptureFixture
) -> None:
    etcd.healthy = False
    caplog.set_level(logging.INFO, logger="apiserver.endpoints.health")
    async with _client(registry) as client:
        response = await client.get("/livez")
    assert response.status_code == 500
    assert response.content == b"[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nlivez check failed\n"
    assert _headers(response) == PLAIN_HEADERS
    logged = [record for record in caplog.records if record.getMessage() == "health check failed"]
    fields = [(vars(r)["endpoint"], vars(r)["checks"], vars(r)["reasons"]) for r in logged]
    assert fields == [("livez", "etcd", "etcd: connection refused")]


async def test_failure_with_unmatched_exclude_keeps_the_warning(registry: HealthRegistry, etcd: Switch) -> None:
    etcd.healthy = False
    async with _client(registry) as client:
        response = await client.get("/readyz?exclude=ghost")
    assert response.status_code == 500
    assert response.content == (
        b"[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n"
        b'warn: some health checks cannot be excluded: no matches for "ghost"\n'
        b"readyz check failed\n"
    )


async def test_per_check_path_runs_one_check(registry: HealthRegistry, etcd: Switch) -> None:
    async with _client(registry) as client:
        healthy = await client.get("/readyz/etcd")
        etcd.healthy = False
        failing = await client.get("/readyz/etcd")
        others = await client.get("/readyz/ping")
    assert (healthy.status_code, healthy.content) == (200, b"ok")
    assert _headers(healthy) == [("content-type", "text/plain; charset=utf-8"), ("cache-control", "no-cache, private")]
    assert (failing.status_code, failing.content) == (500, b"internal server error: connection refused\n")
    assert _headers(failing) == PLAIN_HEADERS
    assert (others.status_code, others.content) == (200, b"ok")


@pytest.mark.parametrize("path", ["/livez/nope", "/livez/", "/livez/etcd/more", "/healthzx", "/readyz/poststarthook"])
async def test_unknown_health_paths_are_not_found(registry: HealthRegistry, path: str) -> None:
    async with _client(registry) as client:
        response = await client.get(path)
    assert (response.status_code, response.content) == (404, NOT_FOUND)
    assert response.headers["content-type"] == "application/json"


async def test_check_names_may_contain_slashes() -> None:
    hook = PostStartHookCheck("start-apiserver-admission-initializer")
    registry = HealthRegistry()
    registry.register(hook, post_start_hook=True)
    async with _client(registry) as client:
        before = await client.get("/livez/poststarthook/start-apiserver-admission-initializer")
        root_before = await client.get("/livez?verbose")
        hook.mark_done()
        after = await client.get("/livez/poststarthook/start-apiserver-admission-initializer")
    assert (before.status_code, before.content) == (500, b"internal server error: not finished\n")
    assert root_before.content == (
        b"[-]poststarthook/start-apiserver-admission-initializer failed: reason withheld\nlivez check failed\n"
    )
    assert (after.status_code, after.content) == (200, b"ok")


async def test_checks_appear_only_on_the_endpoints_they_were_registered_for() -> None:
    registry = HealthRegistry()
    registry.register(PING)
    registry.register(Switch("shutdown"), healthz=False, livez=False)
    registry.register(Switch("etcd-readiness"), livez=False, readyz=True)
    async with _client(registry) as client:
        livez = await client.get("/livez?verbose")
        readyz = await client.get("/readyz?verbose")
        missing = await client.get("/livez/shutdown")
    assert livez.content == b"[+]ping ok\nlivez check passed\n"
    assert readyz.content == b"[+]ping ok\n[+]shutdown ok\n[+]etcd-readiness ok\nreadyz check passed\n"
    assert missing.status_code == 404


async def test_an_endpoint_without_checks_serves_ping() -> None:
    async with _client(HealthRegistry()) as client:
        response = await client.get("/healthz?verbose")
        ping = await client.get("/healthz/ping")
    assert response.content == b"[+]ping ok\nhealthz check passed\n"
    assert ping.content == b"ok"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
async def test_any_method_is_answered_like_get(registry: HealthRegistry, method: str) -> None:
    async with _client(registry) as client:
        response = await client.request(method, "/livez")
    assert (response.status_code, response.content) == (200, b"ok")


def test_duplicate_names_are_rejected_per_endpoint() -> None:
    registry = HealthRegistry()
    registry.register(Switch("etcd"), readyz=False)
    registry.register(Switch("etcd"), healthz=False, livez=False)
    with pytest.raises(ValueError, match="already registered for /healthz"):
        registry.register(Switch("etcd"))
    with pytest.raises(ValueError, match="needs a name"):
        registry.register(Switch(""))
    with pytest.raises(ValueError):
        HealthRegistry(livez_grace_period=-1)


class TestLivezGracePeriod:
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def hook(self) -> PostStartHookCheck:
        return PostStartHookCheck("start-informers")

    @pytest.fixture
    def registry(self, clock: FakeClock, hook: PostStartHookCheck) -> HealthRegistry:
        registry = HealthRegistry(livez_grace_period=10.0, clock=clock)
        registry.register(PING)
        registry.register(hook, post_start_hook=True)
        return registry

    async def test_failing_hook_passes_livez_until_the_grace_period_elapses(
        self, registry: HealthRegistry, clock: FakeClock
    ) -> None:
        async with _client(registry) as client:
            not_started = await client.get("/livez")
            registry.mark_started()
            clock.now += 10.0
            at_deadline = await client.get("/livez?verbose")
            per_check = await client.get("/livez/poststarthook/start-informers")
            clock.now += 0.001
            after = await client.get("/livez")
        assert (not_started.status_code, not_started.content) == (200, b"ok")
        assert at_deadline.content == b"[+]ping ok\n[+]poststarthook/start-informers ok\nlivez check passed\n"
        assert (per_check.status_code, per_check.content) == (200, b"ok")
        assert (after.status_code, after.content) == (
            500, b"[+]ping ok\n[-]poststarthook/start-informers failed: reason withheld\nlivez check failed\n"
        )

    async def test_readyz_and_healthz_have_no_grace(self, registry: HealthRegistry) -> None:
        registry.mark_started()
        async with _client(registry) as client:
            readyz = await client.get("/readyz")
            healthz = await client.get("/healthz")
        assert (readyz.status_code, healthz.status_code) == (500, 500)

    async def test_checks_that_are_not_hooks_have_no_grace(self, registry: HealthRegistry) -> None:
        etcd = Switch("etcd")
        etcd.healthy = False
        registry.register(etcd)
        registry.mark_started()
        async with _client(registry) as client:
            response = await client.get("/livez")
        assert response.content == (
            b"[+]ping ok\n[+]poststarthook/start-informers ok\n[-]etcd failed: reason withheld\nlivez check failed\n"
        )

    async def test_without_a_grace_period_a_failing_hook_fails_livez(self, hook: PostStartHookCheck) -> None:
        registry = HealthRegistry(clock=FakeClock())
        registry.register(hook, post_start_hook=True)
        async with _client(registry) as client:
            response = await client.get("/livez")
        assert response.status_code == 500


class TestLogCheck:
    async def test_passes_while_flushes_complete(self) -> None:
        clock = FakeClock()
        flushed = threading.Event()
        check = LogCheck(clock=clock, flush=flushed.set)
        await check.check()
        assert await asyncio.to_thread(flushed.wait, 5)

    async def test_fails_once_a_flush_is_stuck_past_the_limit(self) -> None:
        clock = FakeClock()
        release, entered = threading.Event(), threading.Event()

        def stuck_flush() -> None:
            entered.set()
            release.wait(10)

        check = LogCheck(clock=clock, flush=stuck_flush, stall_limit=60.0)
        try:
            await check.check()
            assert await asyncio.to_thread(entered.wait, 5)
            clock.now += 60.0
            await check.check()
            clock.now += 0.5
            with pytest.raises(RuntimeError, match="logging blocked"):
                await check.check()
        finally:
            release.set()

    async def test_flushes_at_most_once_per_interval(self) -> None:
        clock = FakeClock()
        flushes: list[float] = []
        done = threading.Event()

        def flush() -> None:
            flushes.append(clock.now)
            done.set()

        check = LogCheck(clock=clock, flush=flush, interval=60.0)
        await check.check()
        assert await asyncio.to_thread(done.wait, 5)
        done.clear()
        await _until_idle(check)
        clock.now += 30.0
        await check.check()
        clock.now += 30.0
        await check.check()
        assert await asyncio.to_thread(done.wait, 5)
        assert flushes == [1000.0, 1060.0]

    def test_the_shared_log_check_is_named_log(self) -> None:
        assert (LOG.name, PING.name) == ("log", "ping")


async def _until_idle(check: LogCheck) -> None:
    """Wait until the flush thread has recorded its flush (it signals the test before it does)."""
    async with asyncio.timeout(5):
        while check._flush_started_at is not None:
            await asyncio.sleep(0.001)
