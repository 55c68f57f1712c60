"""A whole cluster as processes: N etcd members as one etcd cluster, M Pilothouse replicas on it, HAProxy in front.

The topology of the docker-compose file, on loopback: etcd members on free ports (one data dir each, restartable
in place), replicas listening on the same port at 127.0.0.1, 127.0.0.2, ... (each advertises its own address,
as kube-apiserver replicas on separate hosts do, so each holds its own master lease) and sharing one PKI generated
before they start (one CA, one serving certificate naming every replica address, one ServiceAccount key: a client
certificate or token that one replica issues verifies on every other), and HAProxy passing TLS through to the
replicas with health checks on /readyz. `kubeconfig` points at the balancer.
"""
from __future__ import annotations

import base64
import contextlib
import json
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.support.etcd import ETCD_BINARY
from tests.support.ports import free_port, wait_for_port
from tests.support.server import ServerProcess

HAPROXY_BINARY = shutil.which("haproxy") or "/usr/sbin/haproxy"
T = TypeVar("T")
REPLICA_START_TIMEOUT = 120.0  # seconds; a replica starts in about 4 s, far slower on a loaded 2-core machine
SECRET_KEY = "tests-only-cluster-secret"  # one Django secret for every replica (sessions still live per replica)
# Short heartbeats: a killed etcd leader is replaced within about a second instead of etcd's default 1 s + 10 s.
ETCD_TIMING = ("--heartbeat-interval", "50", "--election-timeout", "500")
# As docker-compose.yml: a raft snapshot every 10,000 entries bounds each member's memory under steady writes.
ETCD_SNAPSHOT = ("--snapshot-count", "10000")


