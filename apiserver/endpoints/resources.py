"""The resource endpoints: from a request's RequestInfo to the verb handler that serves it.

Every resource request (`/api/v1/...`, `/apis/<group>/<version>/...`) arrives here. The catalog says whether
the resource is served; the path shape and method say whether a route exists, as kube-apiserver's go-restful
routes do (an unknown path is a 404, a known path with a method it does not serve a 405, both with the route
table's Status); the spec's verbs say what the resource supports. The handler then gets a `ResourceRequest`
with everything resolved. Errors a handler raises before it starts its response become negotiated Status bodies.
"""
from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from apiserver.admission.chain import AdmissionChain
from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.audit.events import add_annotation
from apiserver.endpoints import answers
from apiserver.http.asgi import Message, Receive, Scope, Send
from apiserver.http.negotiation import JSON, PROTOBUF, YAML, MediaType, protobuf_codec
from apiserver.http.request import ClientDisconnected, Request, request_info_of, set_request_info, user_of
from apiserver.meta.errors import ApiError, MethodNotAllowed, path_not_found, route_error
from apiserver.meta.objects import Clock, JSONDict, utc_now
from apiserver.meta.requestinfo import RequestInfo, parse_request_info
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog
from apiserver.registry.scale import ScaleStore
from apiserver.registry.spec import ResourceSpec, Verb

if TYPE_CHECKING:
    from apiserver.registry.store import ResourceStore
    from apiserver.registry.virtual import VirtualStore

# kube-apiserver's --min-request-timeout: a watch without timeoutSeconds lasts this long times 1-2 (random).
DEFAULT_MIN_REQUEST_TIMEOUT = 1800.0
# How often a watch that allows bookmarks asks its stream for one (upstream's cacher: about once a minute).
DEFAULT_BOOKMARK_INTERVAL = 60.0

_COLLECTION_METHODS = {"GET": ("list", "watch"), "POST": ("create",), "DELETE": ("deletecollection",)}
_ITEM_METHODS = {"GET": ("get",), "PUT": ("update",), "PATCH": ("patch",), "DELETE": ("delete",)}
_STATUS_VERBS = frozenset({"get", "update", "patch"})


SubresourceStores = Callable[[str], Any]
"""Builds the store of a subresource with its own semantics for the parent object's name (serviceaccounts/token):
an object with `spec` (what the request reads and answers) and the verb methods the subresource serves."""


class StoreProvider(Protocol):
    """Where handlers find the store of a resource (the Registry)."""

    def store_for(self, group: str, version: str, plural: str) -> ResourceStore | VirtualStore | None:
        """The store serving the resource, or None when it is not served."""
        ...


@dataclass(frozen=True, slots=True)
class ResourceServer:
    """What every resource handler shares: the catalog, the stores, admission, the clock and shutdown.

    `catalog` may be a CatalogHolder, whose current catalog is read once per request. `subresources` maps
    (group, plural, subresource) to the stores of create-only subresources with semantics of their own.
    """

    catalog: ResourceCatalog | CatalogHolder
    registry: Callable[[], StoreProvider]
    admission: AdmissionChain = field(default_factory=AdmissionChain)
    clock: Clock = utc_now
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    min_request_timeout: float = DEFAULT_MIN_REQUEST_TIMEOUT
    bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL
    subresources: Mapping[tuple[str, str, str], SubresourceStores] = field(default_factory=dict)
    # Connect subresources (pods/proxy …) by (group, plural, subresource): handlers that serve the whole request.
    connect: Mapping[tuple[str, str, str], Callable[[ResourceRequest], Awaitable[None]]] = field(default_factory=dict)

    def current_catalog(self) -> ResourceCatalog:
        catalog = self.catalog
        return catalog.current if isinstance(catalog, CatalogHolder) else catalog


