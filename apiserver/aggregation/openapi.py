"""The OpenAPI documents of remote APIServices, as kube-aggregator's OpenAPI aggregation controllers keep them (v1.32).

What each remote server publishes is downloaded as `system:aggregator` (no groups, as upstream's downloader),
verifying the server as the proxy does, after every passing availability check:

- OpenAPI v3: the server's `/openapi/v3` index. Its entry for the APIService's own group-version
  (`apis/<group>/<version>`, with the server's `serverRelativeURL` and hash) joins this server's index, and
  `/openapi/v3/apis/<group>/<version>` is proxied to that server as the requesting user (aggregation/proxy.py),
  so the hash and the document always come from the same place;
- OpenAPI v2: the server's `/openapi/v2` (JSON, revalidated with its ETag at most once a minute), cut down to
  the paths under `/apis/<group>/<version>/`, and merged into this server's `/openapi/v2` after the local
  paths, remote APIServices by group priority then name (openapi_merge.py);
- a server answering 404 to `/openapi/v3` is a "legacy" one (for as long as its APIService exists): its whole v2
  document, converted to v3 (openapi_convert.py), is served by this server as `/openapi/v3/apis/<group>/<version>`
  with its own hash (`converted_document`).

A failed download keeps the last documents (upstream's "last success"); they go when the APIService does.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from apiserver.aggregation.apiservices import RemoteAPIService
from apiserver.aggregation.backend import Backend, BackendError
from apiserver.aggregation.openapi_convert import convert_v2_to_v3
from apiserver.aggregation.openapi_merge import filter_spec_by_paths, merge_specs
from apiserver.webhookclient import ServiceUnavailableError

V2_PATH = "/openapi/v2"
V3_PATH = "/openapi/v3"
OPENAPI_USER = "system:aggregator"
DOWNLOAD_TIMEOUT = 60.0  # upstream's specDownloadTimeout
V2_REFRESH_SECONDS = 60.0  # upstream re-downloads every minute after a success

JSONDict = dict[str, Any]


def index_key(remote: RemoteAPIService) -> str:
    """The key of `remote`'s group-version in an `/openapi/v3` index (`apis/<group>/<version>`)."""
    return remote.discovery_path.removeprefix("/")


@dataclass(frozen=True, slots=True)
class _Swagger:
    """A remote's filtered v2 document with what its ordering and revalidation need."""

    group: str
    group_priority: int
    spec: JSONDict
    etag: str
    fetched: float
    converted: tuple[str, bytes, str, float] | None = None  # legacy servers: (key, v3 body, hash, wall time)


