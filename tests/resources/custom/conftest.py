from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.resources.custom.crds import widget_crd
from tests.resources.custom.harness import CustomApp, custom_app


@pytest.fixture
async def app() -> AsyncIterator[CustomApp]:
    async with custom_app() as served:
        yield served


@pytest.fixture
async def widgets(app: CustomApp) -> CustomApp:
    """The app with widgets.example.com (v1 stored, v1beta1 served) installed."""
    await app.install(widget_crd(versions=("v1", "v1beta1"), columns=[
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]))
    return app