@dataclass(frozen=True, slots=True)
class ResourceRequest:
    """One request to a resource, resolved: its spec and store, namespace ("" when cluster-scoped or across
    all namespaces), name, subresource and verb."""

    request: Request
    receive: Receive
    send: Send
    server: ResourceServer
    spec: ResourceSpec
    store: ResourceStore
    verb: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    watch_path: bool = False

    def attributes(
        self, operation: Operation, obj: JSONDict | None = None, old: JSONDict | None = None, *,
        dry_run: bool = False, name: str | None = None,
    ) -> AdmissionAttributes:
        """What admission sees of this request: the URL's resource, and the kind of the body."""
        group, version, plural = self._admitted_resource()
        return AdmissionAttributes(
            operation=operation, group=group, version=version, resource=plural, kind=self.spec.kind,
            namespace=self.namespace, name=self.name if name is None else name, subresource=self.subresource,
            object=obj, old_object=old, user=user_of(self.request.scope), dry_run=dry_run,
            warnings=admission_warnings(self.request.scope),
            annotate=lambda key, value: add_annotation(self.request.scope, key, value),
            options=_admission_options(operation, self.request),
        )

    def _admitted_resource(self) -> tuple[str, str, str]:
        """The group, version and resource of the URL, as upstream's admission attributes name them: the spec of
        a subresource store names the body (policy/v1 Eviction, autoscaling/v1 Scale), not the resource."""
        if self.subresource:
            try:
                info = request_info_of(self.request.scope)
            except LookupError:
                pass
            else:
                return info.api_group, info.api_version, info.resource
        return self.spec.group, self.spec.version, self.spec.plural

    def admission_hook(
        self, operation: Operation, *, dry_run: bool, name: str | None = None, mutate: bool = False
    ) -> Callable[[JSONDict | None, JSONDict | None], Awaitable[None]]:
        """The store's callback into admission: validating plugins (and mutating ones when `mutate`).

        On UPDATE a missing old object means the update creates; on DELETE the object passed is the old one.
        """
        chain = self.server.admission

        async def hook(obj: JSONDict | None, old: JSONDict | None) -> None:
            phase = operation
            if operation is Operation.UPDATE and old is None:
                phase = Operation.CREATE
            if operation is Operation.DELETE:
                obj, old = None, old if old is not None else obj
            attributes = self.attributes(phase, obj, old, dry_run=dry_run, name=name)
            if mutate:
                await chain.admit(attributes)
            if not mutate or operation is Operation.DELETE:
                await chain.validate(attributes)

        return hook

    @property
    def serializers(self) -> tuple[MediaType, ...]:
        """JSON and YAML, and protobuf when the codec knows this resource's kind."""
        codec = protobuf_codec()
        if codec is not None and codec.supports_protobuf(self.spec.group_version, self.spec.kind):
            return (JSON, YAML, PROTOBUF)
        return (JSON, YAML)


Handler = Callable[[ResourceRequest], Awaitable[None]]


