"""A real HTTPS webhook server for tests: its own CA (made with `cryptography`), routes by path, records requests.

Runs a threading `http.server` on 127.0.0.1 in a background thread, so it answers while the test's event loop
waits on the API server. Each route is a function of the recorded request that returns the reply: a dict (sent
as JSON with 200), or a `Reply` with any status, headers and body (and an optional delay, for timeouts).
"""
from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def request(self) -> dict[str, Any]:
        """The AdmissionReview's `request`."""
        value: dict[str, Any] = self.body["request"]
        return value


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Route = Callable[[Recorded], "dict[str, Any] | Reply"]


def review_answer(recorded: Recorded, *, allowed: bool = True, **response: Any) -> dict[str, Any]:
    """An AdmissionReview answer in the request's version, for the request's uid."""
    return {
        "apiVersion": recorded.body.get("apiVersion", "admission.k8s.io/v1"), "kind": "AdmissionReview",
        "response": {"uid": recorded.request["uid"], "allowed": allowed, **response},
    }


def allow(recorded: Recorded) -> dict[str, Any]:
    return review_answer(recorded)


def deny(message: str, code: int | None = None, **status: Any) -> Route:
    def route(recorded: Recorded) -> dict[str, Any]:
        result: dict[str, Any] = {"message": message, **status}
        if code is not None:
            result["code"] = code
        return review_answer(recorded, allowed=False, status=result)
    return route


def json_patch(operations: Sequence[dict[str, Any]], **response: Any) -> Route:
    encoded = base64.b64encode(json.dumps(list(operations)).encode()).decode()

    def route(recorded: Recorded) -> dict[str, Any]:
        return review_answer(recorded, patch=encoded, patchType="JSONPatch", **response)
    return route


def add_label(key: str, value: str) -> Route:
    """A mutating route that adds a label (creating `metadata.labels` when missing)."""
    def route(recorded: Recorded) -> dict[str, Any]:
        labels = (recorded.request.get("object") or {}).get("metadata", {}).get("labels")
        escaped = key.replace("~", "~0").replace("/", "~1")
        operations = ([{"op": "add", "path": f"/metadata/labels/{escaped}", "value": value}] if labels
                      else [{"op": "add", "path": "/metadata/labels", "value": {key: value}}])
        return json_patch(operations)(recorded)
    return route


class WebhookServer:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    def __init__(self, dns_names: Sequence[str] = (), *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_pem, self._ca_cert = _ca(self._ca_key)
        self._dns_names = ("localhost", *dns_names)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._directory = tempfile.TemporaryDirectory()

    @property
    def ca_bundle(self) -> str:
        """The CA as a `caBundle` value (base64 of the PEM)."""
        return base64.b64encode(self.ca_pem).decode()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"https://{self.host}:{self.port}{path}"

    def reset(self) -> None:
        """Forget every route and recorded request."""
        with self._lock:
            self.routes.clear()
            self.requests.clear()

    def recorded(self, path: str) -> list[Recorded]:
        with self._lock:
            return [request for request in self.requests if request.path.split("?")[0] == path]

    def start(self) -> WebhookServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert_file, key_file = self._server_files()
        context.load_cert_chain(cert_file, key_file)
        server = ThreadingHTTPServer((self.host, 0), _handler_class(self))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="webhook-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._directory.cleanup()

    def __enter__(self) -> WebhookServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _server_files(self) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in self._dns_names]
        names.extend(x509.IPAddress(ipaddress.ip_address(address)) for address in {"127.0.0.1", self.host})
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook")]))
            .issuer_name(self._ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )
        directory = Path(self._directory.name)
        (directory / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / "tls.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return str(directory / "tls.crt"), str(directory / "tls.key")

    def _answer(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            route = self.routes.get(recorded.path.split("?")[0])
        if route is None:
            return Reply(404, b"no route", {"Content-Type": "text/plain"})
        answer = route(recorded)
        return answer if isinstance(answer, Reply) else Reply(200, answer)


def non_loopback_address() -> str:
    """An IPv4 address of this machine that Endpoints accept (upstream refuses loopback endpoint addresses)."""
    candidates = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        candidates.add(probe.getsockname()[0])
    usable = sorted(address for address in candidates if not address.startswith("127."))
    if not usable:
        raise RuntimeError("this machine has no non-loopback IPv4 address for a webhook Service's endpoints")
    return usable[0]


def _ca(key: ec.EllipticCurvePrivateKey) -> tuple[bytes, x509.Certificate]:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook-test-ca")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), cert


def _handler_class(owner: WebhookServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            reply = owner._answer(Recorded(self.path, dict(self.headers.items()), body))
            if reply.delay:
                time.sleep(reply.delay)
            payload = json.dumps(reply.body).encode() if isinstance(reply.body, dict) else reply.body
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return
    return Handler
