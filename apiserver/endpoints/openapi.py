"""/openapi/v2 and /openapi/v3: the OpenAPI documents, served and cached as kube-openapi's handlers serve them.

`/openapi/v3` is an index, `{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=
<HASH>"}}}`, where HASH is the upper-case hex SHA-512 of that group-version's document. Each document is served
with its hash as a quoted `ETag`; with `?hash=` it is immutable (`Cache-Control: public, immutable`, `Expires`
a year ahead), and a stale hash is answered with a 301 to the current URL. `If-None-Match` and
`If-Modified-Since` get 304 (Go's http.ServeContent). An unknown group-version gets an empty 200, as upstream's
handler writes nothing for it; an Accept that excludes JSON gets an empty 406 (the gnostic protobuf forms of
both versions are not served).

Documents are generated from the catalog and the type schemas on first use (in a worker thread) and cached:
each group-version's until the specs of that group-version change, the index and /openapi/v2 until the catalog
is replaced (CRDs and APIServices replace it) or the remote APIServices' documents change: the index then lists
their group-versions with their servers' hashes, and /openapi/v2 merges their paths (aggregation/openapi.py).
"""
from __future__ import annotations

import asyncio
import datetime
import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from apiserver.aggregation.openapi import RemoteOpenAPI, merged_swagger
from apiserver.endpoints.discovery import parse_accept
from apiserver.endpoints.openapi_operations import group_version_path
from apiserver.endpoints.openapi_v2 import swagger_document
from apiserver.endpoints.openapi_v3 import group_version_document
from apiserver.endpoints.router import Route
from apiserver.endpoints.version import GIT_VERSION
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import Request
from apiserver.http.responses import encode_json, send_status
from apiserver.meta.errors import path_not_found
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog
from apiserver.registry.schema import TypeSchemas
from apiserver.registry.spec import ResourceSpec

V2_PATH: Final = "/openapi/v2"
V3_PATH: Final = "/openapi/v3"
_JSON: Final = b"application/json"
# Accept values kube-openapi answers with JSON without parsing them.
_JSON_ACCEPTS: Final = frozenset({"", "*/*", "application/json", "application/*"})

SchemaSource = TypeSchemas | Callable[[], TypeSchemas]
"""Type schemas, or a function returning the ones in force."""


@dataclass(frozen=True, slots=True)
class Document:
    """A served document: its bytes, its hash (upper-case hex SHA-512) and when it was generated (epoch s)."""

    body: bytes
    hash: str
    generated: float

    @classmethod
    def of(cls, body: bytes, now: float) -> Document:
        return cls(body, hashlib.sha512(body).hexdigest().upper(), now)


