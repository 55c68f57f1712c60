"""The discovery endpoints: `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`.

`DiscoveryApp` answers exactly those paths, for whatever the current catalog serves, and hands every other path
under `/api` and `/apis` (resources, unknown groups and versions) to the app behind it, so one Route per prefix
serves both discovery and resources. Documents are built and serialised on
first use and kept per catalog, so a catalog swapped in by `CatalogHolder.replace()` (CRDs, APIServices) is
visible at the next request and an unchanged one costs one dict lookup.

Per path, what kube-apiserver v1.32 does (its aggregator serves `/apis` and `/apis/<group>`; go-restful routes
serve `/api`, `/api/v1` and `/apis/<group>/<version>` and check method, Content-Type and Accept first):

| path | methods | aggregated | document |
|---|---|---|---|
| `/api`, `/api/` | GET (else 405) | yes | APIVersions |
| `/api/v1`, `/apis/<g>/<v>` (+ `/`) | GET (else 405) | no | APIResourceList |
| `/apis` | any | yes | APIGroupList |
| `/apis/` | any | no (the aggregator maps it to the plain handler) | APIGroupList |
| `/apis/<g>`, `/apis/<g>/` | any | no | APIGroup |

Aggregated discovery is chosen only when an Accept clause asks for `as=APIGroupDiscoveryList` in
`g=apidiscovery.k8s.io` `v=v2` or `v2beta1`; its Content-Type then repeats those parameters, which is what
kubectl keys on. It carries `ETag`, `Vary: Accept` and `Cache-Control: public`, and an `If-None-Match` equal to
the ETag gets 304. Unaggregated documents have no ETag, as upstream.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.aggregation.discovery import AggregatedDiscovery
from apiserver.endpoints import discovery_aggregated
from apiserver.endpoints import discovery_legacy as legacy
from apiserver.endpoints.router import Route, route_not_found
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import Request
from apiserver.http.responses import APPLICATION_JSON, encode_json, send_bytes, send_status
from apiserver.meta.errors import ApiError, NotAcceptable, route_error
from apiserver.meta.objects import JSONDict
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog

APPLICATION_YAML = b"application/yaml"
# The media types discovery writes, in the order upstream's serializers list them. Protobuf is not among them
# (yet): a client that asks for it alone gets 406, one that also accepts JSON gets JSON.
SERVED_MEDIA_TYPES = (APPLICATION_JSON, APPLICATION_YAML)
# What the go-restful routes declare they produce and consume (checked before any handler runs).
GO_RESTFUL_MEDIA_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_PRETTY_USER_AGENTS = ("curl", "Wget", "Mozilla/5.0")
_GO_FLOAT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One Accept clause as goautoneg parses it (q apart, parameters kept with their last value)."""

    type: str
    subtype: str
    quality: float
    params: tuple[tuple[str, str], ...]

    def matches(self, media_type: str) -> bool:
        served_type, _, served_subtype = media_type.partition("/")
        return (self.type == served_type and self.subtype in (served_subtype, "*")) or (
            self.type == "*" and self.subtype == "*"
        )


@dataclass(frozen=True, slots=True)
class MediaChoice:
    """The negotiated answer: media type, whether to indent, and the aggregated version asked for (or "")."""

    media_type: bytes
    pretty: bool = False
    aggregated_version: str = ""


def parse_accept(header: str) -> list[MediaRange]:
    """goautoneg.ParseAccept: clauses in its sort order (q descending, but a concrete type before a wildcard)."""
    ranges: list[MediaRange] = []
    for part in header.split(","):
        media, *raw_params = part.strip(" ").split(";")
        pieces = media.split("/")
        media_type = pieces[0].strip(" ")
        if len(pieces) == 2:
            subtype = pieces[1].strip(" ")
        elif len(pieces) == 1 and media_type == "*":
            subtype = "*"
        else:
            continue
        quality, params = 1.0, {}
        for raw in raw_params:
            name, separator, value = raw.partition("=")
            if not separator:
                continue
            if name.strip(" ") == "q":
                quality = float(value) if _GO_FLOAT.fullmatch(value) else 0.0
            else:
                params[name.strip(" ")] = value.strip(" ")
        ranges.append(MediaRange(media_type, subtype, quality, tuple(params.items())))
    return _goautoneg_sort(ranges)


