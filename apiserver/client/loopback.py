"""The API app of this process, handed over by the composition root to code that calls it in-process (the console).

`apiserver/asgi.py build_application` installs the API app (and, from `serve`, the client CA bundle of
`--client-ca-file`) here when it builds the root app; the console reads it with `current()`. The console
cannot import the server package (.importlinter), and the API app is only known once `build_server` ran, so
this small holder is how the two meet. It holds no identity: every caller still brings its own credential
(`apiserver.client.credentials`).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from apiserver.http.asgi import ASGIApp


@dataclass(frozen=True, slots=True)
class LoopbackAPI:
    """The API app, and the CA certificates that sign user client certificates (empty: none accepted)."""

    app: ASGIApp
    client_cas: tuple[x509.Certificate, ...] = ()


class NotInstalled(RuntimeError):
    """No API app was installed: the console runs without a server behind it."""


_current: LoopbackAPI | None = None


def install(app: ASGIApp, *, client_ca_file: Path | str | None = None,
            client_cas: Sequence[x509.Certificate] = ()) -> LoopbackAPI:
    """Make `app` the process's API app; `client_ca_file` (a PEM bundle) or `client_cas` the user CAs."""
    global _current
    cas = list(client_cas)
    if client_ca_file:
        with contextlib.suppress(OSError, ValueError):  # then certificate login is unavailable; tokens still work
            cas += x509.load_pem_x509_certificates(Path(client_ca_file).read_bytes())
    _current = LoopbackAPI(app, tuple(cas))
    return _current


def current() -> LoopbackAPI:
    if _current is None:
        raise NotInstalled("no API app is installed in this process")
    return _current


def uninstall() -> None:
    global _current
    _current = None