class EtcdMember:
    """One member of the etcd cluster; after `kill()` (or `stop()`), `launch()` restarts it on its data dir."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.data_dir = root / name
        self.client_port, self.peer_port = free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.initial_cluster = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            ETCD_BINARY, "--name", self.name, "--data-dir", str(self.data_dir / "data"),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", self.initial_cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", "pilothouse-tests", *ETCD_TIMING, *ETCD_SNAPSHOT,
        ]
        with open(self.data_dir / "etcd.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def call(self, method: str, body: dict[str, object] | None = None, timeout: float = 2.0) -> dict[str, object]:
        """One call of etcd's JSON gateway (`/v3/kv/range`, `/v3/maintenance/status`, ...)."""
        request = urllib.request.Request(f"{self.url}/v3/{method}", data=json.dumps(body or {}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.loads(response.read()))

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                return b'"health":"true"' in response.read()
        except OSError:
            return False

    def is_leader(self) -> bool:
        status = self.call("maintenance/status")
        header = status["header"]
        assert isinstance(header, dict)
        return str(header["member_id"]) == str(status["leader"])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class EtcdCluster:
    """`size` members forming one cluster; every member is started at once (they need each other for quorum)."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.members = [EtcdMember(f"m{index + 1}", root) for index in range(size)]
        initial = ",".join(f"{member.name}={member.peer_url}" for member in self.members)
        for member in self.members:
            member.initial_cluster = initial

    @property
    def servers(self) -> str:
        return ",".join(member.url for member in self.members)

    def start(self, timeout: float = 30.0) -> None:
        for member in self.members:
            member.launch()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for member in self.members:
            wait_for_port(member.client_port, timeout=max(deadline - time.monotonic(), 0.1))
        poll(lambda: all(member.healthy() for member in self.members), deadline - time.monotonic(),
             "etcd cluster healthy")

    def leader(self) -> EtcdMember:
        def find() -> EtcdMember | None:
            for member in self.members:
                try:
                    if member.running and member.is_leader():
                        return member
                except OSError:
                    continue
            return None
        return poll(find, 10.0, "an etcd leader")

    def any_running(self) -> EtcdMember:
        return next(member for member in self.members if member.running)

    def revision(self) -> int:
        header = self.any_running().call("kv/range", {"key": base64.b64encode(b"\0").decode()})["header"]
        assert isinstance(header, dict)
        return int(header["revision"])

    def compact(self, revision: int) -> None:
        self.any_running().call("kv/compaction", {"revision": str(revision), "physical": True}, timeout=10)

    def heal(self) -> None:
        """Restart every killed member and resume every paused one, then wait for a healthy cluster."""
        for member in self.members:
            if member.running:
                member.resume()
            else:
                member.launch()
        self.wait_healthy()

    def stop(self) -> None:
        for member in self.members:
            member.stop()


class Replica(ServerProcess):
    """A `ServerProcess` that listens on its own loopback address (127.0.0.N) and advertises it."""

    def __init__(self, data_dir: Path, *, host: str, port: int, storage_backend: str, etcd_servers: str,
                 extra_args: Sequence[str], env: dict[str, str]) -> None:
        self.host = host
        super().__init__(data_dir, storage_backend=storage_backend, etcd_servers=etcd_servers, extra_args=extra_args,
                         env=env, port=port)

    def command(self) -> list[str]:
        return [*super().command(), "--advertise-address", self.host]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Balancer:
    """HAProxy in TCP mode: TLS passes through to the replicas, checked with GET /readyz over TLS every 300 ms
    (down after 2 failures, sessions then cut; a check may take 5 s, so a slow /readyz on a busy machine is not a
    failure, while a killed replica refuses the connection at once)."""

    def __init__(self, root: Path, replicas: Sequence[Replica]) -> None:
        self.root = root
        self.port = free_port()
        self.replicas = replicas
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        servers = "\n".join(f"    server r{index + 1} {replica.host}:{replica.port}"
                            for index, replica in enumerate(self.replicas))
        return f"""global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    timeout check 5s
    timeout client 1h
    timeout server 1h
    retries 3
    option redispatch
frontend api
    bind 127.0.0.1:{self.port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check check-ssl verify none inter 300ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""

    def start(self) -> None:
        if not Path(HAPROXY_BINARY).exists():
            raise RuntimeError("haproxy is not installed: run scripts/test.sh (apt-get install haproxy)")
        path = self.root / "haproxy.cfg"
        path.write_text(self.config())
        with open(self.root / "haproxy.log", "ab") as log:
            self.process = subprocess.Popen([HAPROXY_BINARY, "-db", "-f", str(path)], stdout=log,
                                            stderr=subprocess.STDOUT)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Cluster:
    """etcd members + replicas + balancer, built under `root`; `start()` starts them, `stop()` ends them all."""

    def __init__(self, root: Path, *, etcd_members: int = 3, replicas: int = 2, extra_args: Sequence[str] = (),
                 replica_args: Callable[[int], Sequence[str]] = lambda index: ()) -> None:
        """`extra_args` go to every replica, `replica_args(n)` to replica n (1-based) only."""
        self.root = root
        self.etcd = EtcdCluster(root / "etcd", etcd_members)
        port = free_port()
        self.replicas = [
            Replica(root / f"replica{index + 1}", host=f"127.0.0.{index + 1}", port=port, storage_backend="etcd3",
                    etcd_servers=self.etcd.servers, extra_args=[*extra_args, *replica_args(index + 1)],
                    env={"PILOTHOUSE_SECRET_KEY": SECRET_KEY})
            for index in range(replicas)
        ]
        self.balancer = Balancer(root, self.replicas)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.balancer.port}"

    @property
    def ca_file(self) -> Path:
        return self.root / "pki" / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "balancer.kubeconfig"

    def start(self, timeout: float = REPLICA_START_TIMEOUT) -> Cluster:
        try:
            self._write_pki()
            self.etcd.start()
            for replica in self.replicas:
                replica.launch()
            with ThreadPoolExecutor(len(self.replicas)) as pool:
                list(pool.map(lambda replica: replica.wait_ready(timeout), self.replicas))
            self.balancer.start()
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise
        return self

    def _write_pki(self) -> None:
        """One PKI for every replica: kubeadm's layout, with a serving certificate naming every replica address."""
        import ipaddress

        from apiserver.server import pki

        directory = self.root / "pki"
        generated = pki.ensure_pki(directory, advertise_address=self.replicas[0].host, hostname="localhost")
        sans: list[x509.GeneralName] = pki.serving_sans(self.replicas[0].host, "localhost")
        sans += [x509.IPAddress(ipaddress.ip_address(replica.host)) for replica in self.replicas[1:]]
        serving = pki.issue_serving_certificate(generated.ca, sans)
        assert serving.key is not None
        for stale in ("apiserver.key", "apiserver.crt"):
            (directory / stale).unlink()
        pki.write_private_key(directory / "apiserver.key", serving.key)
        pki.write_file(directory / "apiserver.crt", serving.cert.public_bytes(serialization.Encoding.PEM),
                       mode=0o644)
        for replica in self.replicas:
            shutil.copytree(directory, replica.data_dir / "pki", dirs_exist_ok=True)

    def _write_kubeconfig(self) -> None:
        config = yaml.safe_load(self.replicas[0].kubeconfig.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = self.url
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def admin_credentials(self) -> tuple[Path, Path]:
        return self.replicas[0].admin_credentials()

    def start_replica(self, replica: Replica, timeout: float = REPLICA_START_TIMEOUT) -> None:
        replica.start(timeout)

    def restart_replica(self, replica: Replica, timeout: float = REPLICA_START_TIMEOUT) -> None:
        replica.kill()
        replica.start(timeout)

    def heal(self) -> None:
        """Bring every etcd member and replica back (after a fault test)."""
        self.etcd.heal()
        for replica in self.replicas:
            if not replica.running:
                replica.start(REPLICA_START_TIMEOUT)

    def stop(self) -> None:
        self.balancer.stop()
        for replica in self.replicas:  # SIGTERM to all first: they drain at the same time
            if replica.running:
                assert replica.process is not None
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            if replica.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    replica.process.wait(10)
                replica.kill()
        self.etcd.stop()


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """`check()`'s first truthy value within `timeout` seconds; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
        except (OSError, AssertionError) as error:
            value, last_error = None, error
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")
        time.sleep(interval)

