"""What one backend's API benchmark runs against, started and stopped as one unit.

- the server under test: `manage.py serve` (Daphne + TLS) through tests.support.server.ServerProcess, on
  SQLite or on its own etcd;
- the hello app (bench/api_hello.py) on the same server stack and the same certificates: the raw-ASGI ceiling;
- a raw etcd for the write and watch baselines. It is never the server's etcd: raw writes there would move the
  revision past what the server's watch cache has seen, and every consistent read would wait for them;
- two load-generator worker processes (bench/api_load.py).
Optionally the server is sampled by py-spy during each workload (`--py-spy DIR`), and its garbage collections are
logged, or its GC thresholds changed, through bench/api_gchook.py (`--gc-log`, `--gc-threshold`).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.api_client import Endpoint
from bench.api_gchook import install
from bench.api_load import Pids, Worker
from bench.sides import RawEtcdSide
from tests.support.etcd import EtcdProcess
from tests.support.ports import free_port, wait_for_port
from tests.support.server import ROOT, VENV_PYTHON, ServerProcess

SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 30.0
PY_SPY = VENV_PYTHON.parent / "py-spy"
PY_SPY_RATE = 200


@dataclass(frozen=True, slots=True)
class StackOptions:
    """How to run the server: sampled by py-spy into `profile_dir`, with the GC hook (log, thresholds)."""

    profile_dir: Path | None = None
    gc_log: bool = False
    gc_threshold: tuple[int, ...] = ()

    @property
    def gc_hook(self) -> bool:
        return self.gc_log or bool(self.gc_threshold)


@dataclass(frozen=True, slots=True)
class Stack:
    """Everything one backend's run talks to; see the module docstring."""

    backend: str
    server: ServerProcess
    endpoint: Endpoint
    hello_endpoint: Endpoint
    hello_pid: int
    raw_etcd: EtcdProcess
    raw: RawEtcdSide  # aetcd on the raw etcd: create and watch baselines
    data_raw: RawEtcdSide  # aetcd on the etcd that holds the listed pods (the server's, or the raw one)
    workers: tuple[Worker, Worker]
    pids: Pids  # the server and its etcd
    profile_dir: Path | None
    gc_log: Path | None  # the GC hook's log, when the hook is installed

    @property
    def hello_pids(self) -> Pids:
        return Pids(self.hello_pid)

    @property
    def raw_etcd_pid(self) -> int:
        assert self.raw_etcd.process is not None
        return self.raw_etcd.process.pid

    @contextlib.contextmanager
    def sampled(self, workload: str) -> Iterator[None]:
        """With --py-spy, sample the server during `workload`: folded stacks of the thread holding the GIL (the
        server is one GIL-bound process, so that is where its CPU goes), one file per workload."""
        if self.profile_dir is None:
            yield
            return
        assert self.server.process is not None
        output = self.profile_dir / f"{self.backend}-{workload}.folded"
        sampler = subprocess.Popen(
            [str(PY_SPY), "record", "--pid", str(self.server.process.pid), "--rate", str(PY_SPY_RATE),
             "--nonblocking", "--threads", "--format", "raw", "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                sampler.wait(30)
            except subprocess.TimeoutExpired:
                sampler.kill()
                sampler.wait()


def _endpoint(server: ServerProcess, port: int) -> Endpoint:
    cert_file, key_file = server.admin_credentials()
    return Endpoint("127.0.0.1", port, str(server.ca_file), str(cert_file), str(key_file))


def _start_hello(server: ServerProcess, port: int, log: Path) -> subprocess.Popen[bytes]:
    pki = server.data_dir / "pki"
    with open(log, "wb") as output:
        hello = subprocess.Popen(
            [str(VENV_PYTHON), "-m", "bench.api_hello", str(port), str(pki / "apiserver.crt"),
             str(pki / "apiserver.key"), str(pki / "ca.crt")],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
        )
    wait_for_port(port)
    return hello


def _directory(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _stop_server(server: ServerProcess) -> None:
    """SIGTERM, then SIGKILL if it has not exited in time: a slow shutdown is reported, not fatal to the run."""
    if server.process is None:
        return
    try:
        exit_code = server.stop(SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"warning: the server did not exit {SERVER_STOP_TIMEOUT:.0f} s after SIGTERM; killed", flush=True)
        exit_code = 0
    finally:
        server.kill()
    if exit_code:
        print(f"warning: the server exited with {exit_code}", flush=True)


def _quietly(cleanup: Callable[[], object]) -> Callable[[], None]:
    """A teardown step whose failure is printed: the results measured so far must survive it."""

    def run() -> None:
        try:
            cleanup()
        except Exception as error:  # Teardown reports and goes on to the next step.
            print(f"warning: teardown step failed: {error!r}", flush=True)

    return run


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def open_stack(backend: str, options: StackOptions) -> AsyncIterator[Stack]:
    """Start etcd(s), the server, the hello app and the workers; stop all of them on the way out."""
    directory = Path(tempfile.mkdtemp(prefix="pilothouse-apibench-"))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, directory, True)
        raw_etcd = EtcdProcess(_directory(directory / "raw-etcd"))
        cleanup.callback(_quietly(raw_etcd.destroy))
        raw_etcd.start()
        server_etcd = None
        if backend == "etcd3":
            server_etcd = EtcdProcess(_directory(directory / "server-etcd"))
            cleanup.callback(_quietly(server_etcd.destroy))
            server_etcd.start()
        gc_log = install(directory / "gchook", options.gc_threshold) if options.gc_hook else None
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(directory / "gchook"), os.environ.get("PYTHONPATH")]))}
        server = ServerProcess(directory / "server", storage_backend=backend,
                               etcd_servers=server_etcd.url if server_etcd else "", env=env if gc_log else None)
        cleanup.callback(_quietly(lambda: _stop_server(server)))
        server.start(SERVER_START_TIMEOUT)
        hello_port = free_port()
        hello = _start_hello(server, hello_port, directory / "hello.log")
        cleanup.callback(_quietly(lambda: _stop(hello)))
        workers = (Worker(), Worker())
        for worker in workers:
            cleanup.callback(_quietly(worker.close))
        raw = await RawEtcdSide.open(raw_etcd.url)
        data_raw = await RawEtcdSide.open(server_etcd.url) if server_etcd else raw
        assert server.process is not None
        etcd_pid = server_etcd.process.pid if server_etcd and server_etcd.process else 0
        try:
            yield Stack(
                backend, server, _endpoint(server, server.port), _endpoint(server, hello_port), hello.pid,
                raw_etcd, raw, data_raw, workers, Pids(server.process.pid, etcd_pid), options.profile_dir, gc_log,
            )
        finally:
            if data_raw is not raw:
                await data_raw.close()
            await raw.close()
