"""One CRD schema (`validation` or `versions[i].schema`) and the per-version fields around it.

validateCustomResourceDefinitionValidation and validateCustomResourceDefinitionVersion of upstream v1.32: the root
rules when the status subresource is on, the structural-schema rules, the default values, the OpenAPI walk with its
CEL rules and the per-CRD cost total, and each version's deprecation warning, subresources, printer columns and
selectable fields.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

from .crd_validation_cel import TotalCost, total_cost_errors
from .crd_validation_defaults import validate_defaults
from .crd_validation_model import mapping, sequence, text
from .crd_validation_names import deprecation_warning_problems, validate_columns, validate_subresources
from .crd_validation_schema import SchemaOptions, validate_openapi_schema
from .crd_validation_structural import resolve_field_path, structural_error, validate_structural

MAX_SELECTABLE_FIELDS: Final = 8
# (JSON key, Go field name) of JSONSchemaProps in the Go struct's order; the root check reports the first one set.
_ROOT_FIELDS: Final = (
    ("id", "ID"), ("$schema", "Schema"), ("$ref", "Ref"), ("description", "Description"), ("type", "Type"),
    ("nullable", "Nullable"), ("format", "Format"), ("title", "Title"), ("default", "Default"),
    ("maximum", "Maximum"), ("exclusiveMaximum", "ExclusiveMaximum"), ("minimum", "Minimum"),
    ("exclusiveMinimum", "ExclusiveMinimum"), ("maxLength", "MaxLength"), ("minLength", "MinLength"),
    ("pattern", "Pattern"), ("maxItems", "MaxItems"), ("minItems", "MinItems"), ("uniqueItems", "UniqueItems"),
    ("multipleOf", "MultipleOf"), ("enum", "Enum"), ("maxProperties", "MaxProperties"),
    ("minProperties", "MinProperties"), ("required", "Required"), ("items", "Items"), ("allOf", "AllOf"),
    ("oneOf", "OneOf"), ("anyOf", "AnyOf"), ("not", "Not"), ("properties", "Properties"),
    ("additionalProperties", "AdditionalProperties"), ("patternProperties", "PatternProperties"),
    ("dependencies", "Dependencies"), ("additionalItems", "AdditionalItems"), ("definitions", "Definitions"),
    ("externalDocs", "ExternalDocs"), ("example", "Example"),
    ("x-kubernetes-preserve-unknown-fields", "XPreserveUnknownFields"),
    ("x-kubernetes-embedded-resource", "XEmbeddedResource"), ("x-kubernetes-int-or-string", "XIntOrString"),
    ("x-kubernetes-list-map-keys", "XListMapKeys"), ("x-kubernetes-list-type", "XListType"),
    ("x-kubernetes-map-type", "XMapType"), ("x-kubernetes-validations", "XValidations"),
)
ALLOWED_AT_ROOT: Final = ("Description", "Type", "Format", "Title", "Maximum", "ExclusiveMaximum", "Minimum",
                          "ExclusiveMinimum", "MaxLength", "MinLength", "Pattern", "MaxItems", "MinItems",
                          "UniqueItems", "MultipleOf", "Required", "Items", "Properties", "ExternalDocs", "Example",
                          "XPreserveUnknownFields", "XValidations")
_POINTERS: Final = frozenset({"$ref", "default", "maximum", "minimum", "maxLength", "minLength", "maxItems",
                              "minItems", "multipleOf", "maxProperties", "minProperties", "items", "not",
                              "additionalProperties", "additionalItems", "externalDocs", "example",
                              "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-type",
                              "x-kubernetes-map-type"})


@dataclass(frozen=True)
class SpecOptions:
    """validationOptions of one create or update (loosened on update for what the stored CRD already has)."""

    schema: SchemaOptions = field(default_factory=SchemaOptions)
    require_structural: bool = True
    require_pruned_defaults: bool = True
    require_open_api_schema: bool = True
    require_recognized_review_version: bool = True
    unchanged_schema_versions: frozenset[str] = frozenset()
    too_many_selectable_fields_allowed: frozenset[str] = field(default_factory=frozenset)

    def for_version(self, version: str) -> SchemaOptions:
        if version in self.unchanged_schema_versions:
            return replace(self.schema, suppress_per_expression_cost=True)
        return self.schema


def _set_at_root(schema: Mapping[str, Any], key: str) -> bool:
    value = schema.get(key)
    if key in _POINTERS:
        return value is not None
    return value is not None and value is not False and value != "" and value != [] and value != {}


def _status_root_errors(schema: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """With the status subresource only a few fields may sit at the root (status is cut out of properties)."""
    for key, name in _ROOT_FIELDS:
        if not _set_at_root(schema, key):
            continue
        if name == "Type":
            if schema.get("type") != "object":
                return [FieldError.invalid(path.child("openAPIV3Schema.type"), schema.get("type"),
                                           'only "object" is allowed as the type at the root of the schema if the '
                                           "status subresource is enabled")]
            continue
        if name not in ALLOWED_AT_ROOT:
            return [FieldError.invalid(path.child("openAPIV3Schema"), dict(schema),
                                       f"only [{' '.join(ALLOWED_AT_ROOT)}] fields are allowed at the root of the "
                                       "schema if the status subresource is enabled")]
    return []


def validate_schema(validation: Mapping[str, Any] | None, status_enabled: bool, options: SchemaOptions,
                    spec_options: SpecOptions, path: FieldPath) -> FieldErrors:
    """validateCustomResourceDefinitionValidation for `validation` (a CustomResourceValidation, or None)."""
    schema = mapping(validation).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        return []
    errors = _status_root_errors(schema, path) if status_enabled else []
    if schema.get("nullable") is True:
        errors.append(FieldError.forbidden(path.child("openAPIV3Schema.nullable"),
                                           "nullable cannot be true at the root"))
    schema_path = path.child("openAPIV3Schema")
    init_errors: FieldErrors = []
    cel_enabled = False
    if spec_options.require_structural:
        if (problem := structural_error(schema)) is not None:
            init_errors.append(FieldError.invalid(schema_path, "", problem))
        elif structural := validate_structural(schema, schema_path):
            errors += structural
        elif defaults := validate_defaults(schema, schema_path, spec_options.require_pruned_defaults):
            errors += defaults
        else:
            cel_enabled = True
    total = TotalCost()
    errors += validate_openapi_schema(schema, schema_path, options, cel_enabled, total)
    if not errors and init_errors:
        errors += init_errors
    if cel_enabled:
        errors += total_cost_errors(total, schema_path)
    return errors


def validate_selectable_fields(fields: list[Any], validation: Mapping[str, Any] | None, version: str,
                               spec_options: SpecOptions, path: FieldPath, schema_path: FieldPath) -> FieldErrors:
    """ValidateCustomResourceSelectableFields (the caller checked that a schema exists)."""
    schema = mapping(mapping(validation).get("openAPIV3Schema"))
    errors: FieldErrors = []
    if (problem := structural_error(schema)) is not None:
        errors.append(FieldError.invalid(schema_path, "", problem))
    unique: list[tuple[str, ...]] = []
    for index, selectable in enumerate(fields):
        json_path = text(mapping(selectable).get("jsonPath"))
        child = path.index(index).child("jsonPath")
        if not json_path:
            errors.append(FieldError.required(child))
            continue
        resolved = resolve_field_path(schema, json_path, allow_array_notation=False)
        if isinstance(resolved, str):
            errors.append(FieldError.invalid(child, json_path, f"is an invalid path: {resolved}"))
            continue
        if resolved.names[:1] == ("metadata",):
            errors.append(FieldError.invalid(child, json_path, "must not point to fields in metadata"))
        if resolved.schema is None or resolved.schema.get("type") not in ("string", "boolean", "integer"):
            errors.append(FieldError.invalid(child, json_path, "must point to a field of type string, boolean or "
                                             "integer. Enum string fields and strings with formats are allowed."))
        if resolved.names in unique:
            errors.append(FieldError.duplicate(child, json_path))
        else:
            unique.append(resolved.names)
    if len(unique) > MAX_SELECTABLE_FIELDS and version not in spec_options.too_many_selectable_fields_allowed:
        errors.append(FieldError.too_many(path, len(unique), MAX_SELECTABLE_FIELDS))
    return errors


def validate_version(version: Mapping[str, Any], path: FieldPath, status_enabled: bool,
                     spec_options: SpecOptions) -> FieldErrors:
    """validateCustomResourceDefinitionVersion: the fields a version keeps after hoisting."""
    warning = version.get("deprecationWarning")
    errors = [FieldError.invalid(path.child("deprecationWarning"), warning, problem)
              for problem in deprecation_warning_problems(version.get("deprecated") is True, warning)]
    name = text(version.get("name"))
    schema_options = spec_options.for_version(name)
    errors += validate_schema(version.get("schema") if isinstance(version.get("schema"), dict) else None,
                              status_enabled, schema_options, spec_options, path.child("schema"))
    errors += validate_subresources(version.get("subresources"), path.child("subresources"))
    errors += validate_columns(sequence(version.get("additionalPrinterColumns")),
                               path.child("additionalPrinterColumns"))
    fields = sequence(version.get("selectableFields"))
    if fields:
        schema = mapping(version.get("schema")).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            errors.append(FieldError.invalid(path.child("selectableFields"), "",
                                             "may only be set when `version.schema.openAPIV3Schema` is not included"))
        else:
            errors += validate_selectable_fields(fields, mapping(version.get("schema")), name, spec_options,
                                                 path.child("selectableFields"), path.child("schema.openAPIV3Schema"))
    return errors
