"""Twisted endpoint plugin `pilothouse-tls:`: TLS with optional, verified client certificates.

Daphne takes endpoint description strings only, and Twisted finds parsers for new prefixes through plugins in
every `twisted/plugins/` directory on sys.path (this directory has no `__init__.py` on purpose). Twisted imports
every plugin module while scanning, so the real imports wait until a description is parsed.

    pilothouse-tls:port=6443:interface=0.0.0.0:cert=apiserver.crt:key=apiserver.key:clientCA=ca.crt[:backlog=N]
"""
from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IStreamServerEndpointStringParser
from twisted.plugin import IPlugin
from zope.interface import implementer


@implementer(IPlugin, IStreamServerEndpointStringParser)
class PilothouseTLSEndpointParser:
    prefix = "pilothouse-tls"

    def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any:
        return _parse(reactor, *args, **kwargs)


def _parse(
    reactor: Any, port: str, cert: str, key: str, clientCA: str, interface: str = "", backlog: str = "50"
) -> Any:
    from pathlib import Path

    from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint

    from apiserver.server.tls import ServingTLS, TLSServerEndpoint

    tcp = TCP6ServerEndpoint if ":" in interface else TCP4ServerEndpoint
    listener = tcp(reactor, int(port), backlog=int(backlog), interface=interface)
    return TLSServerEndpoint(listener, ServingTLS(Path(cert), Path(key), Path(clientCA)))


pilothouse_tls = PilothouseTLSEndpointParser()
