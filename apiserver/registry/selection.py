"""Which objects a list or watch selects: label and field selectors, the namespace, and their cache predicates.

Field selectors accept metadata.name, metadata.namespace and the spec's selectable fields; anything else is a 400
with the message of the type's field label conversion (or apimachinery's default one), as kube-apiserver answers
before it reads anything. Predicates see objects in their stored form; selectable fields of versions that share
storage read either form (see resources/core/events.py).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.meta.errors import BadRequest, go_quote
from apiserver.meta.objects import labels_of, name_of, namespace_of
from apiserver.meta.selectors import FieldSelector, LabelSelector
from apiserver.registry.context import StoredObject
from apiserver.registry.spec import ResourceSpec
from apiserver.storage.watchcache import CacheEntry

EntryPredicate = Callable[[CacheEntry[StoredObject | None]], bool]
FieldGetter = Callable[[Mapping[str, Any]], str]

_METADATA_FIELDS: Final[dict[str, FieldGetter]] = {"metadata.name": name_of, "metadata.namespace": namespace_of}

# Types whose field label conversion words its error differently from the core group's.
_FIELD_LABEL_ERRORS: Final[dict[str, str]] = {
    "replicasets.apps": "field label not supported for appsv1.ReplicaSet: {label}",
    "jobs.batch": "field label {quoted} not supported for batchv1.Job",
}


def field_getters(spec: ResourceSpec) -> dict[str, FieldGetter]:
    """Every field a selector may name on this resource, with how to read it."""
    getters = dict(_METADATA_FIELDS)
    for selectable in spec.selectable_fields:
        getters[selectable.path] = selectable.value
    return getters


def unknown_field_error(spec: ResourceSpec, label: str) -> BadRequest:
    """The 400 for a field selector naming `label`, worded as the type's conversion function words it."""
    template = _FIELD_LABEL_ERRORS.get(spec.group_resource)
    if template is not None:
        return BadRequest(template.format(label=label, quoted=go_quote(label)))
    if spec.selectable_fields:
        return BadRequest(f"field label not supported: {label}")
    return BadRequest(f'{go_quote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"')


def check_field_selector(spec: ResourceSpec, selector: FieldSelector) -> None:
    """Raise the type's 400 when the selector names a field the resource cannot select on."""
    known = field_getters(spec)
    for requirement in selector.requirements:
        if requirement.field not in known:
            raise unknown_field_error(spec, requirement.field)


class Selects:
    """The selectors of a list or watch as a predicate over objects (`selects(obj)`) and over stored objects
    (`selects.stored(stored)`, which reads the kept labels and fields instead of decoding the object each time)."""

    __slots__ = ("_fields", "_labels", "_wanted")

    def __init__(self, labels: LabelSelector, fields: FieldSelector, wanted: dict[str, FieldGetter]) -> None:
        self._labels = None if labels.is_empty() else labels
        self._fields = fields
        self._wanted = wanted

    def __call__(self, obj: Mapping[str, Any]) -> bool:
        if self._labels is not None and not self._labels.matches(labels_of(obj)):
            return False
        return not self._wanted or self._fields.matches({field: get(obj) for field, get in self._wanted.items()})

    def stored(self, stored: StoredObject) -> bool:
        if self._labels is not None and not self._labels.matches(stored.labels):
            return False
        return not self._wanted or self._fields.matches(
            {field: stored.field(get) for field, get in self._wanted.items()})


def object_predicate(spec: ResourceSpec, labels: LabelSelector, fields: FieldSelector) -> Selects | None:
    """A predicate over stored objects, or None when the selectors select everything."""
    if labels.is_empty() and fields.is_empty():
        return None
    getters = field_getters(spec)
    return Selects(labels, fields, {requirement.field: getters[requirement.field]
                                    for requirement in fields.requirements})


def entry_predicate(key_prefix: str, selects: Selects | None) -> EntryPredicate:
    """A watch-cache predicate: the key lies under `key_prefix`, the value decoded, and the selectors match."""

    def matches(entry: CacheEntry[StoredObject | None]) -> bool:
        stored = entry.decoded
        if stored is None or not entry.key.startswith(key_prefix):
            return False
        return selects is None or selects.stored(stored)

    return matches


def prefix_end(key_prefix: str) -> str:
    """The smallest key after every key under `key_prefix` (which ends in '/')."""
    return key_prefix[:-1] + chr(ord(key_prefix[-1]) + 1)
