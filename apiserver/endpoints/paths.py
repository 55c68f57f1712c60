"""`GET /` (and `/index.html`): upstream's RootPaths index, `{"paths": [...]}` listing every served path, sorted.

Upstream (k8s.io/apiserver/pkg/server/routes/index.go) lists the paths its muxes registered as listed: the
go-restful web services (`/api`, `/api/v1`, `/apis/<group>/<version>`), the aggregator's `/apis` and
`/apis/<group>`, the apiextensions prefix `/apis/`, and every health check, metrics and OpenAPI path. The
discovery part comes from the current catalog; the rest is handed in by whoever registers those endpoints, as
a fixed list or a function called per request (health checks can be added after start). Written as WriteRawJSON
writes it: indented by two spaces, no trailing newline, whatever the method or Accept header.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from apiserver.endpoints.health import ENDPOINTS, HealthRegistry
from apiserver.endpoints.router import not_found
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.responses import APPLICATION_JSON, encode_json, send_bytes
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog
from apiserver.registry.spec import group_version_string

INDEX_PATHS = ("/", "/index.html")

ExtraPaths = Iterable[str] | Callable[[], Iterable[str]]


def discovery_paths(catalog: ResourceCatalog) -> list[str]:
    """The discovery paths `catalog` serves, as upstream lists them (unsorted)."""
    paths: list[str] = []
    if "" in catalog.groups():
        paths.append("/api")
    paths += ["/apis", "/apis/"]
    for group, version in catalog.group_versions():
        if group:
            paths += [f"/apis/{group}", f"/apis/{group}/{version}"]
        else:
            paths.append(f"/api/{group_version_string(group, version)}")
    return paths


def health_paths(registry: HealthRegistry) -> list[str]:
    """`/healthz`, `/livez`, `/readyz` and each of their checks' own paths, as upstream lists them."""
    paths: list[str] = []
    for endpoint in ENDPOINTS:
        paths += [f"/{endpoint}", *(f"/{endpoint}/{check.name}" for check in registry.checks(endpoint))]
    return paths


def root_paths(catalog: ResourceCatalog, extra_paths: Iterable[str]) -> bytes:
    """The body of `/`: discovery paths and `extra_paths`, de-duplicated and sorted byte-wise as Go sorts."""
    paths = sorted(set(discovery_paths(catalog)) | set(extra_paths), key=str.encode)
    return encode_json({"paths": paths}, indent=True)


class IndexApp:
    """Answers `/` and `/index.html` with the paths index; any other path goes to `next_app`.

    Meant as the router's fallback: a Route cannot own `/` without owning every path.
    """

    def __init__(self, holder: CatalogHolder, extra_paths: ExtraPaths = (), *, next_app: ASGIApp = not_found) -> None:
        self._holder = holder
        self._extra_paths = extra_paths
        self._next_app = next_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] not in INDEX_PATHS:
            return await self._next_app(scope, receive, send)
        extra = self._extra_paths() if callable(self._extra_paths) else self._extra_paths
        await send_bytes(send, 200, root_paths(self._holder.current, extra), content_type=APPLICATION_JSON)


def paths_app(holder: CatalogHolder, extra_paths: ExtraPaths = (), *, next_app: ASGIApp = not_found) -> ASGIApp:
    """The `/` index over `holder.current`; see IndexApp."""
    return IndexApp(holder, extra_paths, next_app=next_app)
