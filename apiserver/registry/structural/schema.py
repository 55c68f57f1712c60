"""`StructuralSchema`: one CRD version's schema, compiled once, with everything a custom-resource write runs.

The order a custom-resource write follows upstream (crdHandler's decoder, then customResourceStrategy):

1. `prune(obj)`: unknown fields removed (their paths returned for `fieldValidation`), then non-nullable nulls
   without a default dropped;
2. `default(obj)`;
3. `validate(obj, old)`: kube-openapi's value validation (ratcheted on update: errors of values equal to their
   correlated old value are dropped, CRDValidationRatcheting being on by default in v1.32), embedded
   resources, list-type set/map uniqueness (skipped on update when the old object already breaks it);
4. `validate_rules(obj, old)`: the `x-kubernetes-validations` rules, unless `blocking_error(errors)` says an
   earlier error stops them (upstream then adds that error instead).

`validate_object(obj, old)` runs 3 and 4 as the strategy does. The root's ObjectMeta is the generic store's.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiserver.meta.validation import FieldError, FieldErrors, FieldErrorType, FieldPath
from apiserver.registry.schema_decode import decode_document
from apiserver.registry.structural.defaulting import default
from apiserver.registry.structural.embedded import validate_embedded
from apiserver.registry.structural.listtype import has_list_type, validate_list_types
from apiserver.registry.structural.nodes import StructuralNode, build_tree, object_meta_node, subtrees_with
from apiserver.registry.structural.openapi_validation import ValueValidator, field_errors
from apiserver.registry.structural.pruning import prune, prune_nulls
from apiserver.registry.structural.rules import RuleSet

BLOCKING_MESSAGE = (
    "some validation rules were not checked because the object was invalid; correct the existing errors to "
    "complete validation"
)


class StructuralSchema:
    """A compiled structural schema (immutable after construction; safe to share between requests)."""

    __slots__ = ("_embedded", "_list_types", "_rules", "_validator", "node", "openapi")

    def __init__(self, openapi: Mapping[str, Any]) -> None:
        self.openapi = openapi
        self.node: StructuralNode = build_tree(openapi)
        self._validator = ValueValidator(openapi)
        self._rules = RuleSet(self.node)
        self._embedded = subtrees_with(self.node, lambda node: node.embedded_resource and node is not self.node)
        self._list_types = subtrees_with(self.node, has_list_type)

    @classmethod
    def from_openapi(cls, openapi_v3_schema: Mapping[str, Any]) -> StructuralSchema:
        """Compile a CRD version's `openAPIV3Schema` (already accepted by the CRD's validation)."""
        return cls(openapi_v3_schema)

    def decode_error(self, obj: dict[str, Any]) -> str | None:
        """The error of the root metadata's ObjectMeta round trip (Go's text, `json: cannot unmarshal string into
        Go struct field ObjectMeta.labels of type map[string]string`), or None; upstream fails the decode with it
        (400 `<Kind> in version "<v>" cannot be handled as a <Kind>: <error>`)."""
        metadata = obj.get("metadata")
        if metadata is None:
            return None
        return decode_document(metadata, object_meta_node(), strict=False).error

    def prune(self, obj: dict[str, Any]) -> list[str]:
        """Remove unknown fields and disallowed nulls in place; returns the unknown fields' paths."""
        removed = prune(obj, self.node)
        prune_nulls(obj, self.node)
        return removed

    def default(self, obj: dict[str, Any]) -> None:
        """Apply the schema's defaults in place."""
        default(obj, self.node)

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None = None) -> FieldErrors:
        """Schema, embedded-resource and list-type errors of `obj` (an update when `old` is given)."""
        errors = field_errors(self._validator.validate(obj, "", old) if old is not None
                              else self._validator.validate(obj))
        errors += validate_embedded(obj, self.node, FieldPath(), self._embedded, is_root=True)
        if old is None or not validate_list_types(old, self.node, FieldPath(), self._list_types):
            errors += validate_list_types(obj, self.node, FieldPath(), self._list_types)
        return errors

    def validate_rules(self, obj: dict[str, Any], old: dict[str, Any] | None,
                       warnings: list[str] | None = None) -> FieldErrors:
        """The `x-kubernetes-validations` errors of `obj`, transition rules against `old` on update.

        Errors ratcheted away on update are appended to `warnings` (upstream sends them as Warning headers).
        """
        return self._rules.validate(obj, old, warnings)

    @property
    def has_rules(self) -> bool:
        return self._rules.has_rules

    def validate_object(self, obj: dict[str, Any], old: dict[str, Any] | None = None,
                        warnings: list[str] | None = None) -> FieldErrors:
        """Everything customResourceStrategy.Validate(Update) checks beyond ObjectMeta and scale."""
        errors = self.validate(obj, old)
        if not self._rules.has_rules:
            return errors
        if (blocking := blocking_error(errors)) is not None:
            return [*errors, blocking]
        return errors + self.validate_rules(obj, old, warnings)


def blocking_error(errors: FieldErrors) -> FieldError | None:
    """The error upstream adds instead of running CEL rules after a type or unsupported-value error."""
    for error in errors:
        if error.type in (FieldErrorType.NOT_SUPPORTED, FieldErrorType.TYPE_INVALID):
            return FieldError.invalid(FieldPath(), "null", BLOCKING_MESSAGE)  # Go prints a nil value as "null"
    return None
