"""Server-side apply: merging an applied configuration into the live object under field ownership
(PATCH with `application/apply-patch+yaml`; k8s.io/apimachinery/pkg/util/managedfields/internal and
sigs.k8s.io/structured-merge-diff's merge.Updater, reimplemented).

An apply merges the configuration into the live object (configured values win; map-lists merge by key, sets
by value, atomic values are replaced), makes the configuration exactly what its manager owns, removes what
the manager applied before and no longer applies unless another manager owns it, and fails with 409 when it
changes a field another manager owns, unless forced (the field then changes hands). An object nobody owned
yet is first given to `before-first-apply`. An apply that changes nothing returns the live object itself,
managedFields and their times included (`ApplyResult.changed` False): storing it again must be skipped.

`kubectl apply --server-side` (manager `kubectl`) gets upstream's client-side apply migration: conflicts on
fields that the last-applied-configuration annotation holds with the live value are forced, and an existing
annotation is rewritten with the new configuration.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from apiserver.meta.errors import ApiError, BadRequest, Conflict, StatusCause, StatusDetails, go_quote
from apiserver.meta.objects import JSONDict, name_of, namespace_of
from apiserver.registry.fieldmerge import (
    compare,
    drop_new_nulls,
    ensure_named_fields_are_members,
    json_equal,
    merge,
    remove_items,
)
from apiserver.registry.fieldpaths import Path, go_json, path_string
from apiserver.registry.fieldsets import EMPTY, FieldSet, fields_of
from apiserver.registry.fieldtypes import TypedError, typed_errors
from apiserver.registry.managedfields import (
    APPLY,
    BEFORE_FIRST_APPLY,
    UPDATE,
    Managed,
    ManagedFieldsError,
    VersionedSet,
    decode_managed_fields,
    encode_managed_fields,
    managed_fields_of,
    manager_identifier,
    parse_identifier,
    record_update,
    set_managed_fields,
    settle,
    strip_meta,
    without_managed_fields,
    zero_object,
)

LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_MANAGER: Final = "kubectl"
TOTAL_ANNOTATION_SIZE_LIMIT: Final = 256 * 1024
FIELD_MANAGER_CONFLICT: Final = "FieldManagerConflict"


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The object to store; `changed` False means it is the live object itself and nothing must be written."""

    obj: JSONDict
    changed: bool


@dataclass(frozen=True, slots=True)
class _Request:
    """What stays the same through one apply (and its forced retry)."""

    schema: Any
    api_version: str
    subresource: str
    now: datetime
    ignored: FieldSet | None


class _Conflicts(Exception):
    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


def apply(live: JSONDict | None, applied: JSONDict, manager: str, *, force: bool, schema: Any, api_version: str,
          kind: str, now: datetime, subresource: str = "", ignored: FieldSet | None = None) -> ApplyResult:
    """Apply `applied` (decoded YAML) as `manager` to `live` (None: the object does not exist yet).

    `api_version` and `kind` are the request's (the configuration must name them); `ignored` are the fields
    this path resets (`managedfields.reset_fields`). Raises BadRequest for a configuration of another kind or
    carrying managedFields, Conflict (409, upstream's message and FieldManagerConflict causes), and a 500
    ApiError for values that do not fit the schema, with upstream's wording. Inputs are not changed.
    """
    check_applied_object(applied, api_version, kind)
    live_object = live if live is not None else {}
    try:
        managed = decode_managed_fields(managed_fields_of(live_object))
    except ManagedFieldsError as error:
        raise ApiError(f"failed to decode managed fields: {error}") from None
    if errors := typed_errors(applied, schema):
        raise ApiError(f"failed to create typed patch object ({_describe(applied)}): {TypedError(errors)}")
    request = _Request(schema, api_version, subresource, now, ignored)
    try:
        new, managed = _apply_resolving_last_applied(live_object, applied, managed, manager, force, request)
    except TypedError as error:
        raise ApiError(f"failed to create typed live object ({_describe(applied)}): {error}") from None
    if manager == KUBECTL_MANAGER and _last_applied(new):
        _set_last_applied(new, build_last_applied(applied))
    set_managed_fields(new, encode_managed_fields(managed))
    if live is not None and json_equal(new, live):
        return ApplyResult(live, changed=False)
    return ApplyResult(new, changed=True)


