"""Server-side apply and delete as the user, answering what the server said (never raising on a failed answer).

Every write carries `fieldManager=pilothouse-console`; applies carry `fieldValidation=Strict`, so an unknown or
duplicated field is refused with the server's own message instead of silently dropped (the console shows YAML the
user typed, and a dropped field would be a lie). Dry-runs add `dryRun=All`; forcing adds `force=true`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from apiserver.client.client import Resource
from apiserver.client.transports import Transport
from console.edit.status import Problem, problem_of, warnings_of

FIELD_MANAGER = "pilothouse-console"
APPLY_PATCH = "application/apply-patch+yaml"
PROPAGATION_POLICIES = ("Background", "Foreground", "Orphan")
# RFC 3986 allows these in a path segment unencoded. The in-process transport hands the path to the server
# without percent-decoding it, so a name such as `system:controller:x` must travel literally to be found.
PATH_SAFE = ":@!$&'()*+,;="

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome: the object (or Status) on success, the Problem otherwise, and any warnings."""

    status: int
    obj: JSONDict | None = None
    problem: Problem | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.problem is None


def object_path(resource: Resource, namespace: str, name: str) -> str:
    """The object's URL path, its name encoded only where a path segment requires it."""
    collection = resource.path(namespace)
    return f"{collection}/{quote(name, safe=PATH_SAFE)}"


async def fetch(transport: Transport, resource: Resource, namespace: str, name: str) -> Answer:
    """GET the live object."""
    return await _send(transport, "GET", object_path(resource, namespace, name))


async def server_side_apply(transport: Transport, resource: Resource, namespace: str, name: str, intent: JSONDict,
                            *, dry_run: bool = False, force: bool = False) -> Answer:
    """PATCH `intent` as an apply configuration owned by the console's field manager."""
    params = {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"}
    if dry_run:
        params["dryRun"] = "All"
    if force:
        params["force"] = "true"
    return await _send(transport, "PATCH", object_path(resource, namespace, name), query=urlencode(params),
                       body=orjson.dumps(intent), content_type=APPLY_PATCH)


async def delete(transport: Transport, resource: Resource, namespace: str, name: str, propagation: str) -> Answer:
    """DELETE with DeleteOptions naming the propagation policy."""
    if propagation not in PROPAGATION_POLICIES:
        raise ValueError(f"unknown propagation policy {propagation!r}")
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
    return await _send(transport, "DELETE", object_path(resource, namespace, name), body=orjson.dumps(options),
                       content_type="application/json")


async def _send(transport: Transport, method: str, path: str, *, query: str = "", body: bytes = b"",
                content_type: str = "") -> Answer:
    headers = [("content-type", content_type)] if body else []
    response = await transport.request(method, path, query=query, body=body, headers=headers)
    warnings = warnings_of(response.headers)
    if response.status >= 400:
        return Answer(response.status, problem=problem_of(response.status, response.body), warnings=warnings)
    obj: JSONDict = orjson.loads(response.body) if response.body else {}
    return Answer(response.status, obj=obj, warnings=warnings)