def _goautoneg_sort(ranges: list[MediaRange]) -> list[MediaRange]:
    # Go's sort.Sort is an insertion sort for short inputs; its Less is not a strict order, so mirror it exactly.
    def less(first: MediaRange, second: MediaRange) -> bool:
        return (first.quality > second.quality or (first.type != "*" and second.type == "*")
                or (first.subtype != "*" and second.subtype == "*"))

    for index in range(1, len(ranges)):
        position = index
        while position > 0 and less(ranges[position], ranges[position - 1]):
            ranges[position - 1], ranges[position] = ranges[position], ranges[position - 1]
            position -= 1
    return ranges


def negotiate(accept: str, served: Sequence[bytes], *, aggregated: bool) -> MediaChoice | None:
    """NegotiateMediaTypeOptions: the first clause, in goautoneg order, that a served type satisfies.

    With `aggregated` (upstream's DiscoveryEndpointRestrictions) only clauses asking for an APIGroupDiscoveryList
    qualify; otherwise (DefaultEndpointRestrictions) only clauses asking for no conversion. An empty Accept gets
    the first served type. None means nothing qualifies.
    """
    if not accept:
        return MediaChoice(served[0])
    for clause in parse_accept(accept):
        for media_type in served:
            if clause.matches(media_type.decode()):
                choice = _clause_choice(clause, media_type, aggregated=aggregated)
                if choice is not None:
                    return choice
    return None


def _clause_choice(clause: MediaRange, media_type: bytes, *, aggregated: bool) -> MediaChoice | None:
    params = dict(clause.params)
    stream = params.get("stream", "")
    if (stream and (stream != "watch" or media_type != APPLICATION_JSON)) or params.get("sv", ""):
        return None
    pretty = params.get("pretty") == "1"
    if not {"g", "v", "as"} & params.keys():
        return None if aggregated else MediaChoice(media_type, pretty)
    group, version, kind = (params.get(name, "") for name in ("g", "v", "as"))
    is_discovery_list = (group, kind) == (discovery_aggregated.GROUP, discovery_aggregated.KIND) and (
        version in discovery_aggregated.VERSIONS
    )
    return MediaChoice(media_type, pretty, version) if aggregated and is_discovery_list else None


def wants_pretty(request: Request) -> bool:
    """isPrettyPrint: a non-empty `pretty` query value decides; otherwise browsers, curl and wget get indentation."""
    value = request.query_value("pretty")
    if value:
        return value in _GO_TRUE
    return (request.header("user-agent") or "").startswith(_PRETTY_USER_AGENTS)


def _media_types(header: str) -> list[str]:
    return [part.split(";", 1)[0].strip(" ") for part in header.split(",")]


def consumes_any(content_type: str, consumed: Sequence[str]) -> bool:
    """go-restful's Consumes check for a GET: no Content-Type passes, otherwise one listed type must match."""
    return not content_type or any(media in consumed for media in _media_types(content_type))


def accepts_any(accept: str, produced: Sequence[str]) -> bool:
    """go-restful's Produces check: `*/*` or an exact produced type (parameters ignored; `application/*` fails)."""
    return not accept or any(media == "*/*" or media in produced for media in _media_types(accept))


@dataclass(frozen=True, slots=True)
class Target:
    """One discovery document a path names. `key` identifies it in the per-catalog cache."""

    key: tuple[str, ...]
    go_restful: bool
    aggregatable: bool


