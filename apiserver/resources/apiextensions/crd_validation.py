"""Validation of CustomResourceDefinitions: create, update and /status (apiextensions validation.go, v1.32).

The spec is validated in upstream's internal form (crd_validation_model): per-version fields identical in every
version are reported at the top level (`spec.validation...`). On update, rules the stored CRD already broke are
relaxed for it (upstream's ratcheting options): unrecognized conversion review versions, non-structural or
invalid-typed schemas, unpruned defaults, non-atomic set items, bad list-map keys, too many selectable fields, the
per-rule CEL cost of unchanged schemas, and names become immutable once the CRD is Established.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit

from apiserver.meta.validation import (
    FIELD_IMMUTABLE_MESSAGE,
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1035_label,
    is_dns1123_subdomain,
    name_is_dns_subdomain,
)

from .crd_validation_cel import GoLiteral, LiteralFieldError
from .crd_validation_conversion import has_accepted_review_version_or_empty, validate_conversion, validate_enum
from .crd_validation_defaults import prune
from .crd_validation_model import InternalSpec, internal_spec, is_condition_true, mapping, semantic, sequence, text
from .crd_validation_names import required_names, validate_columns, validate_names, validate_subresources
from .crd_validation_schema import OPENAPI_V3_TYPES, SchemaOptions, map_list_keys_map_set_errors
from .crd_validation_structural import structural_error, validate_structural
from .crd_validation_versions import (
    MAX_SELECTABLE_FIELDS,
    SpecOptions,
    validate_schema,
    validate_selectable_fields,
    validate_version,
)

SPEC_PATH: Final = FieldPath("spec")
STATUS: Final = FieldPath("status")
APPROVAL_ANNOTATION: Final = "api-approved.kubernetes.io"
_ENHANCEMENT: Final = "see https://github.com/kubernetes/enhancements/pull/1111"


def validate_name(crd: Mapping[str, Any]) -> FieldErrors:
    """metadata.name (and generateName): a DNS subdomain equal to `<spec.names.plural>.<spec.group>`."""
    meta, spec = mapping(crd.get("metadata")), mapping(crd.get("spec"))
    required = f"{text(mapping(spec.get('names')).get('plural'))}.{text(spec.get('group'))}"
    errors: FieldErrors = []
    path = FieldPath("metadata")
    if generate_name := text(meta.get("generateName")):
        problems = [*name_is_dns_subdomain(generate_name, True)]
        if generate_name != required:
            problems.append('must be spec.names.plural+"."+spec.group')
        errors += [FieldError.invalid(path.child("generateName"), generate_name, problem) for problem in problems]
    name = text(meta.get("name"))
    if name:
        problems = [*name_is_dns_subdomain(name, False)]
        if name != required:
            problems.append('must be spec.names.plural+"."+spec.group')
        errors += [FieldError.invalid(path.child("name"), name, problem) for problem in problems]
    return errors


def _spec_errors(internal: InternalSpec, options: SpecOptions, path: FieldPath) -> FieldErrors:
    """validateCustomResourceDefinitionSpec."""
    errors = _group_errors(internal.group, path.child("group"))
    errors += validate_enum(internal.scope, ("Cluster", "Namespaced"), path.child("scope"))
    schemas = internal.schemas()
    has_defaults = any(_has(schema, lambda node: node.get("default") is not None) for schema in schemas)
    extensions = any(_has(schema, _has_kubernetes_extensions) for schema in schemas)
    structural = options.require_structural or not internal.preserve_unknown_fields or has_defaults or extensions
    options = replace(options, require_structural=structural)
    errors += _missing_schema_errors(internal, options, path)
    if has_defaults and internal.preserve_unknown_fields:
        errors.append(FieldError.invalid(path.child("preserveUnknownFields"), True,
                                         "must be false in order to use defaults in the schema"))
    errors += _versions_errors(internal, options, path)
    if internal.version and (problems := is_dns1035_label(internal.version)):
        errors.append(FieldError.invalid(path.child("version"), internal.version, ",".join(problems)))
    errors += required_names(internal.names, path.child("names"))
    errors += validate_names(internal.names, path.child("names"))
    errors += validate_schema(internal.validation, internal.any_status_enabled(), options.for_version(internal.version),
                              options, path.child("validation"))
    errors += validate_subresources(internal.subresources, path.child("subresources"))
    errors += validate_columns(internal.columns, path.child("additionalPrinterColumns"))
    if internal.selectable_fields:
        if internal.validation is None:
            errors.append(FieldError.invalid(path.child("selectableFields"), "",
                                             "may only be set when validations.schema is included"))
        else:
            errors += validate_selectable_fields(internal.selectable_fields, internal.validation, "", options,
                                                 path.child("selectableFields"), path.child("schema.openAPIV3Schema"))
    conversion = internal.conversion
    if conversion is not None and conversion.get("strategy") != "None" and internal.preserve_unknown_fields:
        errors.append(FieldError.invalid(path.child("conversion", "strategy"), conversion.get("strategy"),
                                         "must be None if spec.preserveUnknownFields is true"))
    errors += validate_conversion(conversion, options.require_recognized_review_version, path.child("conversion"))
    return errors


def _group_errors(group: str, path: FieldPath) -> FieldErrors:
    if not group:
        return [FieldError.required(path)]
    if problems := is_dns1123_subdomain(group):
        return [FieldError.invalid(path, group, ",".join(problems))]
    if "." not in group:
        return [FieldError.invalid(path, group, "should be a domain with at least one dot")]
    return []


def _missing_schema_errors(internal: InternalSpec, options: SpecOptions, path: FieldPath) -> FieldErrors:
    if internal.validation is not None and isinstance(internal.validation.get("openAPIV3Schema"), dict):
        return []
    errors: FieldErrors = []
    for index, version in enumerate(internal.versions):
        has_schema = isinstance(mapping(version.get("schema")).get("openAPIV3Schema"), dict)
        schema_path = path.child("versions").index(index).child("schema", "openAPIV3Schema")
        if options.require_open_api_schema and not has_schema:
            errors.append(FieldError.required(schema_path))
        elif not options.require_open_api_schema and not internal.preserve_unknown_fields and not has_schema and (
                version.get("served") is True):
            errors.append(FieldError.required(schema_path, "because otherwise all fields are pruned"))
    return errors


def _versions_errors(internal: InternalSpec, options: SpecOptions, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    names: set[str] = set()
    unique = True
    for index, version in enumerate(internal.versions):
        name = text(version.get("name"))
        unique = unique and name not in names
        names.add(name)
        version_path = path.child("versions").index(index)
        if problems := is_dns1035_label(name):
            errors.append(FieldError.invalid(version_path.child("name"), name, ",".join(problems)))
        status_enabled = mapping(internal.subresources_for(version)).get("status") is not None
        errors += validate_version(version, version_path, status_enabled, options)
    shown: object = internal.v1_versions
    if not internal.v1_versions:  # Go's %#v of the (nil or empty) internal slice
        shown = GoLiteral("[]apiextensions.CustomResourceDefinitionVersion" + ("{}" if internal.v1_versions == []
                                                                                 else "(nil)"))
    if not unique:
        errors.append(LiteralFieldError.invalid(path.child("versions"), shown, "must contain unique version names"))
    if sum(1 for version in internal.versions if version.get("storage") is True) != 1:
        errors.append(LiteralFieldError.invalid(path.child("versions"), shown,
                                                "must have exactly one version marked as storage version"))
    return errors


def _has(schema: Any, predicate: Any) -> bool:
    """SchemaHas: whether `predicate` holds for any node of the schema."""
    if not isinstance(schema, dict):
        return False
    if predicate(schema):
        return True
    children: list[Any] = [schema.get("items"), schema.get("not"), schema.get("additionalProperties"),
                           schema.get("additionalItems")]
    children += sequence(schema.get("items")) + sequence(schema.get("allOf")) + sequence(schema.get("anyOf"))
    children += sequence(schema.get("oneOf"))
    for key in ("properties", "patternProperties", "definitions", "dependencies"):
        children += list(mapping(schema.get(key)).values())
    return any(_has(child, predicate) for child in children)


def _has_kubernetes_extensions(node: Mapping[str, Any]) -> bool:
    return (node.get("x-kubernetes-embedded-resource") is True or node.get("x-kubernetes-preserve-unknown-fields")
            is not None or node.get("x-kubernetes-int-or-string") is True or bool(
                sequence(node.get("x-kubernetes-list-map-keys"))) or node.get("x-kubernetes-list-type") is not None
            or bool(sequence(node.get("x-kubernetes-validations"))))


def validate_stored_versions(stored: object, internal: InternalSpec, path: FieldPath) -> FieldErrors:
    """ValidateCustomResourceDefinitionStoredVersions."""
    stored_versions = sequence(stored)
    if not stored_versions:
        return [LiteralFieldError.invalid(path, GoLiteral("[]string(nil)") if stored is None else [],
                                          "must have at least one stored version")]
    errors: FieldErrors = []
    positions = {version: index for index, version in enumerate(stored_versions)}
    for version in internal.versions:
        name = text(version.get("name"))
        if version.get("storage") is True and name not in positions:
            errors.append(FieldError.invalid(path, stored_versions, "must have the storage version " + name))
        positions.pop(name, None)
    for version, index in positions.items():
        errors.append(FieldError.invalid(path.index(index), version, (
            f"missing from spec.versions; {version} was previously a storage version, and must remain in "
            f"spec.versions until a storage migration ensures no data remains persisted in {version} and removes "
            f"{version} from status.storedVersions")))
    return errors


def _approval_state(annotations: Mapping[str, Any]) -> tuple[str, str]:
    value = text(annotations.get(APPROVAL_ANNOTATION))
    if not value:
        return "missing", f'protected groups must have approval annotation "{APPROVAL_ANNOTATION}", {_ENHANCEMENT}'
    if value.startswith("unapproved"):
        return "bypassed", ""
    try:
        parts = urlsplit(value)
        valid = bool(parts.scheme and parts.netloc)
    except ValueError:
        valid = False
    if valid:
        return "approved", ""
    return "invalid", (f'protected groups must have approval annotation "{APPROVAL_ANNOTATION}" with either a URL '
                       f'or a reason starting with "unapproved", {_ENHANCEMENT}')


def validate_api_approval(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> FieldErrors:
    """validateAPIApproval: CRDs in *.k8s.io and *.kubernetes.io groups need the approval annotation."""
    group = text(mapping(crd.get("spec")).get("group"))
    if not (group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))):
        return []
    annotations = mapping(mapping(crd.get("metadata")).get("annotations"))
    state, reason = _approval_state(annotations)
    if old is not None and _approval_state(mapping(mapping(old.get("metadata")).get("annotations")))[0] == state:
        return []
    path = FieldPath("metadata", "annotations").key(APPROVAL_ANNOTATION)
    if state == "missing":
        return [FieldError.required(path, reason)]
    if state == "invalid":
        return [FieldError.invalid(path, text(annotations.get(APPROVAL_ANNOTATION)), reason)]
    return []


def validate_preserve_unknown_fields(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> FieldErrors:
    if old is not None and mapping(old.get("spec")).get("preserveUnknownFields") is True:
        return []
    if mapping(crd.get("spec")).get("preserveUnknownFields") is True:
        return [FieldError.invalid(SPEC_PATH.child("preserveUnknownFields"), True, "cannot set to true, set "
                                   "x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead")]
    return []


def validate_crd(crd: Mapping[str, Any]) -> FieldErrors:
    """ValidateCustomResourceDefinition, without the generic ObjectMeta rules the store applies."""
    spec, status = mapping(crd.get("spec")), mapping(crd.get("status"))
    internal = internal_spec(spec)
    errors = validate_name(crd) + _spec_errors(internal, SpecOptions(), SPEC_PATH)
    errors += validate_names(mapping(status.get("acceptedNames")), STATUS.child("acceptedNames"))
    errors += validate_stored_versions(status.get("storedVersions"), internal, STATUS.child("storedVersions"))
    errors += validate_api_approval(crd, None)
    return errors + validate_preserve_unknown_fields(crd, None)


def validate_crd_update(crd: Mapping[str, Any], old: Mapping[str, Any]) -> FieldErrors:
    """ValidateCustomResourceDefinitionUpdate, without the generic ObjectMeta update rules."""
    spec, old_spec, status = mapping(crd.get("spec")), mapping(old.get("spec")), mapping(crd.get("status"))
    internal, old_internal = internal_spec(spec), internal_spec(old_spec)
    errors = _spec_errors(internal, ratchet_options(crd, old, old_internal), SPEC_PATH)
    if is_condition_true(old, "Established"):
        errors += _immutable(internal.scope, old_internal.scope, SPEC_PATH.child("scope"))
        errors += _immutable(text(internal.names.get("kind")), text(old_internal.names.get("kind")),
                             SPEC_PATH.child("names", "kind"))
    errors += _immutable(internal.group, old_internal.group, SPEC_PATH.child("group"))
    errors += _immutable(text(internal.names.get("plural")), text(old_internal.names.get("plural")),
                         SPEC_PATH.child("names", "plural"))
    errors += validate_names(mapping(status.get("acceptedNames")), STATUS.child("acceptedNames"))
    errors += validate_stored_versions(status.get("storedVersions"), internal, STATUS.child("storedVersions"))
    errors += validate_api_approval(crd, old)
    return errors + validate_preserve_unknown_fields(crd, old)


def validate_crd_status_update(crd: Mapping[str, Any]) -> FieldErrors:
    """ValidateUpdateCustomResourceDefinitionStatus: the accepted names only."""
    return validate_names(mapping(mapping(crd.get("status")).get("acceptedNames")), STATUS.child("acceptedNames"))


def _immutable(value: str, old: str, path: FieldPath) -> FieldErrors:
    return [] if value == old else [FieldError.invalid(path, value, FIELD_IMMUTABLE_MESSAGE)]


def ratchet_options(crd: Mapping[str, Any], old: Mapping[str, Any], old_internal: InternalSpec) -> SpecOptions:
    """The validationOptions of an update: what the stored CRD already violates stays allowed."""
    schemas = old_internal.schemas()
    schema_options = SchemaOptions(
        require_valid_property_type=not any(_has(schema, _invalid_type) for schema in schemas),
        require_atomic_set_type=not any(_has(schema, _non_atomic_set) for schema in schemas),
        require_map_list_keys_map_set_validation=not any(
            _has(schema, lambda node: bool(map_list_keys_map_set_errors(node, FieldPath("")))) for schema in schemas),
    )
    conversion = old_internal.conversion
    return SpecOptions(
        schema=schema_options,
        require_structural=not any(_non_structural(schema) for schema in schemas),
        require_pruned_defaults=not any(_has_unpruned_defaults(schema) for schema in schemas),
        require_open_api_schema=_all_versions_have_schema(old_internal),
        require_recognized_review_version=conversion is None or has_accepted_review_version_or_empty(
            conversion.get("conversionReviewVersions")),
        unchanged_schema_versions=_unchanged_schema_versions(crd, old),
        too_many_selectable_fields_allowed=_too_many_selectable_fields_allowed(crd, old),
    )


def _invalid_type(node: Mapping[str, Any]) -> bool:
    return bool(node.get("type")) and node.get("type") not in OPENAPI_V3_TYPES


def _non_atomic_set(node: Mapping[str, Any]) -> bool:
    items = node.get("items")
    if node.get("x-kubernetes-list-type") != "set" or not isinstance(items, dict):
        return False
    if items.get("type") == "array":
        return items.get("x-kubernetes-list-type") not in (None, "atomic")
    return items.get("type") == "object" and items.get("x-kubernetes-map-type") != "atomic"


def _non_structural(schema: Mapping[str, Any]) -> bool:
    return structural_error(schema) is not None or bool(validate_structural(schema, FieldPath("")))


def _has_unpruned_defaults(schema: Mapping[str, Any]) -> bool:
    if not _has(schema, lambda node: node.get("default") is not None) or _non_structural(schema):
        return False

    def unpruned(node: Mapping[str, Any]) -> bool:
        default = node.get("default")
        return default is not None and prune(default, node, node is schema) != default
    return _has(schema, unpruned)


def _all_versions_have_schema(internal: InternalSpec) -> bool:
    if internal.validation is not None and isinstance(internal.validation.get("openAPIV3Schema"), dict):
        return True
    return all(isinstance(mapping(version.get("schema")).get("openAPIV3Schema"), dict)
               for version in internal.versions)


_MISSING: Final = object()


def _schema_of(crd: Mapping[str, Any], name: str) -> Any:
    """The (semantic) schema of one version, or _MISSING when the CRD has no such version."""
    for version in sequence(mapping(crd.get("spec")).get("versions")):
        if isinstance(version, dict) and version.get("name") == name:
            return semantic(version.get("schema"))
    return _MISSING


def _unchanged_schema_versions(crd: Mapping[str, Any], old: Mapping[str, Any]) -> frozenset[str]:
    """findVersionsWithUnchangedSchemas: versions present before and after whose schema did not change."""
    names = [text(mapping(version).get("name")) for version in sequence(mapping(crd.get("spec")).get("versions"))]
    return frozenset(name for name in names
                     if _schema_of(old, name) is not _MISSING and _schema_of(crd, name) == _schema_of(old, name))


def _too_many_selectable_fields_allowed(crd: Mapping[str, Any], old: Mapping[str, Any]) -> frozenset[str]:
    allowed: set[str] = set()
    old_versions = {text(mapping(item).get("name")): mapping(item)
                    for item in sequence(mapping(old.get("spec")).get("versions"))}
    for version in sequence(mapping(crd.get("spec")).get("versions")):
        version = mapping(version)
        fields = sequence(version.get("selectableFields"))
        before = old_versions.get(text(version.get("name")))
        if before is not None and len(sequence(before.get("selectableFields"))) > MAX_SELECTABLE_FIELDS and (
                semantic(fields) == semantic(sequence(before.get("selectableFields")))):
            allowed.add(text(version.get("name")))
    if all(name in allowed for name in (text(mapping(item).get("name"))
                                        for item in sequence(mapping(crd.get("spec")).get("versions")))) and allowed:
        allowed.add("")
    return frozenset(allowed)
