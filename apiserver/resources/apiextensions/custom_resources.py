"""The strategy of custom resources: upstream's customResourceStrategy (registry/customresource/strategy.go).

The generic store already does what every type needs (ObjectMeta validation with DNS-1123 subdomain names,
status dropped on create and kept from the stored object on update when the status subresource exists, the
`/status` update that changes only status, generation 1 on create). This strategy adds what is specific to
custom resources:

- the decoder's work on every body (`default`): unknown fields pruned and schema defaults applied, through the
  structural schema engine (`registry.structural`) when installed, through the version's schema node otherwise;
- validation against the schema (`validate`, `validate_update`): OpenAPI v3 value validation and
  x-kubernetes-validations rules (both from the structural engine), and the scale subresource's replica paths
  (`should be a non-negative integer`);
- the generation rule: any change outside metadata bumps it (status too when there is no status subresource);
- traits: DNS-1123 subdomain names, no create on update, no update without a resourceVersion.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from apiserver.meta.errors import MethodNotAllowed, StatusDetails
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.context import RequestContext
from apiserver.registry.schema import Schema
from apiserver.registry.schema_normalize import apply_schema_defaults, prune_unknown_fields
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.registry.traits import ResourceTraits

MAX_INT32: Final = 2**31 - 1
CUSTOM_RESOURCE_TRAITS: Final = ResourceTraits(allow_unconditional_update=False, tracks_generation=True)
_NOT_CONTENT: Final = frozenset({"metadata"})


@dataclass(frozen=True, slots=True)
class ScalePaths:
    """The scale subresource of a CRD version: where replicas and the selector live in the custom resource."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str = ""

    @classmethod
    def of(cls, scale: Mapping[str, Any]) -> ScalePaths:
        return cls(str(scale.get("specReplicasPath") or ""), str(scale.get("statusReplicasPath") or ""),
                   str(scale.get("labelSelectorPath") or ""))


def structural_engine(openapi_schema: Mapping[str, Any] | None) -> Any:
    """Part 3's StructuralSchema for a version's schema, or None when the engine is not installed (or the
    version has no schema)."""
    if openapi_schema is None:
        return None
    try:
        module = importlib.import_module("apiserver.registry.structural")
    except ImportError:
        return None
    engine = getattr(module, "StructuralSchema", None)
    return None if engine is None else engine.from_openapi(openapi_schema)


def path_steps(path: str) -> list[str]:
    """`.spec.replicas` → ["spec", "replicas"] (the simple paths scale subresources allow)."""
    return [step for step in path.strip().lstrip(".").split(".") if step]


def nested(obj: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """(found, value) at a simple dotted path."""
    current: Any = obj
    for step in path_steps(path):
        if not isinstance(current, Mapping) or step not in current:
            return False, None
        current = current[step]
    return True, current


class CustomResourceStrategy(DefaultStrategy):
    """One served version of a custom resource. `node` is the version's schema node, `structural` part 3's
    StructuralSchema (None without the engine), `scale` the scale subresource's paths (None without it)."""

    traits: ResourceTraits | None = CUSTOM_RESOURCE_TRAITS

    def __init__(self, kind: str, node: Schema, structural: Any = None, *, has_status: bool = False,
                 scale: ScalePaths | None = None, group: str = "", plural: str = "",
                 terminating: bool = False, openapi_schema: Mapping[str, Any] | None = None,
                 converter: Any = None, stored_reader: Any = None) -> None:
        self.kind = kind
        # Prunes and defaults objects read from storage (custom_resources_reads.StoredObjectReader), shared by
        # the CRD's versions; None for the decoders it holds itself.
        self.stored_reader = stored_reader
        # The CRD's conversion hook (crd_specs.converter_for): None converts by rewriting apiVersion.
        self.converter = converter
        self.openapi_schema = openapi_schema
        self.node = node
        self.structural = structural
        self.has_status = has_status
        self.scale = scale
        self.group = group
        self.plural = plural
        self.terminating = terminating

    @property
    def scale_paths(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
        """The scale subresource's paths as registry.scale reads them (None without the subresource)."""
        if self.scale is None:
            return None
        return (tuple(path_steps(self.scale.spec_replicas_path)), tuple(path_steps(self.scale.status_replicas_path)),
                tuple(path_steps(self.scale.label_selector_path)))

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        if self.terminating:
            # Upstream's CR handler refuses creates while the CRD's cleanup deletes its instances.
            raise MethodNotAllowed.from_message(
                "create not allowed while custom resource definition is terminating",
                details=StatusDetails(group=self.group, kind=self.plural))

    # --- the decoder ---------------------------------------------------------------------------------------

    def prune(self, obj: MutableObject) -> list[str]:
        """Remove fields the schema does not know (in place); returns their paths (`spec.foo`)."""
        if self.structural is not None:
            return list(self.structural.prune(obj))
        return prune_unknown_fields(obj, self.node)

    def default(self, obj: MutableObject) -> None:
        """Schema defaults, then pruning again (a default may bring unknown fields), as upstream's decoder."""
        if self.structural is not None:
            self.structural.default(obj)
        else:
            apply_schema_defaults(obj, self.node)
        self.prune(obj)

    # --- validation ----------------------------------------------------------------------------------------

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return [*self._schema_errors(obj, None), *self._scale_errors(obj)]

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        self._bump_generation_for_status(obj, old)
        return [*self._schema_errors(obj, old), *self._scale_errors(obj)]

    def _schema_errors(self, obj: MutableObject, old: MutableObject | None) -> FieldErrors:
        if self.structural is None:
            return []
        return list(self.structural.validate_object(obj, old))

    def _scale_errors(self, obj: MutableObject) -> FieldErrors:
        """ValidateScaleSpec and ValidateScaleStatus: replicas, where present, are int32 values >= 0."""
        if self.scale is None:
            return []
        errors: FieldErrors = []
        for path in (self.scale.spec_replicas_path, self.scale.status_replicas_path):
            found, value = nested(obj, path)
            if not found or value is None:
                continue
            field = FieldPath(path)
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append(FieldError.invalid(field, 0, _not_int64(path, value)))
            elif value < 0:
                errors.append(FieldError.invalid(field, value, "should be a non-negative integer"))
            elif value > MAX_INT32:
                errors.append(FieldError.invalid(field, value, f"should be less than or equal to {MAX_INT32}"))
        return errors

    def _bump_generation_for_status(self, obj: MutableObject, old: MutableObject) -> None:
        """Upstream counts every change outside metadata, status included when there is no status subresource;
        the generic store counts changes outside metadata and status, so a status-only change is added here
        (validation runs right after the store set the generation, before anything is written)."""
        if self.has_status or obj.get("status") == old.get("status"):
            return
        meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
        if meta.get("generation") == old_meta.get("generation"):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1


def _not_int64(path: str, value: Any) -> str:
    # unstructured.NestedInt64's error text for a value of another type.
    go_type = {str: "string", float: "float64", bool: "bool", dict: "map[string]interface {}",
               list: "[]interface {}"}.get(type(value), "interface {}")
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else repr(value)
    return f".{'.'.join(path_steps(path))} accessor error: {text} is of the type {go_type}, expected int64"