def classify(path: str, catalog: ResourceCatalog, aggregator: AggregatedDiscovery | None = None) -> Target | None:
    """The discovery document at `path` in `catalog` (and the remote APIServices of `aggregator`), or None when the
    path is not one (left to the next app: the aggregator proxies a remote `/apis/<group>/<version>`)."""
    parts = path.removesuffix("/").split("/")[1:] if path != "/" else []
    trailing = path.endswith("/")
    if parts == ["api"]:
        return Target(("api",), True, True) if "" in catalog.groups() else None
    if parts == ["api", "v1"]:
        return Target(("resources", "", "v1"), True, False) if ("", "v1") in catalog.group_versions() else None
    if parts == ["apis"]:
        return Target(("apis",), False, not trailing)
    if len(parts) == 2 and parts[0] == "apis" and parts[1] and (
        catalog.versions(parts[1]) or (aggregator and aggregator.serves_group(parts[1]))
    ):
        return Target(("group", parts[1]), False, False)
    if len(parts) == 3 and parts[0] == "apis" and parts[1] and (parts[1], parts[2]) in catalog.group_versions():
        return Target(("resources", parts[1], parts[2]), True, False)
    return None


class DiscoveryDocuments:
    """Every discovery document of one catalog, built and encoded on first use and kept with the catalog."""

    def __init__(
        self, catalog: ResourceCatalog, server_address: str, aggregator: AggregatedDiscovery | None = None
    ) -> None:
        self.catalog = catalog
        self._server_address = server_address
        self.aggregator = aggregator if aggregator else None  # only while remote APIServices exist
        self.generation = aggregator.generation if aggregator is not None else None
        self._aggregated: dict[bool, tuple[list[JSONDict], str]] = {}
        self._bodies: dict[tuple[tuple[str, ...], MediaChoice], bytes] = {}

    def aggregated(self, *, core: bool) -> tuple[list[JSONDict], str]:
        """The aggregated items of `/api` (core) or `/apis`, and their quoted ETag."""
        if (found := self._aggregated.get(core)) is None:
            items = discovery_aggregated.discovery_items(self.catalog, core=core)
            if self.aggregator is not None and not core:
                items = self.aggregator.aggregated_items(self.catalog, items)
            found = self._aggregated[core] = (items, discovery_aggregated.discovery_etag(items))
        return found

    def body(self, key: tuple[str, ...], choice: MediaChoice) -> bytes:
        """The document `key` names, encoded as `choice` says (aggregated when it names a version)."""
        if (body := self._bodies.get((key, choice))) is None:
            body = self._bodies[(key, choice)] = encode_document(self.document(key, choice.aggregated_version), choice)
        return body

    def document(self, key: tuple[str, ...], aggregated_version: str = "") -> JSONDict:
        """The document itself; raises LookupError for a key this catalog does not serve."""
        if aggregated_version:
            items, _ = self.aggregated(core=key == ("api",))
            return discovery_aggregated.discovery_list(items, aggregated_version)
        kind, *names = key
        document: JSONDict | None
        if kind == "api":
            document = legacy.api_versions(self._server_address)
        elif kind == "apis":
            document = legacy.api_group_list(self.catalog)
            if self.aggregator is not None:
                document["groups"] = self.aggregator.group_list(self.catalog)
        elif kind == "group":
            document = (legacy.api_group(self.catalog, names[0]) if self.aggregator is None
                        else self.aggregator.group(self.catalog, names[0]))
        else:
            document = legacy.api_resource_list(self.catalog, names[0], names[1])
        if document is None:
            raise LookupError(f"no discovery document {key!r} in this catalog")
        return document


def encode_document(document: JSONDict, choice: MediaChoice) -> bytes:
    """Upstream's serializers: compact JSON plus newline, MarshalIndent without one, or YAML with sorted keys."""
    if choice.media_type == APPLICATION_YAML:
        text: str = yaml.safe_dump(
            document, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 30
        )
        return text.encode()
    if choice.pretty:
        return encode_json(document, indent=True)
    return encode_json(document) + b"\n"


