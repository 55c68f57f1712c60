"""A detail page's data: one object, its conditions, owners and dependents, its events, and its YAML.

Only `get` on the object is required: a user who may get but not list still opens it by URL. Everything else
(events, dependents) is asked separately and a refusal there is shown as the server's message, not an error page.

Dependents are found the only way the API allows, by listing and reading `ownerReferences`; to stay bounded only
a few common kinds in the object's namespace are looked at (metadata only, one page of `DEPENDENT_LIMIT` each).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import Transport
from apiserver.meta.errors import ApiError
from console.browse.discovery import Catalog, ResourceType
from console.browse.kubectl import get_command
from console.browse.yamltext import split_managed_fields, to_yaml

EVENTS = Resource("", "v1", "events")
METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
DEPENDENT_KINDS = (("", "v1", "pods"), ("apps", "v1", "replicasets"), ("apps", "v1", "controllerrevisions"),
                   ("batch", "v1", "jobs"), ("discovery.k8s.io", "v1", "endpointslices"))
DEPENDENT_LIMIT = 500
EVENT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Link:
    kind: str
    name: str
    url: str = ""  # empty when discovery does not know the kind (no page to link to)
    controller: bool = False


@dataclass
class Detail:
    resource_type: ResourceType
    name: str
    namespace: str
    obj: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    error_code: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    conditions: tuple[dict[str, str], ...] = ()
    owners: tuple[Link, ...] = ()
    dependents: tuple[Link, ...] = ()
    dependents_refused: tuple[str, ...] = ()
    events: tuple[dict[str, Any], ...] = ()
    events_error: str = ""
    yaml: str = ""
    managed_fields_yaml: str = ""
    managed_fields_count: int = 0
    kubectl: str = ""

    @property
    def metadata(self) -> dict[str, Any]:
        return self.obj.get("metadata") or {}


async def fetch_detail(client: ApiClient, transport: Transport, catalog: Catalog, resource_type: ResourceType,
                       name: str, namespace: str) -> Detail:
    namespace = namespace if resource_type.namespaced else ""
    detail = Detail(resource_type, name, namespace, kubectl=get_command(resource_type, name, namespace))
    try:
        detail.obj = await client.get(resource_type.resource, name, namespace=namespace)
    except ApiError as error:
        detail.error, detail.error_code = error.message, error.code
        return detail
    metadata = detail.metadata
    detail.labels = _pairs(metadata.get("labels"))
    detail.annotations = _pairs(metadata.get("annotations"))
    detail.conditions = conditions(detail.obj)
    detail.owners = owners(catalog, metadata, namespace)
    trimmed, managed = split_managed_fields(detail.obj)
    detail.yaml = to_yaml(trimmed)
    detail.managed_fields_count = len(managed)
    detail.managed_fields_yaml = to_yaml(managed) if managed else ""
    uid = str(metadata.get("uid") or "")
    (detail.events, detail.events_error), (detail.dependents, detail.dependents_refused) = await asyncio.gather(
        events_for(client, uid, namespace), dependents_of(transport, catalog, uid, namespace))
    return detail


def conditions(obj: dict[str, Any]) -> tuple[dict[str, str], ...]:
    raw = (obj.get("status") or {}).get("conditions") if isinstance(obj.get("status"), dict) else None
    if not isinstance(raw, list):
        return ()
    keys = ("type", "status", "reason", "message", "lastTransitionTime")
    return tuple({key: str(item.get(key) or "") for key in keys} for item in raw if isinstance(item, dict))


def owners(catalog: Catalog, metadata: dict[str, Any], namespace: str) -> tuple[Link, ...]:
    links = []
    for reference in metadata.get("ownerReferences") or ():
        kind, name = str(reference.get("kind") or ""), str(reference.get("name") or "")
        owner_type = catalog.by_kind(str(reference.get("apiVersion") or ""), kind)
        links.append(Link(kind, name, _url(owner_type, name, namespace) if owner_type else "",
                          bool(reference.get("controller"))))
    return tuple(links)


async def events_for(client: ApiClient, uid: str, namespace: str) -> tuple[tuple[dict[str, Any], ...], str]:
    """The object's events (its namespace's, or every namespace's for a cluster-scoped object), newest first."""
    try:
        page = await client.list(EVENTS, namespace=namespace, fieldSelector=f"involvedObject.uid={uid}",
                                 limit=EVENT_LIMIT)
    except ApiError as error:
        return (), error.message
    rows = [{"time": _event_time(event), "type": str(event.get("type") or ""),
             "reason": str(event.get("reason") or ""), "message": str(event.get("message") or ""),
             "count": event.get("count") or 1} for event in page.get("items") or ()]
    rows.sort(key=lambda row: row["time"], reverse=True)
    return tuple(rows), ""


async def dependents_of(transport: Transport, catalog: Catalog, uid: str,
                        namespace: str) -> tuple[tuple[Link, ...], tuple[str, ...]]:
    if not namespace or not uid:
        return (), ()
    kinds = [found for group, version, plural in DEPENDENT_KINDS
             if (found := catalog.find(group, version, plural)) is not None]
    answers = await asyncio.gather(*(_owned(transport, kind, uid, namespace) for kind in kinds))
    links = tuple(link for found, _ in answers for link in found)
    refused = tuple(message for _, message in answers if message)
    return links, refused


async def _owned(transport: Transport, resource_type: ResourceType, uid: str,
                 namespace: str) -> tuple[list[Link], str]:
    response = await transport.request("GET", resource_type.resource.path(namespace),
                                       query=urlencode({"limit": DEPENDENT_LIMIT}),
                                       headers=[("accept", METADATA_ACCEPT)])
    if response.status != 200:
        try:
            return [], str(orjson.loads(response.body).get("message") or f"HTTP {response.status}")
        except (orjson.JSONDecodeError, AttributeError):
            return [], f"HTTP {response.status}"
    links = []
    for item in orjson.loads(response.body).get("items") or ():
        metadata = item.get("metadata") or {}
        if any(reference.get("uid") == uid for reference in metadata.get("ownerReferences") or ()):
            name = str(metadata.get("name") or "")
            links.append(Link(resource_type.kind, name, _url(resource_type, name, namespace)))
    return links, ""


def _url(resource_type: ResourceType, name: str, namespace: str) -> str:
    url = resource_type.detail_url(name)
    return f"{url}?{urlencode({'namespace': namespace})}" if resource_type.namespaced and namespace else url


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple((str(key), str(item)) for key, item in value.items())


def _event_time(event: dict[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")
