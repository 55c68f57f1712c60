"""metadata.managedFields: who owns which fields, how writes that are not applies change it, and its encoding
(k8s.io/apimachinery/pkg/util/managedfields/internal, for the Update side).

Every write records ownership. A create gives its manager the fields it set; an update (PUT, or a PATCH that
is not an apply) gives its manager the fields it added or changed, and takes them from every other manager,
which also lose fields that disappeared. A manager is identified by name, operation, subresource and (for
Update entries) apiVersion: one entry per identity, at most ten Update entries (older ones are merged into
`ancient-changes`), entries sorted by operation, time, manager, apiVersion, subresource. apiVersion, kind and
the metadata the server owns (name, namespace, uid, resourceVersion, generation, creationTimestamp,
managedFields, selfLink) are never owned; labels, annotations, finalizers and ownerReferences are.

An object whose managedFields are empty is not tracked by updates (upstream's skip-non-applied rule); a
request that sets managedFields to `[]` or `[{}]` empties them; a request without managedFields (or with
ones that do not decode) keeps the stored ones; a subresource write always keeps the stored ones.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from apiserver.meta.objects import JSONDict, format_time, parse_time, uid_of
from apiserver.registry.fieldmerge import Comparison, compare
from apiserver.registry.fieldpaths import go_json
from apiserver.registry.fieldsets import EMPTY, FieldSet, FieldsV1Error, field_path, from_fields_v1, from_paths
from apiserver.registry.fieldtypes import TypedError, is_struct, map_values, node_kind

APPLY: Final = "Apply"
UPDATE: Final = "Update"
FIELDS_V1: Final = "FieldsV1"
BEFORE_FIRST_APPLY: Final = "before-first-apply"
ANCIENT_CHANGES: Final = "ancient-changes"
MAX_UPDATE_MANAGERS: Final = 10
_CURRENT_OPERATION: Final = "current-operation"
FIELD_MANAGER_MAX_BYTES: Final = 128
# stripmeta.go: never owned by anyone.
STRIPPED: Final = from_paths(
    field_path("apiVersion"), field_path("kind"), field_path("metadata"),
    *(field_path("metadata", name) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields",
        "resourceVersion",
    )),
)
# Optional Go struct fields that are not pointers, so a new Go object already has them (as `{}`).
_VALUE_STRUCT_FIELDS: Final = frozenset({
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "updateStrategy"),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "updateStrategy"),
    ("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "resources"),
})


class ManagedFieldsError(ValueError):
    """managedFields that do not decode (upstream's DecodeManagedFields errors)."""


@dataclass(frozen=True, slots=True)
class VersionedSet:
    """One manager's fields, at the apiVersion they were recorded in; `applied` for Apply entries."""

    fields: FieldSet
    api_version: str
    applied: bool


@dataclass(slots=True)
class Managed:
    """The decoded managedFields: sets and times by manager identifier (a working copy, mutated in place)."""

    fields: dict[str, VersionedSet] = field(default_factory=dict)
    times: dict[str, datetime | None] = field(default_factory=dict)

    def copy(self) -> Managed:
        return Managed(dict(self.fields), dict(self.times))


def manager_identifier(manager: str, operation: str, api_version: str = "", subresource: str = "") -> str:
    """BuildManagerIdentifier: the entry's JSON without time and fields; Apply entries without apiVersion."""
    identity: dict[str, str] = {"manager": manager, "operation": operation}
    if api_version and operation != APPLY:
        identity["apiVersion"] = api_version
    if subresource:
        identity["subresource"] = subresource
    return "{" + ",".join(f"{go_json(key)}:{go_json(value)}" for key, value in identity.items()) + "}"


def parse_identifier(identifier: str) -> dict[str, str]:
    """The manager, operation, apiVersion and subresource an identifier names."""
    import json

    try:
        parsed = json.loads(identifier)
    except ValueError:
        return {"manager": identifier}
    return {key: str(value) for key, value in parsed.items()} if isinstance(parsed, dict) else {}


def decode_managed_fields(entries: Any) -> Managed:
    """DecodeManagedFields. Raises ManagedFieldsError with upstream's message."""
    managed = Managed()
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        operation = entry.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        api_version = str(entry.get("apiVersion") or "")
        if not api_version:
            raise ManagedFieldsError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType") or ""
        if fields_type == "":
            raise ManagedFieldsError(f"missing fieldsType in managed fields entry {index}")
        if fields_type != FIELDS_V1:
            raise ManagedFieldsError(f"invalid fieldsType {go_json(fields_type)} in managed fields entry {index}")
        identifier = manager_identifier(str(entry.get("manager") or ""), operation, api_version,
                                        str(entry.get("subresource") or ""))
        try:
            fields = from_fields_v1(entry.get("fieldsV1") or {})
        except FieldsV1Error as error:
            message = f"error decoding versioned set from {entry}: error decoding set: {error}"
            raise ManagedFieldsError(message) from None
        managed.fields[identifier] = VersionedSet(fields, api_version, operation == APPLY)
        managed.times[identifier] = _parse_time(entry.get("time"))
    return managed


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def encode_managed_fields(managed: Managed) -> list[JSONDict] | None:
    """encodeManagedFields: one entry per manager in upstream's order; None when nobody owns anything."""
    if not managed.fields:
        return None
    entries = [_encode_entry(identifier, versioned, managed.times.get(identifier))
               for identifier, versioned in managed.fields.items()]
    entries.sort(key=_entry_order)
    return entries


def _encode_entry(identifier: str, versioned: VersionedSet, time: datetime | None) -> JSONDict:
    identity = parse_identifier(identifier)
    entry: JSONDict = {"manager": identity.get("manager", "")}
    entry["operation"] = APPLY if versioned.applied else identity.get("operation", UPDATE)
    if versioned.api_version:
        entry["apiVersion"] = versioned.api_version
    if time is not None:
        entry["time"] = format_time(time)
    entry["fieldsType"] = FIELDS_V1
    entry["fieldsV1"] = versioned.fields.to_fields_v1()
    if identity.get("subresource"):
        entry["subresource"] = identity["subresource"]
    return entry


def _entry_order(entry: JSONDict) -> tuple[str, int, str, str, str]:
    seconds = int(parse_time(entry["time"]).timestamp()) if "time" in entry else 0
    return (entry["operation"], seconds, entry["manager"], entry.get("apiVersion", ""), entry.get("subresource", ""))


def strip_meta(managed: Managed, identifier: str) -> None:
    """stripmeta.go: the never-owned fields leave `identifier`'s set; an entry left empty goes."""
    versioned = managed.fields.get(identifier)
    if versioned is None:
        return
    remaining = versioned.fields.difference(STRIPPED)
    if remaining:
        managed.fields[identifier] = VersionedSet(remaining, versioned.api_version, versioned.applied)
    else:
        del managed.fields[identifier]


def cap_update_managers(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """capmanagers.go: merge the oldest Update entries into per-version `ancient-changes` until `limit` remain."""
    updaters = [identifier for identifier, versioned in managed.fields.items() if not versioned.applied]
    if len(updaters) <= limit:
        return
    updaters.sort(key=lambda identifier: (_seconds(managed.times.get(identifier)), identifier))
    first_of_version: dict[str, str] = {}
    remaining = len(updaters)
    for identifier in updaters:
        if remaining <= limit:
            break
        versioned = managed.fields[identifier]
        bucket = manager_identifier(ANCIENT_CHANGES, UPDATE, versioned.api_version)
        first = first_of_version.get(versioned.api_version)
        if first is None:
            first_of_version[versioned.api_version] = identifier
            continue
        if bucket not in managed.fields:
            managed.fields[bucket] = managed.fields.pop(first)
        merged = versioned.fields.union(managed.fields[bucket].fields)
        managed.fields[bucket] = VersionedSet(merged, versioned.api_version, versioned.applied)
        del managed.fields[identifier]
        managed.times[bucket] = managed.times.get(identifier)
        remaining -= 1


def _seconds(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def settle(managers: dict[str, VersionedSet], comparison: Comparison, workflow: str, *,
           force: bool) -> dict[str, FieldSet]:
    """Updater.update: every manager but `workflow` loses the fields `workflow` changed and the removed ones.

    Without `force`, changed fields another manager owns are conflicts: they are returned (managers are then
    left as they were). Managers left with nothing are dropped.
    """
    changed = comparison.modified.union(comparison.added)
    conflicts = {}
    for identifier, versioned in managers.items():
        if identifier != workflow and (owned := versioned.fields.intersection(changed)):
            conflicts[identifier] = owned
    if conflicts and not force:
        return conflicts
    for identifier, versioned in list(managers.items()):
        if identifier == workflow:
            continue
        remaining = versioned.fields.difference(conflicts.get(identifier, EMPTY)).difference(comparison.removed)
        if remaining:
            managers[identifier] = VersionedSet(remaining, versioned.api_version, versioned.applied)
        else:
            del managers[identifier]
    return {}


def record_update(managed: Managed, old: Any, new: Any, manager: str, *, schema: Any, api_version: str,
                  now: datetime, subresource: str = "", ignored: FieldSet | None = None) -> Managed:
    """The Update side of the field manager for one write of `new` over `old` (neither carrying
    managedFields): a new Managed, the writer's entry holding what it added or changed.

    Raises TypedError when the objects do not fit the schema.
    """
    result = managed.copy()
    identifier = manager_identifier(manager or "unknown", UPDATE, api_version, subresource)
    comparison = compare(old, new, schema).excluding(ignored)
    settle(result.fields, comparison, _CURRENT_OPERATION, force=True)
    owned = comparison.modified.union(comparison.added).difference(comparison.removed)
    if ignored is not None:
        owned = owned.recursive_difference(ignored)
    owned = owned.difference(STRIPPED)
    if owned:
        previous = result.fields.get(identifier)
        union = owned.union(previous.fields) if previous is not None else owned
        result.fields[identifier] = VersionedSet(union, api_version, False)
        result.times[identifier] = now
    cap_update_managers(result)
    return result


def managed_fields_of(obj: JSONDict | None) -> Any:
    metadata = obj.get("metadata") if obj is not None else None
    return metadata.get("managedFields") if isinstance(metadata, dict) else None


def without_managed_fields(obj: JSONDict) -> JSONDict:
    """A deep copy of `obj` (key order kept) whose metadata has no managedFields."""
    result: JSONDict = {}
    for key, value in obj.items():
        if key == "metadata" and isinstance(value, dict):
            result[key] = {name: copy.deepcopy(item) for name, item in value.items() if name != "managedFields"}
        else:
            result[key] = copy.deepcopy(value)
    return result


def set_managed_fields(obj: JSONDict, entries: list[JSONDict] | None) -> None:
    """Store encoded entries in `obj` (in place); None removes the field."""
    metadata = obj.setdefault("metadata", {})
    if entries is None:
        metadata.pop("managedFields", None)
    else:
        metadata["managedFields"] = entries


def _is_reset(entries: Any) -> bool:
    """isResetManagedFields: `[]` or a single empty entry asks to clear managedFields."""
    return isinstance(entries, list) and (entries == [] or entries == [{}])


def _live_or_new(live: JSONDict | None, new: JSONDict, subresource: str) -> Managed:
    """decodeLiveOrNew: the request's managedFields when it has usable ones, else the stored ones."""
    if not subresource:
        requested = managed_fields_of(new)
        if _is_reset(requested):
            return Managed()
        try:
            managed = decode_managed_fields(requested)
        except ManagedFieldsError:
            managed = Managed()
        if managed.fields:
            return managed
    try:
        return decode_managed_fields(managed_fields_of(live))
    except ManagedFieldsError:
        return Managed()


def update_managed_fields(live: JSONDict | None, new: JSONDict, manager: str, *, schema: Any, api_version: str,
                          now: datetime, subresource: str = "", ignored: FieldSet | None = None) -> JSONDict:
    """The object `new` as a create (`live` None), update or non-apply patch stores it, managedFields updated
    for `manager` (the fieldManager parameter, or the user agent's name as `manager_from_user_agent` gives it).

    `new` is not changed. Call it before mutating admission and the strategy, as upstream does. Objects that
    do not fit their schema keep no managedFields at all (upstream's UpdateNoErrors).
    """
    result = without_managed_fields(new)
    managed = _live_or_new(live, new, subresource)
    if not managed.fields and live is not None and uid_of(live):
        set_managed_fields(result, None)
        return result
    old = zero_object(schema) if live is None else without_managed_fields(live)
    try:
        managed = record_update(managed, old, without_managed_fields(new), manager, schema=schema,
                                api_version=api_version, now=now, subresource=subresource, ignored=ignored)
    except TypedError:
        set_managed_fields(result, None)
        return result
    set_managed_fields(result, encode_managed_fields(managed))
    return result


def manager_from_user_agent(user_agent: str) -> str:
    """prefixFromUserAgent, the manager of a write without fieldManager: the user agent up to its first `/`
    (`kubectl/v1.32.0 (linux/amd64)` gives `kubectl`), unprintable characters left out, at most 128 bytes."""
    kept: list[str] = []
    size = 0
    for char in user_agent.split("/", 1)[0]:
        if not char.isprintable():
            continue
        size += len(char.encode("utf-8", "surrogateescape"))
        if size > FIELD_MANAGER_MAX_BYTES:
            break
        kept.append(char)
    return "".join(kept)


def reset_fields(has_status_subresource: bool, subresource: str) -> FieldSet | None:
    """The fields a write through this path cannot set, so nobody owns them through it (the strategies'
    GetResetFields): status on the main resource of kinds with a status subresource, spec through status."""
    if subresource == "status":
        return from_paths(field_path("spec"))
    if not subresource and has_status_subresource:
        return from_paths(field_path("status"))
    return None


def zero_object(schema: Any) -> JSONDict:
    """A new, empty Go object of the kind as upstream's converter sees it (what a create is compared with):
    ObjectMeta with a null creationTimestamp, and the struct fields Go always writes (spec, status, required
    structs, optional non-pointer structs) present, required lists and maps null."""
    return _zero(schema, 0) if schema is not None else {}


def _zero(schema: Any, depth: int) -> JSONDict:
    zero: JSONDict = {}
    properties = getattr(schema, "properties", None) or {}
    required = set(getattr(schema, "required", ()) or ())
    definition = getattr(schema, "definition", "")
    for name, child in properties.items():
        if name == "metadata" and child.field("creationTimestamp") is not None:
            zero[name] = {"creationTimestamp": None}
        elif node_kind(child) == "map" and is_struct(child) and depth < 8 and (
            name in ("spec", "status") or name in required or (definition, name) in _VALUE_STRUCT_FIELDS
        ):
            zero[name] = _zero(child, depth + 1)
        elif name in required and (node_kind(child) == "list" or map_values(child) is not None):
            zero[name] = None
    return zero
