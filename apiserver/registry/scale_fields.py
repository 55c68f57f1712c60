"""Field ownership through `/scale`: the parent's managedFields seen from a Scale, and back (upstream's
managedfields.ScaleHandler, as the apps and core ScaleREST use it).

A Scale read for a write carries the parent's entries that own the replicas path, each reduced to the Scale's
`spec.replicas` at autoscaling/v1 (`to_scale`). The write's field manager records its change on those entries
as on any object; then `to_parent` folds the Scale's entries back into the parent's:

- a parent entry that does not own replicas is kept as it is;
- a parent entry that owns replicas is kept when the same manager identity still owns it on the Scale (Apply
  entries: an Apply identity carries no apiVersion); otherwise replicas is taken from it (the entry goes when
  nothing is left);
- every Scale entry still owning `spec.replicas` that was not matched becomes a parent entry owning the parent's
  replicas path at the parent's apiVersion. Its time is the parent's time for that identity, which an Update
  entry never has (its identity names autoscaling/v1): as upstream, such entries carry no time.

Entries at an apiVersion the parent does not know are dropped, as upstream drops them.
"""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.objects import JSONDict
from apiserver.registry.fieldsets import field_path, from_paths
from apiserver.registry.managedfields import (
    Managed,
    ManagedFieldsError,
    VersionedSet,
    decode_managed_fields,
    encode_managed_fields,
)

SCALE_API_VERSION: Final = "autoscaling/v1"
REPLICAS: Final = field_path("spec", "replicas")
_REPLICAS_SET: Final = from_paths(REPLICAS)
# The group-versions each parent kind was ever served at (upstream's ReplicasPathMappings), all at spec.replicas.
PARENT_VERSIONS: Final = {"apps": ("apps/v1beta1", "apps/v1beta2", "apps/v1"), "": ("v1",)}


def _decode(entries: Any) -> Managed:
    try:
        return decode_managed_fields(entries)
    except ManagedFieldsError:
        return Managed()


def to_scale(parent_entries: Any, group_version: str) -> list[JSONDict] | None:
    """ToSubresource: the parent's entries owning replicas, as Scale entries owning `spec.replicas`."""
    known = PARENT_VERSIONS.get(group_version.rpartition("/")[0], ())
    parent = _decode(parent_entries)
    scale = Managed()
    for identifier, versioned in parent.fields.items():
        if versioned.api_version in known and versioned.fields.has(REPLICAS):
            scale.fields[identifier] = VersionedSet(_REPLICAS_SET, SCALE_API_VERSION, versioned.applied)
            scale.times[identifier] = parent.times.get(identifier)
    return encode_managed_fields(scale)


def to_parent(parent_entries: Any, scale_entries: Any, group_version: str) -> list[JSONDict] | None:
    """ToParent: the parent's entries after a Scale write whose managedFields are `scale_entries`."""
    known = PARENT_VERSIONS.get(group_version.rpartition("/")[0], ())
    parent, scale = _decode(parent_entries), _decode(scale_entries)
    unmatched = dict(scale.fields)
    merged = Managed()
    for identifier, versioned in parent.fields.items():
        if versioned.api_version not in known:
            continue
        if not versioned.fields.has(REPLICAS):
            merged.fields[identifier], merged.times[identifier] = versioned, parent.times.get(identifier)
        elif identifier in unmatched:
            merged.fields[identifier], merged.times[identifier] = versioned, parent.times.get(identifier)
            del unmatched[identifier]
        elif rest := versioned.fields.difference(_REPLICAS_SET):
            merged.fields[identifier] = VersionedSet(rest, versioned.api_version, versioned.applied)
            merged.times[identifier] = parent.times.get(identifier)
    for identifier, versioned in unmatched.items():
        if versioned.fields.has(REPLICAS):
            merged.fields[identifier] = VersionedSet(_REPLICAS_SET, group_version, versioned.applied)
            merged.times[identifier] = parent.times.get(identifier)
    return encode_managed_fields(merged)
