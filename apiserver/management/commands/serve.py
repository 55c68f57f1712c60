"""`manage.py serve`: the API server and the console over HTTPS, with kube-apiserver's flags.

Start-up prints one line per phase (PKI, kubeconfig, console database, listener, storage), then where to
reach the server. SIGTERM or SIGINT stop it gracefully (exit 0). A flag error prints one `Error:` line and exits
2; a start-up failure (port in use, unusable certificate, unreachable storage) prints one and exits 1.
"""
from __future__ import annotations

import ctypes
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from django.core.management import call_command
from django.core.management.base import BaseCommand

from apiserver.management.storagecommand import without_django_options
from apiserver.server.config import SERVE_FLAGS, ServerConfig, describe_duration
from apiserver.server.flags import FlagError, HelpRequested, format_usage, parse_flags
from apiserver.server.kubeconfig import ensure_admin_kubeconfig
from apiserver.server.pki import PKIError, ensure_pki
from apiserver.server.tls import ServingTLS, TLSConfigError, endpoint_description

if TYPE_CHECKING:
    from apiserver.storage.startup import StartupSnapshot

USAGE = "manage.py serve [flags]"
FLAG_ERROR_EXIT_CODE = 2
STARTUP_ERROR_EXIT_CODE = 1


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message: str) -> None:
    sys.stderr.write(f"Error: {message}\n")
    sys.stderr.flush()


class Command(BaseCommand):
    help = "Serve the Kubernetes API and the console over HTTPS, with kube-apiserver's flags."

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        """Parse our own flags (pflag syntax and errors) instead of argparse's, then serve."""
        try:
            values = parse_flags(SERVE_FLAGS, without_django_options(argv[2:]), command="serve")
            config = ServerConfig.from_flags(values)
        except HelpRequested:
            sys.stdout.write(self.help + "\n\n" + format_usage(SERVE_FLAGS, usage_line=USAGE))
            raise SystemExit(0) from None
        except FlagError as error:
            fail(str(error))
            raise SystemExit(FLAG_ERROR_EXIT_CODE) from None
        raise SystemExit(serve(config))

    def handle(self, *args: Any, **options: Any) -> None:
        raise SystemExit(serve(ServerConfig.from_flags({flag.dest: flag.default for flag in SERVE_FLAGS})))


def serve(config: ServerConfig) -> int:
    """Begin reading storage, prepare the data directory, then run Daphne until a signal; returns the exit code."""
    from apiserver.server.assembly import begin_startup_read

    # First: etcd reads the stored objects while this process prepares and assembles itself (storage/startup.py).
    startup_snapshot = begin_startup_read(config)
    try:
        prepare(config)
        client_cas = trusted_client_cas(config)
        ServingTLS(config.serving_cert_file, config.serving_key_file, client_cas)  # fail before listening
    except OSError as error:
        fail(f"{error.filename}: {(error.strerror or str(error)).lower()}" if error.filename else str(error))
        return STARTUP_ERROR_EXIT_CODE
    except (PKIError, TLSConfigError, ValueError) as error:
        fail(str(error))
        return STARTUP_ERROR_EXIT_CODE
    return run_daphne(config, client_cas, startup_snapshot)


# The event loop shares the GIL with gRPC's and the storage's threads; with CPython's 5 ms switch interval a
# probe waiting on a busy loop also waits for those threads in 5 ms slices. 0.5 ms halved /readyz and Lease
# renewal p99 under the overload benchmark and raised the creates answered meanwhile by half (docs/benchmarks.md).
SWITCH_INTERVAL = 0.0005


def tune_interpreter() -> None:
    """Hand the GIL between threads more often (see SWITCH_INTERVAL)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


GC_YOUNG_THRESHOLD = 1_000
GC_OLDEST_THRESHOLD = 1_000


def settle_heap() -> None:
    """Before start-up: move what the imports and the assembly made out of the collector's view, and collect less
    often from now on.

    The watch caches hold many long-lived objects; with the default thresholds full collections walked them all and
    paused the event loop for 100 to 340 ms (measured in bench/api.py: GET p99 ~300 ms, 28 to 42 ms with this).
    Done only once ready, the fill of the caches still set off full collections over every module's objects: with
    10k pods one landed in the RBAC bootstrap and added 0.09 s to a 0.2 s fill (bench/cluster_caches.py).

    The oldest generation's threshold is what is raised (1,000 instead of 10); the young one stays near CPython's
    700. A young generation of 10,000 (sessions 4-5) made its collections stop the loop 5-12 ms, and the middle
    one's 20-33 ms: the tail of every probe of the overload benchmark. At 1,000 they take 1-4 and 5-11 ms
    (bench/cluster_overload.py, docs/benchmarks.md).
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, GC_OLDEST_THRESHOLD)