class RemoteOpenAPI:
    """The last OpenAPI documents downloaded from each remote APIService, by APIService name (thread-safe reads).

    `generation` moves whenever a merged document may change, so the documents' caches know when to rebuild.
    """

    def __init__(self, backend: Backend, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._backend = backend
        self._clock = clock
        self._wall_clock = wall_clock
        self._legacy: set[str] = set()
        self._v3: dict[str, tuple[str, str, str, JSONDict]] = {}  # name → (key, group, version, index entry)
        self._v2: dict[str, _Swagger] = {}
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    async def refresh(self, remote: RemoteAPIService) -> None:
        """Download `remote`'s v3 index and (when due) its v2 document; failures keep what was there."""
        if remote.name not in self._legacy:
            await self._refresh_v3(remote)
        swagger = self._v2.get(remote.name)
        legacy_unconverted = remote.name in self._legacy and (swagger is None or swagger.converted is None)
        if swagger is None or legacy_unconverted or self._clock() - swagger.fetched >= V2_REFRESH_SECONDS:
            await self._refresh_v2(remote, None if legacy_unconverted else swagger)

    def forget(self, name: str) -> None:
        """Drop the documents of a deleted APIService."""
        with self._lock:
            self._legacy.discard(name)
            removed = [self._v3.pop(name, None), self._v2.pop(name, None)]
            if any(item is not None for item in removed):
                self._generation += 1

    def index_paths(self) -> dict[str, JSONDict]:
        """The remote entries of the `/openapi/v3` index, by key (converted documents with this server's URL)."""
        paths = {key: {"serverRelativeURL": f"{V3_PATH}/{key}?hash={hash_}"}
                 for key, _, hash_, _ in self._converted()}
        paths.update({key: dict(entry) for key, _, _, entry in self._v3.values()})
        return dict(sorted(paths.items()))

    def converted_document(self, key: str) -> tuple[bytes, str, float] | None:
        """The converted v3 document of a legacy server's group-version: (body, hash, epoch seconds), or None."""
        for entry_key, body, hash_, generated in self._converted():
            if entry_key == key:
                return body, hash_, generated
        return None

    def _converted(self) -> list[tuple[str, bytes, str, float]]:
        return [swagger.converted for swagger in list(self._v2.values()) if swagger.converted is not None]

    def owner(self, key: str) -> tuple[str, str] | None:
        """The (group, version) of the remote APIService whose index entry `key` is, or None."""
        for entry_key, group, version, _ in list(self._v3.values()):
            if entry_key == key:
                return group, version
        return None

    def swagger_sources(self) -> list[JSONDict]:
        """The remote v2 documents in upstream's merge order: group priority (highest first), then name."""
        ordered = sorted(self._v2.items(), key=lambda item: (-self._group_priority(item[1].group), item[0]))
        return [swagger.spec for _, swagger in ordered]

    def _group_priority(self, group: str) -> int:
        return max((swagger.group_priority for swagger in self._v2.values() if swagger.group == group), default=0)

    async def _download(self, remote: RemoteAPIService, path: str, *, if_none_match: str = "") -> Any:
        url = await self._backend.url(remote, path)
        return await self._backend.get(remote, url, accept="application/json", timeout=DOWNLOAD_TIMEOUT,
                                       verify=True, user=OPENAPI_USER, groups=(), if_none_match=if_none_match)

    async def _refresh_v3(self, remote: RemoteAPIService) -> None:
        try:
            response = await self._download(remote, V3_PATH)
            if response.status == 404:
                self._legacy.add(remote.name)  # no OpenAPI v3: its v2 is converted from now on
            if response.status != 200:
                return
            entry = (orjson.loads(response.body).get("paths") or {}).get(index_key(remote))
        except (ServiceUnavailableError, BackendError, orjson.JSONDecodeError, AttributeError):
            return
        found = (index_key(remote), remote.group, remote.version, dict(entry)) if isinstance(entry, dict) else None
        with self._lock:
            if self._v3.get(remote.name) != found:
                if found is None:
                    self._v3.pop(remote.name, None)
                else:
                    self._v3[remote.name] = found
                self._generation += 1

    async def _refresh_v2(self, remote: RemoteAPIService, previous: _Swagger | None) -> None:
        etag = previous.etag if previous is not None else ""
        try:
            response = await self._download(remote, V2_PATH, if_none_match=etag)
            converted = previous.converted if previous is not None else None
            if response.status == 304 and previous is not None:
                spec, etag = previous.spec, previous.etag
            elif response.status == 200:
                document = orjson.loads(response.body)
                spec, etag = filter_for(remote, document), response.etag
                converted = self._convert(remote, document) if remote.name in self._legacy else None
            else:
                return
        except (ServiceUnavailableError, BackendError, orjson.JSONDecodeError, AttributeError, TypeError):
            return
        swagger = _Swagger(remote.group, remote.group_priority_minimum, spec, etag, self._clock(), converted)
        with self._lock:
            changed = (previous is None or previous.spec is not spec or previous.converted is not converted
                       or previous.group_priority != swagger.group_priority)
            self._v2[remote.name] = swagger
            if changed:
                self._generation += 1


    def _convert(self, remote: RemoteAPIService, document: Any) -> tuple[str, bytes, str, float]:
        body = orjson.dumps(convert_v2_to_v3(document))
        return index_key(remote), body, hashlib.sha512(body).hexdigest().upper(), self._wall_clock()


def filter_for(remote: RemoteAPIService, spec: Mapping[str, Any]) -> JSONDict:
    """A remote's v2 document cut down to its APIService's group-version (upstream keeps `/apis/<g>/<v>/...`)."""
    if not isinstance(spec, Mapping):
        raise TypeError("an OpenAPI v2 document is an object")
    return filter_spec_by_paths(spec, [f"/apis/{remote.group}/{remote.version}/"])


def merged_swagger(local: Mapping[str, Any], sources: Iterable[Mapping[str, Any]]) -> JSONDict:
    """`local` (left unchanged) with each remote document merged in, keys sorted as Go's encoder writes maps."""
    sources = list(sources)
    if not sources:
        return dict(local)
    merged: JSONDict = dict(local)
    merged["paths"] = dict(local.get("paths") or {})
    merged["definitions"] = dict(local.get("definitions") or {})
    if local.get("parameters"):
        merged["parameters"] = dict(local["parameters"])
    for source in sources:
        merge_specs(merged, source)
    for key in ("paths", "definitions", "parameters"):
        if merged.get(key):
            merged[key] = dict(sorted(merged[key].items()))
    return merged
