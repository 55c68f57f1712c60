"""The overview page's data, every piece asked of the API as the logged-in user (no Django here).

Which namespaces can the user access? Kubernetes has no API that answers this (OpenShift's Projects do), and the
console has no identity of its own to look at RoleBindings with. So, honestly and through the public API only:

1. if the user may `list namespaces`, every namespace is listed (method "list");
2. otherwise candidates are checked one by one with a SelfSubjectRulesReview in that namespace: the user's
   ServiceAccount namespace, `default`, and every namespace this session has opened (the namespace box on the
   page adds one). A candidate is accessible when a rule there lets the user read (get/list/watch) something;
   rules that only allow self-reviews (system:basic-user) do not count. The page says which method was used,
   so a namespace granted only by a RoleBinding the user has not named yet is explained, not silently missing.

Counts use a list with `limit=1`: one item plus `metadata.remainingItemCount`, the number of objects after this
page in the same snapshot. It is exact for an unfiltered list; it is absent when the list has no continuation
(then the count is the items returned) and upstream also omits it for selector-filtered lists, where the count is
shown as "n+".
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import Transport
from apiserver.meta.errors import ApiError, Forbidden

NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
EVENTS = Resource("", "v1", "events")
RULES_REVIEWS = Resource("authorization.k8s.io", "v1", "selfsubjectrulesreviews", namespaced=False)
READ_VERBS = frozenset({"get", "list", "watch", "*"})

COUNTED: tuple[tuple[str, Resource], ...] = (
    ("Pods", Resource("", "v1", "pods")),
    ("Deployments", Resource("apps", "v1", "deployments")),
    ("StatefulSets", Resource("apps", "v1", "statefulsets")),
    ("Jobs", Resource("batch", "v1", "jobs")),
    ("Services", Resource("", "v1", "services")),
    ("ConfigMaps", Resource("", "v1", "configmaps")),
    ("Secrets", Resource("", "v1", "secrets")),
    ("ServiceAccounts", Resource("", "v1", "serviceaccounts")),
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Health:
    """One health endpoint's verbose answer: overall status and each check's state."""

    path: str
    status: int
    passed: bool
    checks: tuple[Check, ...] = ()
    error: str = ""


@dataclass(frozen=True, slots=True)
class NamespaceAccess:
    names: tuple[str, ...]
    method: str  # "list" or "rules"
    checked: tuple[str, ...] = ()
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Count:
    label: str
    resource: Resource
    count: int | None = None
    more: bool = False  # the server did not say how many follow ("n+")
    forbidden: str = ""


@dataclass(frozen=True, slots=True)
class Events:
    items: tuple[dict[str, Any], ...] = ()
    forbidden: str = ""


@dataclass
class Overview:
    version: dict[str, Any] = field(default_factory=dict)
    version_error: str = ""
    health: tuple[Health, ...] = ()
    namespaces: NamespaceAccess | None = None
    namespace: str = ""
    counts: tuple[Count, ...] = ()
    events: Events = field(default_factory=Events)


async def server_version(transport: Transport) -> tuple[dict[str, Any], str]:
    response = await transport.request("GET", "/version")
    if response.status != 200:
        return {}, _status_message(response.body, response.status)
    return orjson.loads(response.body), ""


async def health(transport: Transport, path: str) -> Health:
    """`GET <path>?verbose` parsed: `[+]name ok` / `[-]name failed: reason` lines, then the verdict."""
    response = await transport.request("GET", path, query="verbose")
    text = response.body.decode("utf-8", "replace")
    checks = []
    for line in text.splitlines():
        if line.startswith("[+]"):
            name, _, detail = line[3:].partition(" ")
            checks.append(Check(name, True, detail))
        elif line.startswith("[-]"):
            name, _, detail = line[3:].partition(" ")
            checks.append(Check(name, False, detail))
    error = "" if checks or response.status == 200 else _status_message(response.body, response.status)
    return Health(path, response.status, response.status == 200, tuple(checks), error)


async def accessible_namespaces(client: ApiClient, candidates: list[str]) -> NamespaceAccess:
    """See the module docstring."""
    try:
        listed = await client.list(NAMESPACES)
    except Forbidden as error:
        denied = error.message
    else:
        listed_names = sorted(str((item.get("metadata") or {}).get("name") or "") for item in listed.get("items") or ())
        return NamespaceAccess(tuple(listed_names), "list")
    unique = list(dict.fromkeys(name for name in candidates if name))
    readable = await asyncio.gather(*(can_read_in(client, name) for name in unique))
    names = tuple(name for name, ok in zip(unique, readable, strict=True) if ok)
    return NamespaceAccess(names, "rules", tuple(unique), denied)


async def can_read_in(client: ApiClient, namespace: str) -> bool:
    """Whether a SelfSubjectRulesReview in `namespace` lets the user read anything there."""
    try:
        review = await client.create(RULES_REVIEWS, {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": namespace},
        })
    except ApiError:
        return False
    rules = (review.get("status") or {}).get("resourceRules") or ()
    return any(READ_VERBS.intersection(rule.get("verbs") or ()) for rule in rules)


async def count(client: ApiClient, label: str, resource: Resource, namespace: str) -> Count:
    try:
        page = await client.list(resource, namespace=namespace, limit=1)
    except Forbidden as error:
        return Count(label, resource, forbidden=error.message)
    except ApiError as error:
        return Count(label, resource, forbidden=error.message)
    metadata = page.get("metadata") or {}
    items = len(page.get("items") or ())
    remaining = metadata.get("remainingItemCount")
    if remaining is not None:
        return Count(label, resource, items + int(remaining))
    return Count(label, resource, items, more=bool(metadata.get("continue")))


async def warning_events(client: ApiClient, namespace: str, *, limit: int = 10) -> Events:
    """The newest Warning events in `namespace` (all namespaces when empty) the user may list."""
    try:
        page = await client.list(EVENTS, namespace=namespace, fieldSelector="type=Warning", limit=500)
    except ApiError as error:
        return Events(forbidden=error.message)
    items = sorted(page.get("items") or (), key=event_time, reverse=True)
    return Events(tuple(_event_row(event) for event in items[:limit]))


def _event_row(event: dict[str, Any]) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    return {"time": event_time(event), "object": f"{involved.get('kind') or ''}/{involved.get('name') or ''}",
            "reason": str(event.get("reason") or ""), "message": str(event.get("message") or ""),
            "count": event.get("count") or 1}


def event_time(event: dict[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")


async def build_overview(client: ApiClient, transport: Transport, *, candidates: list[str],
                         namespace: str) -> Overview:
    """Everything on the page, the independent questions asked concurrently."""
    (version, version_error), livez, readyz, access = await asyncio.gather(
        server_version(transport), health(transport, "/livez"), health(transport, "/readyz"),
        accessible_namespaces(client, candidates),
    )
    selected = namespace or (access.names[0] if access.names else "default")
    if not namespace and "default" in access.names:
        selected = "default"
    counts = await asyncio.gather(*(count(client, label, resource, selected) for label, resource in COUNTED))
    events = await warning_events(client, selected)
    return Overview(version=version, version_error=version_error, health=(livez, readyz), namespaces=access,
                    namespace=selected, counts=tuple(counts), events=events)


def _status_message(body: bytes, status: int) -> str:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"HTTP {status}"
    return str(decoded.get("message") or f"HTTP {status}") if isinstance(decoded, dict) else f"HTTP {status}"
