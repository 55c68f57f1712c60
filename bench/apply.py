"""Apply benchmark: a 100-object manifest through kubectl apply (client-side and server-side) and direct SSA,
each beside raw create throughput of the same objects measured in the same run.

`python -m bench.apply [--backend sqlite|etcd3|all] [--quick] [--reps N]`

Per backend it starts its own server (and etcd), writes 100 manifests (ConfigMaps, Deployments, Services of
1-3 KB) into a temporary directory, and per repetition, each in fresh namespaces (so nothing is deleted):

- raw create: the 100 objects as JSON POSTs, 16 in flight (the baseline);
- `kubectl apply -f dir/`, first (creates) and second (all unchanged);
- `kubectl apply --server-side -f dir/`, first and second;
- direct server-side apply: PATCH `application/apply-patch+yaml?fieldManager=bench`, 16 in flight, first
  (creates, 201) and second (no-op, 200);
- both kubectl applies once more with `--validate=false`: kubectl's strict validation re-reads the OpenAPI v3
  document of the object's group-version for every object, which dominates its CPU (docs/benchmarks.md).

kubectl's own cost is measured apart: process start (`version --client`), start plus one request with a warm
cache (`version`), and discovery with a cold and a warm cache (`api-resources`). Every row is the median over
the repetitions, in objects/s, with its ratio to the raw create rate. Load never runs in the server's process.
The exit code is 0 even when a step fails: this is a benchmark, not a test; failures are printed in the row.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.api_client import Connection, Endpoint
from bench.measure import process_cpu_seconds
from bench.storage import load_average, machine_facts
from tests.support.etcd import EtcdProcess
from tests.support.kubectl import Kubectl, kubectl_binary
from tests.support.server import ServerProcess

OBJECTS = 100
IN_FLIGHT = 16
FULL_REPS = 3
QUICK_REPS = 1
KUBECTL_TIMEOUT = 120.0
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 10.0
NAN = float("nan")


# -- the manifests ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Manifest:
    """One object of the manifest directory: where it is POSTed or applied, and its body."""

    api_path: str  # "/api/v1" or "/apis/apps/v1"
    plural: str
    name: str
    body: dict[str, object]

    def collection(self, namespace: str) -> str:
        return f"{self.api_path}/namespaces/{namespace}/{self.plural}"

    def item(self, namespace: str) -> str:
        return f"{self.collection(namespace)}/{self.name}"


def _labels(kind: str, index: int) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"{kind}-{index}", "app.kubernetes.io/part-of": "apply-bench",
            "tier": ("frontend", "backend", "cache")[index % 3]}


def config_map(index: int) -> Manifest:
    name = f"settings-{index}"
    lines = "\n".join(f"option.{key} = value-{index}-{key}-" + "x" * (index % 7 * 6) for key in range(24 + index % 20))
    data = {"app.properties": lines, "LOG_LEVEL": "info", "FEATURE_FLAGS": "alpha,beta,gamma",
            "endpoint": f"https://svc-{index}.example.internal:8443/api", "replicas": str(index % 5 + 1)}
    return Manifest("/api/v1", "configmaps", name, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": _labels("settings", index),
                     "annotations": {"bench.pilothouse.dev/owner": "team-" + str(index % 4)}},
        "data": data,
    })


def deployment(index: int) -> Manifest:
    name = f"web-{index}"
    labels = _labels("web", index)
    container = {
        "name": "app", "image": f"registry.example.com/web:1.{index % 9}.0",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
        "env": [{"name": f"VAR_{key}", "value": f"value-{index}-{key}"} for key in range(6)]
        + [{"name": "SETTINGS", "valueFrom": {"configMapKeyRef": {"name": f"settings-{index}", "key": "LOG_LEVEL"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "args": ["--config=/etc/app/app.properties", "--listen=:8080", "--metrics=:9090", f"--shard={index}"],
        "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}, "initialDelaySeconds": 5,
                          "periodSeconds": 20, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "volumeMounts": [{"name": "settings", "mountPath": "/etc/app"}],
    }
    return Manifest("/apis/apps/v1", "deployments", name, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"bench.pilothouse.dev/change-cause": f"rollout {index} of the web tier " * 3}},
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "replicas": index % 3 + 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": labels["app.kubernetes.io/name"]}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container],
                         "volumes": [{"name": "settings", "configMap": {"name": f"settings-{index}"}}]},
            },
        },
    })


def service(index: int) -> Manifest:
    name = f"web-{index}"
    return Manifest("/api/v1", "services", name, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": _labels("web", index),
                     "annotations": {"bench.pilothouse.dev/description": f"front door of web-{index}; " * 8,
                                     "bench.pilothouse.dev/runbook": f"https://runbooks.example.com/web/{index}" * 4,
                                     "bench.pilothouse.dev/contact": f"team-{index % 4}@example.com, oncall@x.com"}},
        "spec": {
            "selector": {"app.kubernetes.io/name": f"web-{index}"},
            "type": "ClusterIP", "sessionAffinity": "None", "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"], "internalTrafficPolicy": "Cluster",
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                      {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
                      {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}],
        },
    })


def manifests() -> list[Manifest]:
    """40 ConfigMaps, 30 Deployments and 30 Services."""
    return ([config_map(index) for index in range(40)] + [deployment(index) for index in range(30)]
            + [service(index) for index in range(30)])


def write_directory(directory: Path, objects: list[Manifest]) -> tuple[int, int]:
    """One YAML file per object (what `kubectl apply -f dir/` reads); returns the smallest and largest size."""
    directory.mkdir(parents=True)
    sizes = []
    for number, manifest in enumerate(objects):
        text = yaml.safe_dump(manifest.body, sort_keys=False)
        (directory / f"{number:03d}-{manifest.plural}-{manifest.name}.yaml").write_text(text)
        sizes.append(len(text))
    return min(sizes), max(sizes)


# -- the direct HTTPS client ------------------------------------------------------------------------------------

class ApplyConnection(Connection):
    """The lean benchmark connection, sending PATCH bodies as apply patches (its base always says JSON)."""

    def _send(self, method: str, path: str, body: bytes) -> None:
        if method != "PATCH":
            super()._send(method, path, body)
            return
        head = (b"PATCH %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
                b"Content-Type: application/apply-patch+yaml\r\nContent-Length: %d\r\n\r\n")
        self._writer.write(head % (path.encode(), self._host, len(body)) + body)


async def open_connections(endpoint: Endpoint, count: int) -> list[Connection]:
    """`count` ApplyConnections sharing one SSL context."""
    context = endpoint.ssl_context()
    return list(await asyncio.gather(*(ApplyConnection.open(endpoint, context) for _ in range(count))))


@dataclass(frozen=True, slots=True)
class Timing:
    """One timed step of one repetition: wall seconds, the server's CPU seconds, the CPU seconds of the child
    processes that ended during it (kubectl), and its first failure."""

    seconds: float
    server_cpu: float
    kubectl_cpu: float
    failure: str = ""


def reaped_children_cpu() -> float:
    """User + system CPU of this process's ended children: kubectl, not the still-running server or etcd."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class StepMeter:
    """Wall time, the server's CPU (and its etcd's, when there is one) and kubectl's CPU around a step."""

    def __init__(self, pids: tuple[int, ...]) -> None:
        self.pids = pids

    def read(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids)

    @contextlib.contextmanager
    def timed(self, sink: list[Timing], check: Callable[[], str]) -> Iterator[None]:
        """Time the body; `check()` (after it) returns a failure description or ""."""
        cpu, children, started = self.read(), reaped_children_cpu(), time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        sink.append(Timing(seconds, self.read() - cpu, reaped_children_cpu() - children, check()))