def check_applied_object(applied: Any, api_version: str, kind: str) -> None:
    """The configuration names the request's kind (versioncheck.go) and carries no managedFields."""
    group, _, version = api_version.rpartition("/")
    applied_group, applied_version, applied_kind = _group_version_kind(applied)
    if (applied_group, applied_version, applied_kind) != (group, version, kind):
        raise BadRequest(f"invalid object type: {applied_group}/{applied_version}, Kind={applied_kind}")
    if isinstance(managed_fields_of(applied), list):
        raise BadRequest("metadata.managedFields must be nil")


def _group_version_kind(obj: Any) -> tuple[str, str, str]:
    """An unstructured object's GroupVersionKind(): all empty when apiVersion has more than one `/`."""
    api_version = obj.get("apiVersion") if isinstance(obj, dict) else None
    kind = obj.get("kind") if isinstance(obj, dict) else None
    api_version = api_version if isinstance(api_version, str) else ""
    if api_version.count("/") > 1:
        return "", "", ""
    group, _, version = api_version.rpartition("/")
    return group, version, kind if isinstance(kind, str) else ""


def applied_object(document: Any) -> JSONDict:
    """The decoded body of an apply patch as an object (yaml.Unmarshal into a map); BadRequest otherwise."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        kind = "array" if isinstance(document, list) else "string" if isinstance(document, str) else (
            "bool" if isinstance(document, bool) else "number")
        raise BadRequest(
            f"error decoding YAML: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    return document


def uid_mismatch(resource: str, group: str, created: JSONDict) -> Conflict | None:
    """The 409 upstream answers when an apply that creates the object names a uid (patch.go applyPatch)."""
    uid = (created.get("metadata") or {}).get("uid")
    if not uid:
        return None
    reason = f"uid mismatch: the provided object specified uid {uid}, and no existing object was found"
    return Conflict(resource, name_of(created), reason, group=group)


def _describe(obj: JSONDict) -> str:
    """objectGVKNN: `namespace/name; group/version, Kind=kind`."""
    group, version, kind = _group_version_kind(obj)
    return f"{namespace_of(obj)}/{name_of(obj)}; {group}/{version}, Kind={kind}"


# --- the apply itself ------------------------------------------------------------------------------------------


def _apply_resolving_last_applied(live: JSONDict, applied: JSONDict, managed: Managed, manager: str, force: bool,
                                  request: _Request) -> tuple[JSONDict, Managed]:
    """lastappliedmanager.go: kubectl's conflicts on fields it last applied client-side are not conflicts."""
    try:
        return _apply_once(live, applied, managed, manager, force, request)
    except _Conflicts as error:
        if manager != KUBECTL_MANAGER:
            raise conflict_error(error.conflicts) from None
        allowed = _allowed_conflicts(live, request)
        if allowed is None:
            raise conflict_error(error.conflicts) from None
        remaining = [(owner, path) for owner, path in error.conflicts if not allowed.has(path)]
        if remaining:
            raise conflict_error(remaining) from None
    try:
        return _apply_once(live, applied, managed, manager, True, request)
    except _Conflicts as error:  # pragma: no cover - forced applies have no conflicts
        raise conflict_error(error.conflicts) from None


def _apply_once(live: JSONDict, applied: JSONDict, managed: Managed, manager: str, force: bool,
                request: _Request) -> tuple[JSONDict, Managed]:
    """The field manager's Apply below the last-applied layers; raises _Conflicts."""
    old = without_managed_fields(live)
    if not managed.fields:
        managed = record_update(managed, zero_object(request.schema), old, BEFORE_FIRST_APPLY,
                                schema=request.schema, api_version=request.api_version, now=request.now)
    else:
        managed = managed.copy()
    identifier = manager_identifier(manager or "unknown", APPLY, request.api_version, request.subresource)
    merged = merge(old, applied, request.schema)
    last = managed.fields.get(identifier)
    owned = fields_of(applied, request.schema)
    if request.ignored is not None:
        owned = owned.recursive_difference(request.ignored)
    managed.fields[identifier] = VersionedSet(owned, request.api_version, True)
    merged = _prune(merged, managed, last, request.schema)
    comparison = compare(old, merged, request.schema).excluding(request.ignored)
    conflicts = settle(managed.fields, comparison, identifier, force=force)
    if conflicts:
        raise _Conflicts([(owner, path) for owner in sorted(conflicts) for path in conflicts[owner].paths()])
    unchanged = json_equal(old, merged)
    strip_meta(managed, identifier)
    if unchanged:
        return old, managed
    managed.times[identifier] = request.now
    return drop_new_nulls(merged, old), managed


