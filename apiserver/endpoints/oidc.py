"""ServiceAccount issuer discovery: `/.well-known/openid-configuration` and `/openid/v1/jwks`.

Upstream's pkg/serviceaccount/openidmetadata.go: both documents are built once at start-up and served to GET
with `Cache-Control: public, max-age=3600`, compact JSON without a trailing newline, the key set as
`application/jwk-set+json`. They are non-resource URLs, so they pass authorization like any other path: the
bootstrap policy grants them to `system:service-account-issuer-discovery` (every ServiceAccount), not to
anonymous users. Other methods are go-restful's 405; a path below either document is its 404.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiserver.auth.jwt import DISCOVERY_CACHE_CONTROL, JWKS_CONTENT_TYPE, JWKS_PATH, OPENID_CONFIG_PATH
from apiserver.endpoints.router import Route
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import APPLICATION_JSON, encode_json, send_bytes, send_status
from apiserver.meta.errors import route_error


class _Document:
    """One discovery document at one exact path."""

    def __init__(self, path: str, document: Mapping[str, Any], content_type: bytes) -> None:
        self._path = path
        self._body = encode_json(document)
        self._content_type = content_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != self._path:
            return await send_status(send, route_error(404))
        if scope.get("method") != "GET":
            return await send_status(send, route_error(405))
        await send_bytes(send, 200, self._body, content_type=self._content_type,
                         headers=[(b"cache-control", DISCOVERY_CACHE_CONTROL.encode())])


def oidc_routes(configuration: Mapping[str, Any], key_set: Mapping[str, Any]) -> list[Route]:
    """The two discovery routes, serving the given OpenID configuration and JSON Web Key Set."""
    return [
        Route(OPENID_CONFIG_PATH, _Document(OPENID_CONFIG_PATH, configuration, APPLICATION_JSON)),
        Route(JWKS_PATH, _Document(JWKS_PATH, key_set, JWKS_CONTENT_TYPE.encode())),
    ]
