"""Shared helpers for the CustomResourceDefinition tests: a valid CRD, its mutations, and upstream's Invalid status."""
from __future__ import annotations

import copy
from typing import Any

from tests.support.resource_app import ResourceApp

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NAME = "widgets.example.com"
MERGE = {"content-type": "application/merge-patch+json"}


def schema(**properties: Any) -> dict[str, Any]:
    spec = {"type": "object", "properties": properties or {"size": {"type": "integer"}}}
    return {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}}


def crd(*versions: dict[str, Any], name: str = NAME, group: str = "example.com", **spec: Any) -> dict[str, Any]:
    """A valid namespaced CRD `widgets.example.com` (one version v1 unless `versions` are given)."""
    body: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
        "spec": {"group": group, "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": list(versions) or [version("v1")]},
    }
    body["spec"].update(spec)
    return body


def version(name: str, *, storage: bool = True, served: bool = True, **fields: Any) -> dict[str, Any]:
    return {"name": name, "served": served, "storage": storage, "schema": schema(), **fields}


def with_schema(root: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A one-version CRD whose openAPIV3Schema is `root`."""
    return crd(version("v1", schema={"openAPIV3Schema": root}), **extra)


def changed(body: dict[str, Any], change: Any) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    change(copied)
    return copied


def invalid(causes: list[tuple[str, str, str]], name: str = NAME) -> dict[str, Any]:
    """Upstream's 422 for (reason, field, body) causes, in order."""
    texts = list(dict.fromkeys(f"{field}: {body}" for _, field, body in causes))
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: {summary}',
        "reason": "Invalid",
        "details": {"name": name, "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition",
                    "causes": [{"reason": reason, "message": body, "field": field} for reason, field, body in causes]},
        "code": 422,
    }


async def create(api: ResourceApp, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.request("POST", CRDS, body)
    assert answer.status == 201, answer.json()
    created: dict[str, Any] = answer.json()
    return created


async def refused(api: ResourceApp, method: str, path: str, body: dict[str, Any], expected: dict[str, Any],
                  headers: dict[str, str] | None = None) -> None:
    """The request answers `expected` and the stored CRDs do not change."""
    before = (await api.request("GET", CRDS)).json()["items"]
    answer = await api.request(method, path, body, headers=headers)
    assert (answer.status, answer.json()) == (422, expected)
    assert (await api.request("GET", CRDS)).json()["items"] == before
