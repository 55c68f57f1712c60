"""The internal view of a CustomResourceDefinition that upstream validates (apiextensions' hub type).

Upstream converts a v1 CRD to its internal type before validating it: `spec.version` becomes the first version's
name, and each per-version schema, subresources, printer columns and selectable fields that are identical in every
version move to the top level (`spec.validation`, `spec.subresources`, `spec.additionalPrinterColumns`,
`spec.selectableFields`), and the webhook conversion settings flatten into `spec.conversion.webhookClientConfig`
and `spec.conversion.conversionReviewVersions`. Error paths name the internal fields, so a v1 client with one
version sees `spec.validation.openAPIV3Schema...` and `spec.subresources.scale...`. This module builds that view
from the v1 dict; it never changes the object.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

PER_VERSION_FIELDS: Final = ("schema", "subresources", "additionalPrinterColumns", "selectableFields")
TOP_LEVEL_NAMES: Final = {"schema": "validation", "subresources": "subresources",
                          "additionalPrinterColumns": "additionalPrinterColumns",
                          "selectableFields": "selectableFields"}


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def semantic(value: Any) -> Any:
    """apiequality.Semantic's view of a JSON value: absent, null and empty lists compare equal."""
    if isinstance(value, dict):
        return {key: semantic(item) for key, item in value.items() if item is not None and item != []}
    if isinstance(value, list):
        return [semantic(item) for item in value]
    return value


def _blank(value: object) -> bool:
    return value is None or value == []


@dataclass
class InternalSpec:
    """The validated fields of the hub CustomResourceDefinitionSpec (per-version values None when hoisted)."""

    group: str
    scope: str
    names: dict[str, Any]
    version: str
    versions: list[dict[str, Any]]
    top: dict[str, Any] = field(default_factory=dict)
    conversion: dict[str, Any] | None = None
    preserve_unknown_fields: bool = False
    v1_versions: list[Any] | None = None
    """The versions as the client sent them: the value printed for errors about the whole list."""

    @property
    def validation(self) -> dict[str, Any] | None:
        value = self.top.get("validation")
        return value if isinstance(value, dict) else None

    @property
    def subresources(self) -> dict[str, Any] | None:
        value = self.top.get("subresources")
        return value if isinstance(value, dict) else None

    @property
    def columns(self) -> list[Any]:
        return sequence(self.top.get("additionalPrinterColumns"))

    @property
    def selectable_fields(self) -> list[Any]:
        return sequence(self.top.get("selectableFields"))

    def schemas(self) -> list[dict[str, Any]]:
        """Every openAPIV3Schema present (top-level first), for the spec-wide `has ...` predicates."""
        found = [mapping(self.validation).get("openAPIV3Schema")]
        found += [mapping(version.get("schema")).get("openAPIV3Schema") for version in self.versions]
        return [schema for schema in found if isinstance(schema, dict)]

    def subresources_for(self, version: Mapping[str, Any]) -> dict[str, Any] | None:
        """getSubresourcesForVersion: the top-level value unless some version has its own."""
        if not any(item.get("subresources") is not None for item in self.versions):
            return self.subresources
        value = version.get("subresources")
        return value if isinstance(value, dict) else None

    def any_status_enabled(self) -> bool:
        candidates = [self.subresources, *(item.get("subresources") for item in self.versions)]
        return any(isinstance(item, dict) and item.get("status") is not None for item in candidates)


def internal_spec(spec: Mapping[str, Any]) -> InternalSpec:
    """Convert_v1_CustomResourceDefinitionSpec_To_apiextensions_CustomResourceDefinitionSpec, as a view."""
    versions = [dict(item) if isinstance(item, dict) else {} for item in sequence(spec.get("versions"))]
    top: dict[str, Any] = {}
    if versions:
        for name in PER_VERSION_FIELDS:
            first = semantic(versions[0].get(name))
            if all(semantic(item.get(name)) == first for item in versions):
                top[TOP_LEVEL_NAMES[name]] = None if _blank(versions[0].get(name)) else versions[0].get(name)
                for item in versions:
                    item.pop(name, None)
    return InternalSpec(
        group=text(spec.get("group")), scope=text(spec.get("scope")), names=mapping(spec.get("names")),
        version=text(versions[0].get("name")) if versions else "", versions=versions, top=top,
        conversion=_internal_conversion(spec.get("conversion")),
        preserve_unknown_fields=spec.get("preserveUnknownFields") is True,
        v1_versions=spec["versions"] if isinstance(spec.get("versions"), list) else None,
    )


def _internal_conversion(conversion: object) -> dict[str, Any] | None:
    if not isinstance(conversion, dict):
        return None
    webhook = mapping(conversion.get("webhook"))
    internal: dict[str, Any] = {"strategy": text(conversion.get("strategy"))}
    if isinstance(conversion.get("webhook"), dict):
        internal["conversionReviewVersions"] = webhook.get("conversionReviewVersions")
        if isinstance(webhook.get("clientConfig"), dict):
            internal["webhookClientConfig"] = webhook["clientConfig"]
    return internal


def is_condition_true(crd: Mapping[str, Any], condition_type: str) -> bool:
    conditions = sequence(mapping(crd.get("status")).get("conditions"))
    return any(isinstance(item, dict) and item.get("type") == condition_type and item.get("status") == "True"
               for item in conditions)