class ResourceEndpoints:
    """The ASGI app for resource requests; `handlers` maps each verb to its handler."""

    def __init__(self, server: ResourceServer, handlers: dict[str, Handler] | None = None) -> None:
        self.server = server
        self._handlers = handlers if handlers is not None else default_handlers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        tracked = _TrackedSend(send, scope)
        request = Request(scope, receive)
        try:
            resolved = self.resolve(request, _request_info(scope, request), receive, tracked)
            await self._handlers[resolved.verb](resolved)
        except ClientDisconnected:
            return
        except ApiError as error:
            if tracked.started:
                raise
            await answers.send_error(request, tracked, error)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Watches over a WebSocket upgrade; any other WebSocket request, or an error, refuses the handshake
        (Daphne answers a close before accept with 403)."""
        if (await receive())["type"] != "websocket.connect":
            return
        scope.setdefault("method", "GET")
        request = Request(scope, receive)
        try:
            resolved = self.resolve(request, _request_info(scope, request), receive, send)
            if resolved.verb == "connect":
                # The connect handler does its own handshake: it reads the `websocket.connect` again.
                return await handle_connect(dataclasses.replace(resolved, receive=_replaying_connect(receive)))
            if resolved.verb != "watch":
                raise route_error(404)
            from apiserver.endpoints import list as list_endpoint

            await list_endpoint.handle_websocket(resolved)
        except ApiError:
            await send({"type": "websocket.close", "code": 1008})

    def resolve(self, request: Request, info: RequestInfo, receive: Receive, send: Send) -> ResourceRequest:
        """The resource, namespace, name and verb the request addresses. Raises 404/405 as go-restful routes."""
        spec = self._spec(info)
        parts = info.parts
        name = parts[1] if len(parts) > 1 else ""
        subresource = parts[2] if len(parts) > 2 else ""
        watch_path = _is_watch_path(info)
        namespace = _namespace(info, spec)
        connect = (spec.group, spec.plural, subresource) in self.server.connect
        if (len(parts) > 3 and not connect) or (watch_path and subresource) or not _route_exists(info, spec, name):
            raise route_error(404)
        if connect and name:
            return ResourceRequest(
                request=request, receive=receive, send=send, server=self.server, spec=spec,
                store=cast("ResourceStore", None), verb="connect", namespace=namespace, name=name,
                subresource=subresource,
            )
        stores = self.server.subresources.get((spec.group, spec.plural, subresource))
        if stores is not None:
            return self._create_only_subresource(request, info, receive, send, stores(name), namespace, name,
                                                 subresource)
        # `approval` (certificatesigningrequests) and `finalize` (namespaces) are whole-object updates like
        # `status`; their strategies keep them to status.conditions and spec.finalizers. `scale` reads and writes
        # an autoscaling/v1 Scale through the parent's store. Other subresources are not served here yet.
        if subresource and (spec.subresource(subresource) is None
                            or subresource not in ("status", "approval", "finalize", "scale", "ephemeralcontainers")):
            raise route_error(404)
        verb = _verb(request.method, info, spec, name=name, subresource=subresource, watch_path=watch_path)
        store = self.server.registry().store_for(spec.group, spec.version, spec.plural)
        if store is None:
            raise route_error(404)
        if subresource == "scale":
            scale = ScaleStore(cast("ResourceStore", store))
            spec, store = scale.spec, cast("ResourceStore", scale)
        # A VirtualStore answers the verbs it lacks with 405 itself, so handlers treat every store alike.
        return ResourceRequest(
            request=request, receive=receive, send=send, server=self.server, spec=spec,
            store=cast("ResourceStore", store), verb=verb,
            namespace=namespace, name=name, subresource=subresource, watch_path=watch_path,
        )

    def _create_only_subresource(
        self, request: Request, info: RequestInfo, receive: Receive, send: Send, store: Any, namespace: str,
        name: str, subresource: str,
    ) -> ResourceRequest:
        """A POST to a subresource whose store answers creates (a TokenRequest); other methods are 405."""
        if request.method != "POST" or info.verb != "create":
            raise route_error(405)
        return ResourceRequest(
            request=request, receive=receive, send=send, server=self.server, spec=store.spec,
            store=cast("ResourceStore", store), verb="create", namespace=namespace, name=name,
            subresource=subresource,
        )

    def _spec(self, info: RequestInfo) -> ResourceSpec:
        catalog = self.server.current_catalog()
        spec = catalog.lookup(info.api_group, info.api_version, info.resource)
        if spec is not None:
            return spec
        if (info.api_group, info.api_version) in catalog.group_versions():
            raise route_error(404)
        raise path_not_found()


_OPTIONS_KINDS = {Operation.CREATE: "CreateOptions", Operation.UPDATE: "UpdateOptions",
                  Operation.DELETE: "DeleteOptions"}


def _admission_options(operation: Operation, request: Request) -> JSONDict | None:
    """The operation's options as admission webhooks see them (from the query; a DeleteOptions body is not
    read again)."""
    kind = _OPTIONS_KINDS.get(operation)
    if kind is None:
        return None
    options: JSONDict = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
    keys = ("gracePeriodSeconds", "propagationPolicy", "dryRun") if operation is Operation.DELETE else (
        "dryRun", "fieldManager", "fieldValidation")
    for key in keys:
        values = request.query.get(key)
        if not values:
            continue
        if key == "dryRun":
            options[key] = list(values)
        elif key == "gracePeriodSeconds" and values[0].lstrip("-").isdigit():
            options[key] = int(values[0])
        else:
            options[key] = values[0]
    return options


def _request_info(scope: Scope, request: Request) -> RequestInfo:
    try:
        return request_info_of(scope)
    except LookupError:
        info = parse_request_info(request.method, request.path, request.query)
        set_request_info(scope, info)
        return info


def _is_watch_path(info: RequestInfo) -> bool:
    """The deprecated `/api/v1/watch/...` form (the verb is in the path)."""
    segments = info.path.strip("/").split("/")
    position = 2 if info.api_prefix == "api" else 3
    return len(segments) > position and segments[position] == "watch"


def _namespace(info: RequestInfo, spec: ResourceSpec) -> str:
    return info.namespace if spec.namespaced else ""


def _route_exists(info: RequestInfo, spec: ResourceSpec, name: str) -> bool:
    """Namespaced resources have items only under /namespaces/{namespace}; cluster-scoped ones never there.

    For namespaces themselves the namespace RequestInfo reports is the path's own name (`/namespaces/x`); any
    other namespace in the path (`/namespaces/x/namespaces`) is a path under a namespace.
    """
    is_namespaces = spec.group == "" and spec.plural == "namespaces"
    in_namespace_path = bool(info.namespace) and (not is_namespaces or info.namespace != name)
    if spec.namespaced:
        return in_namespace_path or not name
    return not in_namespace_path


def _verb(method: str, info: RequestInfo, spec: ResourceSpec, *, name: str, subresource: str, watch_path: bool) -> str:
    """The verb, checked against the routes the path has and the verbs the resource (or subresource) serves."""
    if subresource:
        sub = spec.subresource(subresource)
        verbs = {str(verb) for verb in sub.verbs} if sub is not None else set()
        if info.verb not in _STATUS_VERBS or info.verb not in verbs or method not in _ITEM_METHODS:
            raise route_error(405)
        return info.verb
    served = {str(verb) for verb in spec.verbs}
    if watch_path:
        if Verb.WATCH not in spec.verbs:
            raise route_error(404)
        return "watch"
    routes = _ITEM_METHODS if name else _COLLECTION_METHODS
    if spec.namespaced and not info.namespace:
        routes = {"GET": routes.get("GET", ())} if "list" in routes.get("GET", ()) else {}
    allowed = routes.get(method, ())
    if info.verb not in allowed:
        raise route_error(405)
    if info.verb == "watch" and "watch" not in served:
        if "list" not in served:
            raise route_error(405)
        raise MethodNotAllowed(spec.plural, "watch", group=spec.group)
    if info.verb not in served:
        raise route_error(405)
    return info.verb


_ADMISSION_WARNINGS_KEY = "pilothouse.admission_warnings"


def admission_warnings(scope: Scope) -> list[str]:
    """The request's list of admission warnings (one per request, shared by every admission call)."""
    warnings: list[str] = scope.setdefault(_ADMISSION_WARNINGS_KEY, [])
    return warnings


