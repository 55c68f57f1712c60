"""The CustomResourceDefinition strategy: v1 defaults, status on create, stored versions and validation.

Upstream v1.32: apiextensions/v1 defaults.go (singular and listKind from kind, conversion strategy None, webhook
service port 443, storedVersions from the storage version) and pkg/registry/customresourcedefinition/strategy.go
(status reset on create, the storage version added to status.storedVersions on create and update, spec changes
bump metadata.generation, /status writes change only the status). The store drops the status of a create and keeps
the stored status on a main-resource update; generation is the store's (`tracks_generation`).
"""
from __future__ import annotations

from typing import Any

from apiserver.meta.validation import FieldErrors
from apiserver.registry.context import RequestContext
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.registry.traits import ResourceTraits

from .crd_validation import validate_crd, validate_crd_status_update, validate_crd_update
from .crd_validation_model import mapping, sequence, text


def _accept_any_name(name: str, is_prefix: bool) -> list[str]:
    """The store's name check is replaced by the CRD's own (`<plural>.<group>`), which the strategy reports first."""
    return []


TRAITS = ResourceTraits(name_validator=_accept_any_name, allow_unconditional_update=False, tracks_generation=True)


def default_crd(obj: MutableObject) -> None:
    """SetObjectDefaults_CustomResourceDefinition (apiextensions/v1)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        kind = text(names.get("kind"))
        if not names.get("singular"):
            names["singular"] = kind.lower()
        if not names.get("listKind") and kind:
            names["listKind"] = kind + "List"
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}
    service = mapping(mapping(mapping(spec.get("conversion")).get("webhook")).get("clientConfig")).get("service")
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443
    status = obj.get("status")
    if isinstance(status, dict) and not status.get("storedVersions"):
        storage = _storage_version(spec)
        if storage is not None:
            status["storedVersions"] = [storage]


def _storage_version(spec: dict[str, Any]) -> str | None:
    for version in sequence(spec.get("versions")):
        if isinstance(version, dict) and version.get("storage") is True:
            return text(version.get("name"))
    return None


def _add_stored_version(obj: MutableObject) -> None:
    storage = _storage_version(mapping(obj.get("spec")))
    if storage is None:
        return
    status = obj.setdefault("status", {})
    stored = status.get("storedVersions")
    if not isinstance(stored, list):
        stored = status["storedVersions"] = []
    if storage not in stored:
        status["storedVersions"] = [*stored, storage]


def empty_status() -> dict[str, Any]:
    """The v1 status of a new CRD: acceptedNames is a struct (no omitempty), storedVersions is filled next.

    Upstream also writes `"conditions": null` (no omitempty); it is left out here because the condition helpers
    (crd_conditions.set_condition) expect a list or nothing, and clients read null and absent alike.
    """
    return {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": None}


class CustomResourceDefinitionStrategy(DefaultStrategy):
    """Defaults, preparation and validation of CustomResourceDefinitions."""

    traits: ResourceTraits | None = TRAITS

    def default(self, obj: MutableObject) -> None:
        default_crd(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        obj["status"] = empty_status()
        _add_stored_version(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        _add_stored_version(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_crd(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        if obj.get("spec") == old.get("spec") and obj.get("status") != old.get("status"):
            return validate_crd_status_update(obj)
        return validate_crd_update(obj, old)


STRATEGY = CustomResourceDefinitionStrategy()