def freeze_startup_objects() -> None:
    """Once ready: collect the young garbage start-up left and freeze the rest (the caches, the bootstrap objects),
    then give the heap start-up freed back to the system.

    Only the young generations are collected: a full collection here walked every cached object once more while
    the server was not yet ready (0.15 s of a 10k-pod cold start).
    """
    gc.collect(1)
    gc.freeze()
    return_free_heap()


def return_free_heap() -> None:
    """Release the free memory of every malloc arena (glibc's malloc_trim; nothing elsewhere).

    Filling the caches passes the stored objects through gRPC's receive buffers and protobuf's arenas; once freed,
    glibc keeps most of that memory mapped for reuse. With 10,000 pods (42 MiB stored) a fresh replica held
    92-131 MiB more than one without them, and 48-51 MiB once trimmed; the trim took 3 ms
    (bench/cluster_caches.py, docs/benchmarks.md).
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to release this way
        return
    trim(0)


def trusted_client_cas(config: ServerConfig) -> Path:
    """The CA bundle the TLS handshake verifies client certificates against.

    As kube-apiserver, the handshake trusts the client CA and the front-proxy (request-header) CA together; the
    authenticators then tell them apart (a front-proxy certificate is never a user, a user certificate never a
    proxy). When the two differ, their union is written next to the PKI (public certificates only).
    """
    request_header_ca = config.requestheader_client_ca_file
    if not request_header_ca or Path(request_header_ca).resolve() == config.client_ca_path.resolve():
        return config.client_ca_path
    bundle = config.pki_dir / "trusted-client-cas.crt"
    contents = config.client_ca_path.read_bytes().rstrip(b"\n") + b"\n" + Path(request_header_ca).read_bytes()
    if not bundle.exists() or bundle.read_bytes() != contents:
        bundle.write_bytes(contents)
    return bundle


def prepare(config: ServerConfig) -> None:
    """Create the data directory, the PKI, the admin kubeconfig and the console database, as needed."""
    if config.data_dir.exists() and not config.data_dir.is_dir():
        raise ValueError(f"--data-dir {config.data_dir} is not a directory")
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki = ensure_pki(config.pki_dir, advertise_address=config.advertise_address)
    say(f"pki: using {config.pki_dir} ({pki.describe()})")
    written = ensure_admin_kubeconfig(config.kubeconfig_path, ca=pki.ca, server_url=config.url)
    say(f"kubeconfig: {config.kubeconfig_path} ({'generated' if written else 'existing'})")
    call_command("migrate", interactive=False, verbosity=0)
    say(f"console database: {config.console_database}")
    if config.etcd_compaction_interval > 0:
        say(f"compaction: every {describe_duration(config.etcd_compaction_interval)}")
    else:
        say("compaction: disabled (--etcd-compaction-interval 0)")


def run_daphne(config: ServerConfig, client_cas: Path, startup_snapshot: StartupSnapshot | None = None) -> int:
    from twisted.internet import asyncioreactor, reactor

    from apiserver.asgi import build_application
    from apiserver.server.assembly import build_server
    from apiserver.server.daphne import PilothouseServer

    # daphne comes first in INSTALLED_APPS, so django.setup() installed the asyncio reactor already.
    assert isinstance(reactor, asyncioreactor.AsyncioSelectorReactor), type(reactor)
    try:
        api = build_server(config, progress=say, startup_snapshot=startup_snapshot)
    except ValueError as error:  # unusable security files, a --runtime-config the catalog cannot apply
        fail(str(error))
        return STARTUP_ERROR_EXIT_CODE
    endpoint = endpoint_description(
        port=config.secure_port, interface=config.bind_address, cert_file=config.serving_cert_file,
        key_file=config.serving_key_file, client_ca_file=client_cas,
    )
    server = PilothouseServer(
        build_application(api.app, client_ca_file=config.client_ca_path),
        [endpoint],
        lifecycle=api.lifecycle,
        shutdown_delay=config.shutdown_delay_duration,
        drain_timeout=config.request_timeout,
        on_listening=lambda host, port: say(f"serving: {_https(host, port)} (client CA {client_cas})"),
        on_started=lambda: (freeze_startup_objects(), tune_interpreter(), announce(config)),
        on_failure=fail,
    )
    settle_heap()
    server.run()
    return STARTUP_ERROR_EXIT_CODE if server.startup_failed else 0


def announce(config: ServerConfig) -> None:
    say("ready")
    say(f"  API:        {config.url}")
    say(f"  kubeconfig: {Path(config.kubeconfig_path).resolve()}")
    say(f"  console:    {config.url}/console/")


def _https(host: str, port: int) -> str:
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
