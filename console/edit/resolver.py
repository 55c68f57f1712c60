"""Which resource serves a kind: `apiVersion` + `kind` (or group/version/plural) to a Resource, from the aggregated
discovery documents (`/api` and `/apis`, apidiscovery.k8s.io/v2) asked as the user, once per resolver.

Discovery is readable by every authenticated user (system:discovery), so a restricted user resolves kinds too; CRDs
appear as soon as the server lists them. The error for an unknown kind is kubectl's (meta.NoKindMatchError).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from apiserver.client.client import Resource
from apiserver.client.transports import Transport
from console.edit.status import Problem, problem_of

DISCOVERY_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True, slots=True)
class ResolvedKind:
    resource: Resource
    kind: str

    @property
    def api_version(self) -> str:
        group, version = self.resource.group, self.resource.version
        return f"{group}/{version}" if group else version


class UnknownKind(LookupError):
    """No served resource has this kind (or plural); the message is the one to show."""


class DiscoveryFailed(LookupError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class KindResolver:
    """Resolves kinds and plurals against one snapshot of discovery, fetched on first use."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._kinds: list[ResolvedKind] | None = None

    async def by_kind(self, api_version: str, kind: str) -> ResolvedKind:
        group, _, version = api_version.rpartition("/")
        for candidate in await self._all():
            if (candidate.resource.group, candidate.resource.version, candidate.kind) == (group, version, kind):
                return candidate
        raise UnknownKind(f'no matches for kind "{kind}" in version "{api_version}"')

    async def by_plural(self, group: str, version: str, plural: str) -> ResolvedKind:
        for candidate in await self._all():
            resource = candidate.resource
            if (resource.group, resource.version, resource.plural) == (group, version, plural):
                return candidate
        group_version = f"{group}/{version}" if group else version
        raise UnknownKind(f'the server doesn\'t have a resource type "{plural}" in "{group_version}"')

    async def _all(self) -> list[ResolvedKind]:
        if self._kinds is None:
            kinds: list[ResolvedKind] = []
            for path in ("/api", "/apis"):
                kinds += _kinds_of(await self._discovery(path))
            self._kinds = kinds
        return self._kinds

    async def _discovery(self, path: str) -> dict[str, Any]:
        response = await self._transport.request("GET", path, headers=[("accept", DISCOVERY_ACCEPT)])
        if response.status >= 400:
            raise DiscoveryFailed(problem_of(response.status, response.body))
        document: dict[str, Any] = orjson.loads(response.body)
        return document


def _kinds_of(document: dict[str, Any]) -> list[ResolvedKind]:
    kinds: list[ResolvedKind] = []
    for item in document.get("items") or ():
        group = str((item.get("metadata") or {}).get("name") or "")
        for version_entry in item.get("versions") or ():
            version = str(version_entry.get("version") or "")
            for entry in version_entry.get("resources") or ():
                kind = str((entry.get("responseKind") or {}).get("kind") or "")
                resource = Resource(group, version, str(entry.get("resource") or ""),
                                    namespaced=entry.get("scope") == "Namespaced")
                kinds.append(ResolvedKind(resource, kind))
    return kinds