def _prune(merged: Any, managed: Managed, last: VersionedSet | None, schema: Any) -> Any:
    """Updater.prune: remove what the applier owned last time and no longer applies, unless someone owns it."""
    if last is None or not last.fields:
        return merged
    last_fields = ensure_named_fields_are_members(last.fields, schema)
    pruned = remove_items(merged, last_fields, schema)
    owned = EMPTY
    for versioned in managed.fields.values():
        owned = owned.union(versioned.fields)
    merged_fields = ensure_named_fields_are_members(fields_of(merged, schema), schema)
    kept = ensure_named_fields_are_members(fields_of(pruned, schema), schema).union(
        ensure_named_fields_are_members(owned, schema))
    pruned = remove_items(merged, merged_fields.difference(kept), schema)
    pruned_fields = ensure_named_fields_are_members(fields_of(pruned, schema), schema)
    return remove_items(merged, merged_fields.difference(pruned_fields).intersection(last_fields), schema)


# --- conflicts -----------------------------------------------------------------------------------------------


def conflict_error(conflicts: list[tuple[str, Path]]) -> Conflict:
    """NewConflictError: 409 Conflict with one FieldManagerConflict cause per field, managers in order."""
    causes = tuple(
        StatusCause(FIELD_MANAGER_CONFLICT, f"conflict with {describe_manager(owner)}", path_string(path))
        for owner, path in conflicts
    )
    return Conflict.from_message(_conflict_message(conflicts), details=StatusDetails(causes=causes))


def _conflict_message(conflicts: list[tuple[str, Path]]) -> str:
    if len(conflicts) == 1:
        owner, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {describe_manager(owner)}: {path_string(path)}"
    by_manager: dict[str, list[Path]] = {}
    for owner, path in conflicts:
        by_manager.setdefault(owner, []).append(path)
    lines: list[str] = []
    for owner in sorted(by_manager):
        lines.append(f"conflicts with {describe_manager(owner)}:")
        lines.extend(f"- {path_string(path)}" for path in by_manager[owner])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def describe_manager(identifier: str) -> str:
    """printManager: `"name"`, `"name" with subresource "status"`, `"name" using apps/v1` for Update entries."""
    identity = parse_identifier(identifier)
    text = go_quote(identity.get("manager", ""))
    if identity.get("subresource"):
        text = f"{text} with subresource {go_quote(identity['subresource'])}"
    if identity.get("operation") == UPDATE:
        text = f"{text} using {identity.get('apiVersion', '')}"
    return text


# --- client-side apply migration -------------------------------------------------------------------------------


def _last_applied(obj: JSONDict) -> str:
    annotations = (obj.get("metadata") or {}).get("annotations")
    value = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else ""


def _allowed_conflicts(live: JSONDict, request: _Request) -> FieldSet | None:
    """allowedConflictsFromLastApplied: the last-applied fields whose values the live object still has."""
    import json

    text = _last_applied(live)
    if not text:
        return None
    try:
        last_applied = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last_applied, dict) or last_applied.get("apiVersion") != request.api_version:
        return None
    if typed_errors(last_applied, request.schema) or typed_errors(live, request.schema, allow_duplicates=True):
        return None
    comparison = compare(last_applied, live, request.schema)
    return (fields_of(last_applied, request.schema).difference(comparison.modified)
            .difference(comparison.added).difference(comparison.removed))


def build_last_applied(applied: JSONDict) -> str:
    """buildLastApplied: the configuration without the annotation, as Go's JSON encoder writes it, plus `\\n`."""
    metadata = applied.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
        annotations = {key: value for key, value in metadata["annotations"].items()
                       if key != LAST_APPLIED_ANNOTATION}
        applied = {**applied, "metadata": {**metadata, "annotations": annotations}}
    return go_json(applied) + "\n"


def _set_last_applied(obj: JSONDict, value: str) -> None:
    """SetLastApplied (in place): dropped instead when the annotations would exceed their 256 KiB total."""
    metadata = obj.setdefault("metadata", {})
    annotations = dict(metadata.get("annotations") or {})
    annotations[LAST_APPLIED_ANNOTATION] = value
    if sum(len(key.encode()) + len(str(item).encode()) for key, item in annotations.items()) > (
            TOTAL_ANNOTATION_SIZE_LIMIT):
        del annotations[LAST_APPLIED_ANNOTATION]
    metadata["annotations"] = annotations
