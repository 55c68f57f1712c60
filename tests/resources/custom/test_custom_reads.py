"""Objects read from storage are decoded as upstream's storage decoder does: pruned and defaulted by the schema of
the version they were stored in (StoredObjectReader; the registry applies it where it decodes stored objects)."""
from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from apiserver.resources.apiextensions.crd_specs import specs_from_crd
from apiserver.resources.apiextensions.custom_resources_reads import StoredObjectReader
from tests.resources.custom.crds import widget_crd
from tests.resources.custom.harness import custom_app


def widget(api_version: str = "example.com/v1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default", "uid": "u-1", "resourceVersion": "5"},
            "spec": spec}


def reader() -> StoredObjectReader:
    crd = widget_crd(versions=("v1", "v1beta1"))
    crd["spec"]["versions"][1]["schema"] = {"openAPIV3Schema": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    crd["spec"]["versions"][1]["served"] = False  # decoding does not depend on a version being served
    return StoredObjectReader.of(crd, "example.com", "Widget")


def test_a_stored_object_loses_fields_the_schema_dropped_and_gains_new_defaults() -> None:
    stored = widget(replicas=2, legacy="gone")
    before = copy.deepcopy(stored)
    decoded = reader().normalize(stored)
    assert decoded == widget(replicas=2, color="blue")
    assert stored == before


@pytest.mark.parametrize("stored", [
    widget(replicas=2, color="red"),
    widget("example.com/v1beta1", anything={"goes": True}),
    widget("example.com/v2", unknown=1),
], ids=["already-conforming", "preserving-version", "unknown-version"])
def test_nothing_to_decode_answers_none(stored: dict[str, Any]) -> None:
    assert reader().normalize(stored) is None


def test_every_served_version_shares_the_crds_reader() -> None:
    specs = specs_from_crd(widget_crd(versions=("v1", "v1beta1")))
    readers = {id(getattr(spec.strategy, "stored_reader", None)) for spec in specs}
    assert len(readers) == 1 and None not in {spec.strategy.stored_reader for spec in specs}  # type: ignore[attr-defined]


async def test_reads_through_the_api_decode_what_an_older_schema_stored() -> None:
    """An object written under an older schema (here: straight into storage) is served pruned and defaulted by
    GET, LIST and WATCH; the stored bytes stay as they were."""
    async with custom_app() as api:
        await api.install(widget_crd())
        key = "/registry/example.com/widgets/default/old"
        stored = {"apiVersion": "example.com/v1", "kind": "Widget",
                  "metadata": {"name": "old", "namespace": "default", "uid": "u-old",
                               "creationTimestamp": "2026-01-01T00:00:00Z"},
                  "spec": {"replicas": 1, "legacy": "gone"}}
        await api.storage.create(key, orjson.dumps(stored))
        base = "/apis/example.com/v1/namespaces/default/widgets"
        got = await api.request("GET", f"{base}/old")
        assert got.status == 200, got.body
        assert got.json()["spec"] == {"replicas": 1, "color": "blue"}
        listed = await api.request("GET", base)
        assert [item["spec"] for item in listed.json()["items"]] == [{"replicas": 1, "color": "blue"}]
        assert orjson.loads((await api.storage.get(key)).value)["spec"] == {"replicas": 1, "legacy": "gone"}
