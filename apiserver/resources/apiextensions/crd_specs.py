"""specs_from_crd: the ResourceSpecs a CustomResourceDefinition serves, one per served version.

As upstream's CR handler builds its storage from a CRD: the names are the CRD's accepted names
(status.acceptedNames, the spec's names before the naming controller has run), objects of every version are
stored at `/registry/<group>/<plural>` in the storage version, the `status` and `scale` subresources and the
printer columns come from the version (or the CRD-wide fields of older objects), and the strategy validates
against the version's schema. Versions share their storage path, so the registry serves every version from one
watch cache and converts between them by apiVersion (conversion strategy None). The one place that would call a
conversion webhook is `converter_for` below.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.registry.spec import ALL_VERBS, ResourceSpec, SelectableField, Subresource, Verb
from apiserver.resources.apiextensions.custom_resources import CustomResourceStrategy, ScalePaths, structural_engine
from apiserver.resources.apiextensions.custom_resources_columns import printer_columns
from apiserver.resources.apiextensions.custom_resources_reads import StoredObjectReader
from apiserver.resources.apiextensions.custom_resources_schema import schema_node, version_schema

CLEANUP_FINALIZER: Final = "customresourcecleanup.apiextensions.k8s.io"
NAMESPACED: Final = "Namespaced"
ESTABLISHED: Final = "Established"
NAMES_ACCEPTED: Final = "NamesAccepted"
TERMINATING: Final = "Terminating"
SCALE_GROUP: Final = "autoscaling"
# The verbs upstream's CRD discovery controller lists, in its order (not sorted); fewer while Terminating.
DISCOVERY_VERBS: Final = (Verb.DELETE, Verb.DELETECOLLECTION, Verb.GET, Verb.LIST, Verb.PATCH, Verb.CREATE,
                          Verb.UPDATE, Verb.WATCH)
TERMINATING_DISCOVERY_VERBS: Final = (Verb.DELETE, Verb.DELETECOLLECTION, Verb.GET, Verb.LIST, Verb.WATCH)


def crd_names(crd: Mapping[str, Any]) -> Mapping[str, Any]:
    """The names a CRD is served under: its accepted names once the naming controller set them."""
    accepted = (crd.get("status") or {}).get("acceptedNames") or {}
    if accepted.get("plural") and accepted.get("kind"):
        return accepted
    names: Mapping[str, Any] = (crd.get("spec") or {}).get("names") or {}
    return names


def storage_version_of(crd: Mapping[str, Any]) -> str:
    """The name of the version marked `storage: true` ("" when none is)."""
    versions = (crd.get("spec") or {}).get("versions") or ()
    return next((str(version.get("name")) for version in versions if version.get("storage")), "")


def condition_is_true(crd: Mapping[str, Any], condition_type: str) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or ()
    return any(condition.get("type") == condition_type and condition.get("status") == "True"
               for condition in conditions)


def specs_from_crd(crd: Mapping[str, Any], *,
                   webhook_converter: Callable[[Mapping[str, Any]], Any] | None = None) -> tuple[ResourceSpec, ...]:
    """One ResourceSpec per served version, in the CRD's version order. Raises ValueError for a CRD that cannot
    be served (no group, names or storage version; a printer column whose JSONPath does not parse).

    `webhook_converter(crd)` makes the conversion webhook client of a CRD with `conversion.strategy: Webhook`;
    without it such a CRD converts by rewriting apiVersion."""
    spec = crd.get("spec") or {}
    names = crd_names(crd)
    group, plural, kind = str(spec.get("group") or ""), str(names.get("plural") or ""), str(names.get("kind") or "")
    storage_version = storage_version_of(crd)
    if not (group and plural and kind and storage_version):
        raise ValueError(f"customresourcedefinition {crd.get('metadata', {}).get('name')!r} cannot be served")
    converter = converter_for(crd, webhook_converter)
    reader = StoredObjectReader.of(crd, group, kind)
    return tuple(_version_spec(crd, version, names, group, storage_version, converter, reader)
                 for version in spec.get("versions") or () if version.get("served"))


def _version_spec(crd: Mapping[str, Any], version: Mapping[str, Any], names: Mapping[str, Any], group: str,
                  storage_version: str, converter: Any, reader: StoredObjectReader) -> ResourceSpec:
    spec = crd.get("spec") or {}
    kind, plural = str(names["kind"]), str(names["plural"])
    terminating = condition_is_true(crd, TERMINATING)
    subresources = version.get("subresources") or spec.get("subresources") or {}
    has_status = "status" in subresources
    scale = subresources.get("scale")
    openapi_schema = version_schema(crd, version)
    node = schema_node(openapi_schema)
    strategy = CustomResourceStrategy(kind, node, structural_engine(openapi_schema), has_status=has_status,
                                      scale=ScalePaths.of(scale) if isinstance(scale, Mapping) else None,
                                      group=group, plural=plural, terminating=terminating,
                                      openapi_schema=openapi_schema, converter=converter, stored_reader=reader)
    served_subresources: list[Subresource] = []
    if has_status:
        served_subresources.append(Subresource("status", kind))
    if isinstance(scale, Mapping):
        served_subresources.append(Subresource("scale", "Scale", group=SCALE_GROUP, version="v1"))
    columns_source = version if version.get("additionalPrinterColumns") else {
        "additionalPrinterColumns": spec.get("additionalPrinterColumns") or ()}
    return ResourceSpec(
        group=group, version=str(version["name"]), kind=kind, plural=plural,
        namespaced=spec.get("scope") == NAMESPACED, singular=str(names.get("singular") or kind.lower()),
        short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
        verbs=ALL_VERBS, subresources=tuple(served_subresources), strategy=strategy,
        columns=printer_columns(columns_source),
        selectable_fields=tuple(_selectable(field) for field in version.get("selectableFields") or ()),
        storage_path=f"{group}/{plural}", storage_version=f"{group}/{storage_version}", schema=node,
        list_kind=str(names.get("listKind") or kind + "List"),
        discovery_verbs=TERMINATING_DISCOVERY_VERBS if terminating else DISCOVERY_VERBS,
    )


def _selectable(field: Mapping[str, Any]) -> SelectableField:
    """A CRD selectableField (`.spec.color`) as the field selector names it (`spec.color`)."""
    json_path = str(field.get("jsonPath") or "")
    steps = [step for step in json_path.lstrip(".").split(".") if step]

    def value(obj: Mapping[str, Any]) -> str:
        current: Any = obj
        for step in steps:
            current = current.get(step) if isinstance(current, Mapping) else None
        if isinstance(current, bool):
            return "true" if current else "false"
        return "" if current is None or isinstance(current, dict | list) else str(current)

    return SelectableField(".".join(steps), value)


def converter_for(crd: Mapping[str, Any], webhook_converter: Callable[[Mapping[str, Any]], Any] | None) -> Any:
    """The conversion of a CRD's objects that needs I/O (registry.conversion.ObjectConverter), shared by every
    version's strategy as `strategy.converter`: its webhook's client for `strategy: Webhook`, None for `None`
    (the registry rewrites apiVersion, which is all upstream's nopConverter does)."""
    conversion = (crd.get("spec") or {}).get("conversion") or {}
    if conversion.get("strategy") != "Webhook" or webhook_converter is None:
        return None
    return webhook_converter(crd)