class _TrackedSend:
    """Remembers whether the response has started, so late errors are not sent as a second response; adds the
    `Warning` headers admission queued (on success and error answers alike, as upstream's warning recorder)."""

    def __init__(self, send: Send, scope: Scope | None = None) -> None:
        self._send = send
        self._scope = scope
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            queued = self._scope.get(_ADMISSION_WARNINGS_KEY) if self._scope is not None else None
            if queued:
                headers = list(message.get("headers") or ())
                present = {value for name, value in headers if name.lower() == b"warning"}
                headers += [header for header in answers.warning_headers(queued) if header[1] not in present]
                message = {**message, "headers": headers}
        await self._send(message)


def default_handlers() -> dict[str, Handler]:
    """Every verb's handler (imported here so the handler modules can import this one)."""
    from apiserver.endpoints import create, delete, get, patch, update
    from apiserver.endpoints import list as list_endpoint

    handlers: dict[str, Any] = {
        "get": get.handle,
        "list": list_endpoint.handle,
        "watch": list_endpoint.handle,
        "create": create.handle,
        "update": update.handle,
        "patch": patch.handle,
        "delete": delete.handle,
        "deletecollection": delete.handle_collection,
        "connect": handle_connect,
    }
    return handlers


def _replaying_connect(receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "websocket.connect"}
        return await receive()

    return replay


async def handle_connect(resource: ResourceRequest) -> None:
    """A connect subresource (pods/proxy …): its handler serves the whole request."""
    await resource.server.connect[(resource.spec.group, resource.spec.plural, resource.subresource)](resource)
