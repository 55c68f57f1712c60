"""Every discovery document of the built-in catalog against a generated snapshot (discovery_snapshot.json).

A new or changed resource spec changes this snapshot and nothing else in discovery. Review the diff, then
regenerate with `pytest tests/endpoints/test_discovery_snapshot.py --update-snapshots` (or, where that option is
not registered, `UPDATE_SNAPSHOTS=1`). Comparisons keep key order, which upstream's JSON fixes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from apiserver.endpoints.discovery import DiscoveryApp
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from tests.http.asgi_harness import call

SNAPSHOT = Path(__file__).with_name("discovery_snapshot.json")
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _paths(catalog: ResourceCatalog) -> list[tuple[str, str]]:
    """(label, path) of every document, with the Accept each label stands for."""
    paths = [("GET /api", "/api"), ("GET /apis", "/apis"), ("AGGREGATED /api", "/api"),
             ("AGGREGATED /apis", "/apis")]
    for group, version in catalog.group_versions():
        if group:
            paths.append((f"GET /apis/{group}", f"/apis/{group}"))
            paths.append((f"GET /apis/{group}/{version}", f"/apis/{group}/{version}"))
        else:
            paths.append((f"GET /api/{version}", f"/api/{version}"))
    return list(dict.fromkeys(paths))


async def _documents() -> dict[str, Any]:
    catalog = ResourceCatalog(builtin_specs())
    app = DiscoveryApp(CatalogHolder(catalog), server_address="10.0.0.1:6443")
    documents: dict[str, Any] = {}
    for label, path in _paths(catalog):
        accept = AGGREGATED if label.startswith("AGGREGATED") else "application/json"
        response = await call(app, method="GET", path=path, headers=[(b"accept", accept.encode())])
        assert response.status == 200, (label, response.body)
        documents[label] = json.loads(response.body)
    return documents


def _ordered(text: str) -> Any:
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


def _should_update(config: pytest.Config) -> bool:
    return bool(config.getoption("update_snapshots", default=False)) or os.environ.get("UPDATE_SNAPSHOTS") == "1"


async def test_discovery_documents_match_the_snapshot(request: pytest.FixtureRequest) -> None:
    generated = json.dumps(await _documents(), indent=1) + "\n"
    if _should_update(request.config):
        SNAPSHOT.write_text(generated)
    assert SNAPSHOT.exists(), "no snapshot yet: run with --update-snapshots (or UPDATE_SNAPSHOTS=1)"
    assert _ordered(generated) == _ordered(SNAPSHOT.read_text()), (
        "discovery changed: review, then run with --update-snapshots (or UPDATE_SNAPSHOTS=1)"
    )