async def fan_out(connections: list[Connection], count: int,
                  operation: Callable[[Connection, int], Awaitable[object]]) -> list[str]:
    """operation(connection, 0..count-1) with one worker per connection; returns the failures."""
    failures: list[str] = []
    cursor = iter(range(count))

    async def worker(connection: Connection) -> None:
        for index in cursor:
            try:
                await operation(connection, index)
            except Exception as error:  # A benchmark counts failures instead of stopping at the first.
                failures.append(repr(error))

    await asyncio.gather(*(worker(connection) for connection in connections))
    return failures


# -- one backend ------------------------------------------------------------------------------------------------

STEPS = (
    "raw create (POST, 16 in flight)",
    "kubectl apply (1st: create)",
    "kubectl apply (2nd: unchanged)",
    "kubectl apply --server-side (1st)",
    "kubectl apply --server-side (2nd)",
    "direct SSA PATCH (1st: create)",
    "direct SSA PATCH (2nd: no-op)",
    "kubectl apply --validate=false (1st)",
    "kubectl apply --server-side --validate=false (1st)",
)


@dataclass(frozen=True, slots=True)
class Row:
    backend: str
    step: str
    rate: float  # objects/s, median over repetitions
    ratio: float  # rate / raw create rate
    detail: str


class ApplyBench:
    """The steps of the module docstring against one live server."""

    def __init__(self, kubectl: Kubectl, directory: Path, objects: list[Manifest],
                 cpu: StepMeter) -> None:
        self.kubectl = kubectl
        self.directory = directory
        self.objects = objects
        self.cpu = cpu
        self.json_bodies = [json.dumps(manifest.body).encode() for manifest in objects]
        self.yaml_bodies = [yaml.safe_dump(manifest.body, sort_keys=False).encode() for manifest in objects]
        self.timings: dict[str, list[Timing]] = {step: [] for step in STEPS}

    async def repetition(self, rep: int, connections: list[Connection]) -> None:
        for prefix in ("raw", "csa", "ssa", "direct", "csa-novalidate", "ssa-novalidate"):
            await connections[0].request("POST", "/api/v1/namespaces", json.dumps(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{prefix}-{rep}"}}).encode(), 201)
        await self.direct(STEPS[0], connections, f"raw-{rep}", "POST", 201)
        self.kubectl_apply(STEPS[1], f"csa-{rep}", (), "created")
        self.kubectl_apply(STEPS[2], f"csa-{rep}", (), "unchanged")
        self.kubectl_apply(STEPS[3], f"ssa-{rep}", ("--server-side",), "serverside-applied")
        self.kubectl_apply(STEPS[4], f"ssa-{rep}", ("--server-side",), "serverside-applied")
        await self.direct(STEPS[5], connections, f"direct-{rep}", "PATCH", 201)
        await self.direct(STEPS[6], connections, f"direct-{rep}", "PATCH", 200)
        self.kubectl_apply(STEPS[7], f"csa-novalidate-{rep}", ("--validate=false",), "created")
        self.kubectl_apply(STEPS[8], f"ssa-novalidate-{rep}", ("--server-side", "--validate=false"),
                           "serverside-applied")

    async def direct(self, step: str, connections: list[Connection], namespace: str, method: str,
                     expect: int) -> None:
        async def one(connection: Connection, index: int) -> None:
            manifest = self.objects[index]
            if method == "POST":
                await connection.request("POST", manifest.collection(namespace), self.json_bodies[index], expect)
            else:
                path = manifest.item(namespace) + "?fieldManager=bench"
                await connection.request("PATCH", path, self.yaml_bodies[index], expect)

        failures: list[str] = []
        with self.cpu.timed(self.timings[step], lambda: f"{len(failures)} errors: {failures[0]}" if failures else ""):
            failures += await fan_out(connections, len(self.objects), one)

    def kubectl_apply(self, step: str, namespace: str, flags: tuple[str, ...], verb: str) -> None:
        """One `kubectl apply -f dir/`; a failure unless every object was reported with `verb`."""
        outcome: list[subprocess.CompletedProcess[str]] = []

        def check() -> str:
            result = outcome[0]
            done = sum(line.endswith(f" {verb}") for line in result.stdout.splitlines())
            if result.returncode == 0 and done == len(self.objects):
                return ""
            return f"exit {result.returncode}, {done}/{len(self.objects)} {verb}: {result.stderr.strip()[:300]}"

        with self.cpu.timed(self.timings[step], check):
            outcome.append(self.kubectl.run("apply", "-n", namespace, *flags, "-f", f"{self.directory}/",
                                            timeout=KUBECTL_TIMEOUT))

    def rows(self, backend: str) -> list[Row]:
        count = len(self.objects)

        def rate(timings: list[Timing]) -> float:
            return statistics.median(count / timing.seconds for timing in timings) if timings else NAN

        raw = rate(self.timings[STEPS[0]])
        rows = []
        for step, timings in self.timings.items():
            failures = [timing.failure for timing in timings if timing.failure]
            seconds = [timing.seconds for timing in timings]
            detail = "not run"
            if timings:
                server_ms = statistics.median(timing.server_cpu for timing in timings) / count * 1e3
                kubectl_ms = statistics.median(timing.kubectl_cpu for timing in timings) / count * 1e3
                detail = (f"wall {statistics.median(seconds):.2f} s (min {min(seconds):.2f}, max {max(seconds):.2f},"
                          f" n={len(seconds)}), CPU per object: server {server_ms:.1f} ms"
                          + (f", kubectl {kubectl_ms:.1f} ms" if step.startswith("kubectl") else ""))
            if failures:
                detail = f"FAILED {len(failures)}/{len(timings)}: {failures[0]}; {detail}"
            rows.append(Row(backend, step, rate(timings), rate(timings) / raw if raw else NAN, detail))
        return rows


def kubectl_overhead(backend: str, kubectl: Kubectl, cold_home: Path, reps: int) -> list[Row]:
    """kubectl's own costs, as seconds per invocation (median of `reps` + 2 runs; the cold run once)."""

    def timed(runner: Kubectl, *args: str) -> float:
        started = time.perf_counter()
        result = runner.run(*args, timeout=KUBECTL_TIMEOUT)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()[:300]}")
        return seconds

    cold = timed(Kubectl(kubectl.kubeconfig, cold_home), "api-resources", "-o", "name")
    cases = (("kubectl version --client (process start)", ("version", "--client")),
             ("kubectl version (start + 1 request)", ("version",)),
             ("kubectl api-resources (warm cache)", ("api-resources", "-o", "name")))
    rows = [Row(backend, "kubectl api-resources (cold cache)", cold, NAN, "seconds per call, 1 run")]
    for name, args in cases:
        runs = [timed(kubectl, *args) for _ in range(reps + 2)]
        rows.append(Row(backend, name, statistics.median(runs), NAN,
                        f"seconds per call, min {min(runs):.3f} max {max(runs):.3f} (n={len(runs)})"))
    return rows


def stop_server(server: ServerProcess) -> None:
    """SIGTERM with a deadline, then SIGKILL: a slow shutdown is reported, and does not lose the results."""
    if server.process is None:
        return
    try:
        server.stop(SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        tail = server.stderr().strip().splitlines()[-5:]
        print(f"server still running {SERVER_STOP_TIMEOUT:.0f} s after SIGTERM; killed. stderr tail: {tail}",
              flush=True)
    finally:
        server.kill()


@contextlib.contextmanager
def live_server(backend: str, directory: Path) -> Iterator[tuple[ServerProcess, tuple[int, ...]]]:
    """The server (and its etcd, for etcd3); yields it with the pids whose CPU counts as the server's."""
    with contextlib.ExitStack() as cleanup:
        etcd = None
        if backend == "etcd3":
            (directory / "etcd").mkdir()
            etcd = EtcdProcess(directory / "etcd")
            cleanup.callback(etcd.destroy)
            etcd.start()
        server = ServerProcess(directory / "server", storage_backend=backend, etcd_servers=etcd.url if etcd else "")
        cleanup.callback(stop_server, server)
        server.start(SERVER_START_TIMEOUT)
        assert server.process is not None
        pids = (server.process.pid,) + ((etcd.process.pid,) if etcd and etcd.process else ())
        yield server, pids


async def bench_backend(backend: str, reps: int) -> list[Row]:
    directory = Path(tempfile.mkdtemp(prefix="pilothouse-applybench-"))
    try:
        objects = manifests()
        smallest, largest = write_directory(directory / "manifests", objects)
        print(f"[{backend}] {len(objects)} manifests, {smallest}-{largest} bytes each", flush=True)
        with live_server(backend, directory) as (server, pids):
            kubectl = Kubectl(server.kubeconfig, directory / "home")
            kubectl.run("api-resources", "-o", "name", timeout=KUBECTL_TIMEOUT)  # warm the discovery cache
            bench = ApplyBench(kubectl, directory / "manifests", objects, StepMeter(pids))
            cert_file, key_file = server.admin_credentials()
            endpoint = Endpoint("127.0.0.1", server.port, str(server.ca_file), str(cert_file), str(key_file))
            connections = await open_connections(endpoint, IN_FLIGHT)
            try:
                for rep in range(reps):
                    started = time.perf_counter()
                    await bench.repetition(rep, connections)
                    print(f"[{backend}] repetition {rep + 1}/{reps} in {time.perf_counter() - started:.1f} s",
                          flush=True)
            finally:
                for connection in connections:
                    await connection.close()
            rows = bench.rows(backend)
            rows += kubectl_overhead(backend, kubectl, directory / "cold-home", reps)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    for row in rows:
        print(format_row(row), flush=True)
    return rows


def run_backend(backend: str, reps: int) -> list[Row]:
    try:
        return asyncio.run(bench_backend(backend, reps))
    except Exception as error:  # The server could not start, or a step broke the run: say so, go on.
        row = Row(backend, "start", NAN, NAN, f"ERROR {error!r}")
        print(format_row(row), flush=True)
        return [row]


# -- output -----------------------------------------------------------------------------------------------------

def format_row(row: Row) -> str:
    unit = "s" if row.step.startswith("kubectl ") and "apply" not in row.step else "objects/s"
    return f"[{row.backend}] {row.step:<50} {row.rate:9.3g} {unit:<9} ratio {row.ratio:5.2f}\n    {row.detail}"


def print_summary(rows: list[Row], facts: dict[str, str], seconds: float) -> None:
    print("\n## Summary\n")
    for name, value in facts.items():
        print(f"- {name}: {value}")
    print(f"- wall time: {seconds:.0f} s\n")
    print("| backend | step | objects/s | ratio to raw create | detail |")
    print("|---|---|---:|---:|---|")
    for row in rows:
        if row.ratio != row.ratio and row.step.startswith("kubectl ") and "apply" not in row.step:
            print(f"| {row.backend} | {row.step} | {row.rate * 1e3:.0f} ms per call | - | {row.detail} |")
        else:
            print(f"| {row.backend} | {row.step} | {row.rate:.1f} | {row.ratio:.2f} | {row.detail} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apply", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "etcd3", "all"), default="all")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPS} repetition instead of {FULL_REPS}")
    parser.add_argument("--reps", type=int, help="repetitions (overrides --quick)")
    arguments = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C: servers are torn down
    reps = arguments.reps or (QUICK_REPS if arguments.quick else FULL_REPS)
    facts = machine_facts() | {"kubectl": str(kubectl_binary()), "repetitions": str(reps)}
    print("\n".join(f"{name}: {value}" for name, value in facts.items()), flush=True)
    started = time.perf_counter()
    rows: list[Row] = []
    for backend in ("sqlite", "etcd3") if arguments.backend == "all" else (arguments.backend,):
        print(f"\n== {backend} ==", flush=True)
        rows += run_backend(backend, reps)
    facts["load average at end"] = load_average()
    print_summary(rows, facts, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
