"""The OpenAPI definitions of custom resources, beside the built-in type schemas.

As upstream's CRD OpenAPI builder (apiextensions-apiserver/pkg/controller/openapi/builder): every served CRD
version publishes two definitions named by its reversed group (`com.example.v1.Widget`, `...WidgetList`): the
object, which is the version's openAPIV3Schema with `apiVersion`, `kind` and `metadata` (ObjectMeta) filled in,
and the list; both carry `x-kubernetes-group-version-kind`, which is how `kubectl explain` finds a kind. A version
without a schema publishes an object of any fields. The documents of /openapi/v2 and /openapi/v3 read the
definitions through `CatalogSchemas`, rebuilt when the catalog changes, so their hashes and ETags change with
the CRDs.
"""
from __future__ import annotations

import threading
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.registry.catalog import CatalogHolder, ResourceCatalog
from apiserver.registry.schema import DEFINITIONS_REF, TypeSchemas
from apiserver.registry.spec import ResourceSpec
from apiserver.resources.apiextensions.custom_resources import CustomResourceStrategy
from apiserver.resources.apiextensions.custom_resources_schema import OBJECT_META, completed_schema

LIST_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
# Built-in definitions whose apiVersion, kind and metadata descriptions every custom resource shares.
_OBJECT_SAMPLE: Final = "io.k8s.api.core.v1.ConfigMap"
_LIST_SAMPLE: Final = "io.k8s.api.core.v1.ConfigMapList"


def definition_name(group: str, version: str, kind: str) -> str:
    """ToRESTFriendlyName of `group/version/kind`: the group's labels reversed (`com.example.v1.Widget`)."""
    reversed_group = ".".join(reversed(group.split("."))) if group else ""
    return ".".join(part for part in (reversed_group, version, kind) if part)


def _type_meta(builtin: Mapping[str, Any], sample: str) -> dict[str, Any]:
    properties = (builtin.get(sample) or {}).get("properties") or {}
    return {name: dict(properties.get(name) or {"type": "string"}) for name in ("apiVersion", "kind", "metadata")}


def custom_definitions(spec: ResourceSpec, builtin: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The object and list definitions of one custom resource version."""
    strategy = spec.strategy
    raw = strategy.openapi_schema if isinstance(strategy, CustomResourceStrategy) else None
    name = definition_name(spec.group, spec.version, spec.kind)
    gvk = {"group": spec.group, "kind": spec.kind, "version": spec.version}
    meta = _type_meta(builtin, _OBJECT_SAMPLE)
    obj = completed_schema(raw)
    properties = dict(obj.get("properties") or {})
    for field in ("apiVersion", "kind"):
        properties[field] = {**meta[field], **{key: value for key, value in properties[field].items()
                                               if key != "description"}}
    properties["metadata"] = {"$ref": DEFINITIONS_REF + OBJECT_META,
                              "description": meta["metadata"].get("description", "")}
    obj["properties"] = dict(sorted(properties.items()))
    obj["x-kubernetes-group-version-kind"] = [gvk]
    list_meta = _type_meta(builtin, _LIST_SAMPLE)
    listing = {
        "description": f"{spec.list_kind} is a list of {spec.kind}",
        "properties": {
            "apiVersion": list_meta["apiVersion"],
            "items": {"description": f"List of {spec.plural}. More info: "
                                     "https://git.k8s.io/community/contributors/devel/api-conventions.md",
                      "items": {"$ref": DEFINITIONS_REF + name}, "type": "array"},
            "kind": list_meta["kind"],
            "metadata": {"$ref": DEFINITIONS_REF + LIST_META,
                         "description": list_meta["metadata"].get("description", "")},
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [{**gvk, "kind": spec.list_kind}],
    }
    return {name: obj, definition_name(spec.group, spec.version, spec.list_kind): listing}


class CatalogSchemas:
    """The type schemas of a catalog for the OpenAPI documents: built-ins plus its custom resources."""

    def __init__(self, catalog: ResourceCatalog, builtin: TypeSchemas) -> None:
        self._builtin = builtin
        custom: dict[str, Any] = {}
        self._names: dict[tuple[str, str, str], str] = {}
        for spec in catalog.specs:
            if not isinstance(spec.strategy, CustomResourceStrategy):
                continue
            definitions = custom_definitions(spec, builtin.definitions)
            custom.update(definitions)
            name = definition_name(spec.group, spec.version, spec.kind)
            self._names[(spec.group, spec.version, spec.kind)] = name
            self._names[(spec.group, spec.version, spec.list_kind)] = definition_name(spec.group, spec.version,
                                                                                      spec.list_kind)
        self.definitions: Mapping[str, Any] = ChainMap(custom, dict(builtin.definitions))

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        return self._names.get((group, version, kind)) or self._builtin.definition_name(group, version, kind)


def catalog_schemas(holder: CatalogHolder) -> Callable[[], Any]:
    """The schemas in force for `holder`'s current catalog, rebuilt only when the catalog is replaced."""
    lock = threading.Lock()
    cache: dict[str, tuple[ResourceCatalog, CatalogSchemas]] = {}

    def current() -> CatalogSchemas:
        catalog = holder.current
        with lock:
            cached = cache.get("schemas")
            if cached is None or cached[0] is not catalog:
                cached = cache["schemas"] = (catalog, CatalogSchemas(catalog, TypeSchemas.builtin()))
            return cached[1]

    return current