class DiscoveryApp:
    """Serves the discovery documents of `holder.current`; any other path goes to `next_app`."""

    def __init__(self, holder: CatalogHolder, *, server_address: str, next_app: ASGIApp = route_not_found,
                 aggregator: AggregatedDiscovery | None = None) -> None:
        self._holder = holder
        self._server_address = server_address
        self._next_app = next_app
        self._documents: DiscoveryDocuments | None = None
        self._aggregator = aggregator

    def documents(self) -> DiscoveryDocuments:
        """The documents of the catalog in force now (rebuilt lazily after the holder swaps catalogs)."""
        catalog = self._holder.current
        documents = self._documents
        aggregator = self._aggregator
        generation = aggregator.generation if aggregator is not None else None
        if documents is None or documents.catalog is not catalog or documents.generation != generation:
            documents = self._documents = DiscoveryDocuments(catalog, self._server_address, aggregator)
        return documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        documents = self.documents()
        target = classify(scope["path"], documents.catalog, documents.aggregator)
        if target is None:
            return await self._next_app(scope, receive, send)
        request = Request(scope, receive)
        if target.go_restful and (rejection := _go_restful_rejection(request)) is not None:
            return await send_status(send, rejection)
        accept = request.header("accept") or ""
        if target.aggregatable:
            choice = negotiate(accept, SERVED_MEDIA_TYPES, aggregated=True)
            if choice is not None and choice.aggregated_version:
                return await _send_aggregated(request, send, documents, target, choice)
        choice = negotiate(accept, SERVED_MEDIA_TYPES, aggregated=False)
        if choice is None:
            return await send_status(send, NotAcceptable([media.decode() for media in SERVED_MEDIA_TYPES]))
        choice = replace(choice, pretty=choice.pretty or wants_pretty(request))
        await send_bytes(send, 200, documents.body(target.key, choice), content_type=choice.media_type)


def _go_restful_rejection(request: Request) -> ApiError | None:
    """go-restful's route checks, in its order: method (405), Content-Type (415), Accept (406)."""
    if request.method != "GET":
        return route_error(405)
    if not consumes_any(request.header("content-type") or "", GO_RESTFUL_MEDIA_TYPES):
        return route_error(415, "415: Unsupported Media Type")
    if not accepts_any(request.header("accept") or "", GO_RESTFUL_MEDIA_TYPES):
        return route_error(406, "406: Not Acceptable")
    return None


async def _send_aggregated(
    request: Request, send: Send, documents: DiscoveryDocuments, target: Target, choice: MediaChoice
) -> None:
    _, etag = documents.aggregated(core=target.key == ("api",))
    headers = [(b"etag", etag.encode()), (b"vary", b"Accept"), (b"cache-control", b"public")]
    if request.header("if-none-match") == etag:
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        return await send({"type": "http.response.body", "body": b""})
    choice = replace(choice, pretty=choice.pretty or wants_pretty(request))
    # generateMediaTypeWithGVK: the requested conversion repeated, which is what kubectl keys on.
    content_type = b"%s;g=%s;v=%s;as=%s" % (
        choice.media_type, discovery_aggregated.GROUP.encode(), choice.aggregated_version.encode(),
        discovery_aggregated.KIND.encode(),
    )
    await send_bytes(send, 200, documents.body(target.key, choice), content_type=content_type, headers=headers)


def build_discovery_routes(
    catalog: CatalogHolder, *, server_address: str, resources: ASGIApp | None = None,
    aggregator: AggregatedDiscovery | None = None,
) -> list[Route]:
    """Routes for `/api` and `/apis` whose app answers the discovery paths and passes the rest to `resources`.

    `server_address` is the `host:port` clients are told to use (Go's net.JoinHostPort of the advertise address
    and the secure port). Without `resources`, other paths get go-restful's 404 Status, as the router's default
    `/api` route gives.
    """
    app = DiscoveryApp(catalog, server_address=server_address, next_app=resources or route_not_found,
                       aggregator=aggregator)
    return [Route("/api", app), Route("/apis", app)]