class OpenAPIDocuments:
    """The documents of the current catalog, generated lazily and cached (thread-safe).

    `schemas` defaults to the built-in v1.32 type schemas, loaded on first use. It may be a function returning
    the schemas in force (built-ins plus custom resource schemas): a group-version's document is regenerated
    when its specs change, which is also when its schemas change.
    """

    def __init__(
        self, holder: CatalogHolder, schemas: SchemaSource | None = None, *, server_version: str = GIT_VERSION,
        clock: Callable[[], float] = time.time, remote: RemoteOpenAPI | None = None,
    ) -> None:
        self._holder = holder
        self._remote = remote
        self._schemas = schemas
        self._server_version = server_version
        self._clock = clock
        self._lock = threading.RLock()
        self._group_versions: dict[str, tuple[tuple[ResourceSpec, ...], Document]] = {}
        self._index: tuple[ResourceCatalog, int, Document] | None = None
        self._swagger: tuple[ResourceCatalog, int, Document] | None = None

    def _remote_generation(self) -> int:
        return self._remote.generation if self._remote is not None else 0

    def _current(self, cached: tuple[ResourceCatalog, int, Document] | None) -> Document | None:
        if cached is None or cached[0] is not self._holder.current or cached[1] != self._remote_generation():
            return None
        return cached[2]

    def cached_index(self) -> Document | None:
        """The index if it is current, without generating anything."""
        return self._current(self._index)

    def index(self) -> Document:
        """The /openapi/v3 index, generating any group-version document that is not current."""
        with self._lock:
            catalog, generation = self._holder.current, self._remote_generation()
            if (current := self._current(self._index)) is not None:
                return current
            paths: dict[str, dict[str, str]] = {}
            for group, version in catalog.group_versions():
                key = group_version_path(group, version)
                document = self._group_version(catalog, key, group, version)
                paths[key] = {"serverRelativeURL": f"{V3_PATH}/{key}?hash={document.hash}"}
            if self._remote is not None:  # a remote APIService's group-version is its server's
                paths.update(self._remote.index_paths())
            index = Document.of(encode_json({"paths": dict(sorted(paths.items()))}), self._clock())
            self._index = (catalog, generation, index)
            return index

    def _converted(self, key: str) -> Document | None:
        """A legacy remote server's v2 document converted to v3, which this server serves itself."""
        converted = self._remote.converted_document(key) if self._remote is not None else None
        return Document(*converted) if converted is not None else None

    def cached_group_version(self, key: str) -> Document | None:
        """A group-version's document if it is current, without generating anything."""
        if (converted := self._converted(key)) is not None:
            return converted
        catalog = self._holder.current
        group_version = _parse_key(key)
        cached = self._group_versions.get(key)
        if group_version is None or cached is None:
            return None
        return cached[1] if _same(cached[0], catalog.resources(*group_version)) else None

    def group_version(self, key: str) -> Document | None:
        """The document of `api/v1` or `apis/<group>/<version>`; None when that group-version is not served."""
        if (converted := self._converted(key)) is not None:
            return converted
        group_version = _parse_key(key)
        with self._lock:
            catalog = self._holder.current
            if group_version is None or group_version not in catalog.group_versions():
                return None
            return self._group_version(catalog, key, *group_version)

    def _group_version(self, catalog: ResourceCatalog, key: str, group: str, version: str) -> Document:
        specs = catalog.resources(group, version)
        cached = self._group_versions.get(key)
        if cached is not None and _same(cached[0], specs):
            return cached[1]
        body = encode_json(group_version_document(catalog, group, version, self.schemas,
                                                  server_version=self._server_version))
        document = Document.of(body, self._clock())
        self._group_versions[key] = (specs, document)
        return document

    def cached_swagger(self) -> Document | None:
        return self._current(self._swagger)

    def swagger(self) -> Document:
        """The /openapi/v2 document (with the remote APIServices' paths merged in)."""
        with self._lock:
            catalog, generation = self._holder.current, self._remote_generation()
            if (current := self._current(self._swagger)) is not None:
                return current
            document = swagger_document(catalog, self.schemas, server_version=self._server_version)
            if self._remote is not None:
                document = merged_swagger(document, self._remote.swagger_sources())
            self._swagger = (catalog, generation, Document.of(encode_json(document), self._clock()))
            return self._swagger[2]

    @property
    def schemas(self) -> TypeSchemas:
        """The type schemas documents are generated from now."""
        if self._schemas is None:
            return TypeSchemas.builtin()
        return self._schemas if isinstance(self._schemas, TypeSchemas) else self._schemas()


def _parse_key(key: str) -> tuple[str, str] | None:
    parts = key.split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


def _same(first: tuple[ResourceSpec, ...], second: tuple[ResourceSpec, ...]) -> bool:
    return len(first) == len(second) and all(a is b for a, b in zip(first, second, strict=True))


