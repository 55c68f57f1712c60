"""Conversions that need I/O (CRD conversion webhooks): one call per page of objects, results kept beside the
cached objects, nothing called for objects already in the version or kinds without such a converter."""
from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from apiserver.meta.objects import JSONDict
from apiserver.registry.context import StoredObject
from apiserver.registry.conversion import convert_with, object_converter, served_all


class CountingConverter:
    """Renames apiVersion and records every call (a stand-in for the webhook's answer, not for HTTP)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def convert(self, objects: Sequence[JSONDict], api_version: str) -> list[JSONDict]:
        self.calls.append([obj["metadata"]["name"] for obj in objects])
        return [{**obj, "apiVersion": api_version, "converted": True} for obj in objects]


def stored(name: str, api_version: str = "example.com/v1") -> StoredObject:
    return StoredObject.of({"apiVersion": api_version, "kind": "Paint", "metadata": {"name": name}})


async def test_a_page_is_converted_in_one_call_and_remembered() -> None:
    converter = CountingConverter()
    items = [stored("a"), stored("b", "example.com/v2"), stored("c")]
    served = await served_all(items, "example.com/v2", converter)
    assert [item.obj["apiVersion"] for item in served] == ["example.com/v2"] * 3
    assert [item.obj.get("converted", False) for item in served] == [True, False, True]
    assert converter.calls == [["a", "c"]]
    await served_all(items, "example.com/v2", converter)
    assert converter.calls == [["a", "c"]]  # kept beside the objects: no second call


async def test_without_a_converter_only_apiversion_changes() -> None:
    served = await served_all([stored("a")], "example.com/v2", None)
    assert served[0].obj == {"apiVersion": "example.com/v2", "kind": "Paint", "metadata": {"name": "a"}}
    assert await convert_with({"apiVersion": "example.com/v2", "kind": "Paint"}, "example.com/v1", None) == {
        "apiVersion": "example.com/v1", "kind": "Paint"}


async def test_writes_convert_through_the_converter_only_across_versions() -> None:
    converter = CountingConverter()
    obj = {"apiVersion": "example.com/v1", "kind": "Paint", "metadata": {"name": "w"}}
    assert await convert_with(obj, "example.com/v1", converter) is not None
    assert converter.calls == []
    assert (await convert_with(obj, "example.com/v2", converter))["converted"] is True
    assert converter.calls == [["w"]]


def test_only_strategies_with_a_converter_have_one() -> None:
    assert object_converter(SimpleNamespace(strategy=object())) is None
    converter = CountingConverter()
    assert object_converter(SimpleNamespace(strategy=SimpleNamespace(converter=converter))) is converter
