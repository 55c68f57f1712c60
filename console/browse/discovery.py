"""What the server serves, from the aggregated discovery documents, asked as the logged-in user.

`/api` (the core group) and `/apis` (every other group, CRDs included once established) are each one request
with `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`. Each group lists its versions
preferred first; a resource type is shown in its group's preferred version that serves it. Subresources are not
resource types here, and types without `list` (bindings, tokenreviews, …) are left out: there is nothing to browse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from apiserver.client.client import Resource
from apiserver.client.transports import Transport

DISCOVERY_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
CORE = "core"  # the core group's name in console URLs (its API group name is empty)


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def resource(self) -> Resource:
        return Resource(self.group, self.version, self.plural, namespaced=self.namespaced)

    @property
    def url_group(self) -> str:
        return self.group or CORE

    @property
    def list_url(self) -> str:
        return f"/console/resources/{self.url_group}/{self.version}/{self.plural}/"

    def detail_url(self, name: str) -> str:
        return f"{self.list_url}{quote(name, safe='')}/"

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def kubectl_name(self) -> str:
        """The plural as kubectl takes it unambiguously: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kubectl_singular(self) -> str:
        return f"{self.singular}.{self.group}" if self.group else self.singular


@dataclass(frozen=True, slots=True)
class Group:
    name: str  # "" for core
    preferred_version: str
    types: tuple[ResourceType, ...]

    @property
    def label(self) -> str:
        return self.name or "core"


@dataclass
class Catalog:
    groups: tuple[Group, ...] = ()
    errors: tuple[str, ...] = ()
    _all: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._all.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The type an ownerReference (apiVersion, kind) names, in that version if served, else preferred."""
        group, _, version = api_version.rpartition("/")
        fallback = None
        for resource_type in self._all.values():
            if resource_type.group == group and resource_type.kind == kind:
                if resource_type.version == version:
                    return resource_type
                fallback = fallback or resource_type
        return fallback

    def preferred(self) -> list[ResourceType]:
        return [resource_type for group in self.groups for resource_type in group.types]


async def fetch_catalog(transport: Transport) -> Catalog:
    """Both discovery documents, parsed; a failed one is reported in `errors` (the other still counts)."""
    groups: list[Group] = []
    everything: dict[tuple[str, str, str], ResourceType] = {}
    problems: list[str] = []
    for root in ("/api", "/apis"):
        response = await transport.request("GET", root, headers=[("accept", DISCOVERY_ACCEPT)])
        if response.status != 200:
            problems.append(f"{root}: {_message(response.body, response.status)}")
            continue
        for item in orjson.loads(response.body).get("items") or ():
            group, served = _group(item)
            if group.types:
                groups.append(group)
            everything.update(((t.group, t.version, t.plural), t) for t in served)
    groups.sort(key=lambda group: (group.name != "", group.name))
    return Catalog(tuple(groups), tuple(problems), everything)


def _group(item: dict[str, Any]) -> tuple[Group, list[ResourceType]]:
    name = str((item.get("metadata") or {}).get("name") or "")
    versions = item.get("versions") or ()
    preferred: dict[str, ResourceType] = {}
    served: list[ResourceType] = []
    for version in versions:
        for raw in version.get("resources") or ():
            resource_type = _resource_type(name, str(version.get("version") or ""), raw)
            if resource_type is None:
                continue
            served.append(resource_type)
            preferred.setdefault(resource_type.plural, resource_type)
    preferred_version = str(versions[0].get("version") or "") if versions else ""
    types = tuple(sorted(preferred.values(), key=lambda t: t.kind))
    return Group(name, preferred_version, types), served


def _resource_type(group: str, version: str, raw: dict[str, Any]) -> ResourceType | None:
    verbs = tuple(str(verb) for verb in raw.get("verbs") or ())
    plural = str(raw.get("resource") or "")
    if "list" not in verbs or not plural or "/" in plural:
        return None
    kind = str((raw.get("responseKind") or {}).get("kind") or "")
    return ResourceType(group=group, version=version, plural=plural, kind=kind,
                        singular=str(raw.get("singularResource") or kind.lower()),
                        namespaced=raw.get("scope") == "Namespaced",
                        short_names=tuple(str(short) for short in raw.get("shortNames") or ()), verbs=verbs,
                        categories=tuple(str(category) for category in raw.get("categories") or ()))


def _message(body: bytes, status: int) -> str:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"HTTP {status}"
    return str(decoded.get("message") or f"HTTP {status}") if isinstance(decoded, dict) else f"HTTP {status}"