class OpenAPIApp:
    """The handler of everything under /openapi."""

    def __init__(self, documents: OpenAPIDocuments) -> None:
        self._documents = documents

    @property
    def documents(self) -> OpenAPIDocuments:
        """The document cache this app serves from (warm it with `documents.index()` in a thread)."""
        return self._documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path: str = scope["path"]
        if path == V3_PATH:
            return await self._index(request, send)
        if path.startswith(V3_PATH + "/"):
            return await self._group_version(request, send, path.removeprefix(V3_PATH + "/"))
        if path == V2_PATH:
            return await self._swagger(request, send)
        await send_status(send, path_not_found())

    async def _index(self, request: Request, send: Send) -> None:
        document = self._documents.cached_index()
        if document is None:
            document = await asyncio.to_thread(self._documents.index)
        await _serve(request, send, document, [(b"content-type", _JSON)])

    async def _group_version(self, request: Request, send: Send, key: str) -> None:
        vary = [(b"vary", b"Accept")]
        if not _accepts_json(request.header("accept") or ""):
            return await _send_empty(send, 406, vary)
        documents = self._documents
        document = documents.cached_group_version(key) or await asyncio.to_thread(documents.group_version, key)
        if document is None:
            return await _send_empty(send, 200, vary)
        headers = [*vary, (b"content-type", _JSON), (b"etag", _quoted(document.hash))]
        requested_hash = (request.query.get("hash") or [""])[0]
        if requested_hash and requested_hash != document.hash:
            location = f"{V3_PATH}/{key}?hash={document.hash}".encode()
            return await _send_empty(send, 301, [*headers, (b"location", location)])
        if requested_hash:
            headers += [(b"cache-control", b"public, immutable"), (b"expires", _a_year_from_now())]
        await _serve(request, send, document, headers, etag_set=True)

    async def _swagger(self, request: Request, send: Send) -> None:
        vary = [(b"vary", b"Accept")]
        if not _accepts_json(request.header("accept") or ""):
            return await _send_empty(send, 406, vary)
        document = self._documents.cached_swagger()
        if document is None:
            document = await asyncio.to_thread(self._documents.swagger)
        await _serve(request, send, document, [*vary, (b"content-type", _JSON)])


def _a_year_from_now() -> bytes:
    """Go's `time.Now().AddDate(1, 0, 0).Format(time.RFC1123)` on a server running in UTC."""
    now = datetime.datetime.now(datetime.UTC)
    try:
        later = now.replace(year=now.year + 1)
    except ValueError:  # 29 February: Go normalises the missing day to 1 March
        later = now.replace(year=now.year + 1, month=3, day=1)
    return later.strftime("%a, %d %b %Y %H:%M:%S UTC").encode()


def _accepts_json(accept: str) -> bool:
    """Whether kube-openapi's negotiation picks JSON: the first clause (goautoneg order) any served type fits."""
    if accept in _JSON_ACCEPTS:
        return True
    for clause in parse_accept(accept):
        if clause.type in ("application", "*") and clause.subtype in ("json", "*"):
            return True
    return False


def _quoted(value: str) -> bytes:
    return b'"' + value.encode() + b'"'


async def _send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _serve(
    request: Request, send: Send, document: Document, headers: list[tuple[bytes, bytes]], *, etag_set: bool = False
) -> None:
    """http.ServeContent: conditional requests answered 304, otherwise the whole body (none for HEAD)."""
    etag = _quoted(document.hash)
    if not etag_set:
        headers = [*headers, (b"etag", etag)]
    last_modified = email.utils.formatdate(int(document.generated), usegmt=True).encode()
    if _not_modified(request, document):
        kept = [(name, value) for name, value in headers if name != b"content-type"]
        return await _send_empty_304(send, kept)
    headers = [*headers, (b"last-modified", last_modified), (b"accept-ranges", b"bytes"),
               (b"content-length", b"%d" % len(document.body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else document.body})


async def _send_empty_304(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _not_modified(request: Request, document: Document) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.header("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, document.hash)
    if_modified_since = request.header("if-modified-since")
    if if_modified_since:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(document.generated) <= since
    return False


def _etag_matches(header: str, hash_: str) -> bool:
    """Go's checkIfNoneMatch: `*`, or any listed entity tag equal to ours under weak comparison."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == f'"{hash_}"':
            return True
    return False


def build_openapi_routes(
    holder: CatalogHolder, schemas: SchemaSource | None = None, *, server_version: str = GIT_VERSION,
    remote: RemoteOpenAPI | None = None,
) -> list[Route]:
    """The route serving /openapi/v2 and /openapi/v3 (and everything under /openapi) for the router.

    Call `documents_of(route).index()` at start-up (in a thread) to have the documents ready before the first
    request; otherwise the first /openapi request generates them.
    """
    documents = OpenAPIDocuments(holder, schemas, server_version=server_version, remote=remote)
    return [Route("/openapi", OpenAPIApp(documents))]


def documents_of(route: Route) -> OpenAPIDocuments:
    """The document cache behind a route from `build_openapi_routes` (to warm it up)."""
    app = route.app
    if not isinstance(app, OpenAPIApp):
        raise TypeError(f"not an OpenAPI route: {route!r}")
    return app.documents
