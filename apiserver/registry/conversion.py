"""Conversion between the versions of a kind that share one storage path.

core/v1 Events are served as events.k8s.io/v1 Events, autoscaling/v2 HorizontalPodAutoscalers as autoscaling/v1,
with upstream's field mapping (pkg/apis/events/v1/conversion.go, pkg/apis/autoscaling/v1/conversion.go). Every
other pair only changes apiVersion, which is all that is needed for versions with the same schema (CRD
versions without a conversion webhook). Converters never mutate their input; they return a new dict whose
unchanged parts may be shared with it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from apiserver.meta.objects import JSONDict
from apiserver.registry import hpa_conversion
from apiserver.registry.codec import order_object
from apiserver.registry.context import StoredObject

Converter = Callable[[JSONDict], JSONDict]


class ObjectConverter(Protocol):
    """A kind's own conversion that needs I/O (a CRD's conversion webhook): many objects per call."""

    async def convert(self, objects: Sequence[JSONDict], api_version: str) -> list[JSONDict]:
        """`objects` in `api_version`, in order; raises an ApiError when the conversion fails."""
        ...

# events.k8s.io/v1 name ← core/v1 name, in events.k8s.io/v1's field order.
_EVENT_FIELDS: Final = (
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("action", "action"),
    ("reason", "reason"),
    ("regarding", "involvedObject"),
    ("related", "related"),
    ("note", "message"),
    ("type", "type"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)
# core/v1 field order.
_CORE_EVENT_ORDER: Final = (
    "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type",
    "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance",
)


def _renamed(obj: JSONDict, api_version: str, names: dict[str, str], order: tuple[str, ...]) -> JSONDict:
    """`obj` under `api_version` with fields renamed by `names` (old → new), ordered by `order`."""
    renamed = {names.get(key, key): value for key, value in obj.items()}
    converted: JSONDict = {"apiVersion": api_version, "kind": obj.get("kind", "Event")}
    if "metadata" in renamed:
        converted["metadata"] = renamed["metadata"]
    for key in order:
        if key in renamed:
            converted[key] = renamed[key]
    for key, value in renamed.items():
        if key not in converted:
            converted[key] = value
    return converted


def core_event_to_events_v1(obj: JSONDict) -> JSONDict:
    """A core/v1 Event as events.k8s.io/v1 serves it."""
    names = {core: new for new, core in _EVENT_FIELDS}
    return _renamed(obj, "events.k8s.io/v1", names, tuple(new for new, _ in _EVENT_FIELDS))


def events_v1_to_core_event(obj: JSONDict) -> JSONDict:
    """An events.k8s.io/v1 Event in its core/v1 (stored) form."""
    names = dict(_EVENT_FIELDS)
    return _renamed(obj, "v1", names, _CORE_EVENT_ORDER)


CONVERTERS: Final[dict[tuple[str, str, str], Converter]] = {
    ("Event", "v1", "events.k8s.io/v1"): core_event_to_events_v1,
    ("Event", "events.k8s.io/v1", "v1"): events_v1_to_core_event,
    ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1"): hpa_conversion.v2_to_v1,
    ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2"): hpa_conversion.v1_to_v2,
}


def convert(obj: JSONDict, api_version: str) -> JSONDict:
    """`obj` as `api_version` serves it; `obj` itself when it is already in that version (never a copy then)."""
    current = obj.get("apiVersion")
    if current == api_version:
        return obj
    converter = CONVERTERS.get((str(obj.get("kind", "")), str(current), api_version))
    if converter is not None:
        return converter(obj)
    converted = order_object({**obj, "apiVersion": api_version})
    return converted


_UNCHANGED: Final = StoredObject.of({})  # marks an object its reader leaves as it is (no self-reference)


class StoredReader(Protocol):
    """A kind's decoding of stored objects (a CRD's pruning and defaulting by the stored version's schema)."""

    def normalize(self, obj: JSONDict) -> JSONDict | None:
        """`obj` as the kind decodes it from storage; None when decoding changes nothing."""
        ...


def stored_reader(spec: Any) -> StoredReader | None:
    """The storage decoding of a spec's kind (`strategy.stored_reader`), None for kinds stored as served."""
    reader: StoredReader | None = getattr(spec.strategy, "stored_reader", None)
    return reader


def decoded(stored: StoredObject, reader: StoredReader | None) -> StoredObject:
    """`stored` as `reader` decodes it, once per object and reader (kept beside it like conversions); `stored`
    itself without a reader or when decoding changes nothing."""
    if reader is None:
        return stored
    # A CRD change makes a new reader (a new token), so its objects are decoded again.
    key = f"decoded:{getattr(reader, 'token', id(reader))}"
    view = stored.views.get(key)
    if view is None:
        normalized = reader.normalize(stored.read())
        view = stored.views[key] = _UNCHANGED if normalized is None else StoredObject.compact(normalized)
    return stored if view is _UNCHANGED else view


def served(stored: StoredObject, api_version: str) -> StoredObject:
    """`stored` as `api_version` serves it, converted once per object and version and kept beside it."""
    if stored.api_version == api_version:
        return stored
    view = stored.views.get(api_version)
    if view is None:
        view = stored.views[api_version] = StoredObject.compact(convert(stored.read(), api_version))
    return view


def object_converter(spec: Any) -> ObjectConverter | None:
    """The I/O conversion of a spec's kind (`strategy.converter`), or None when converting needs no I/O."""
    converter: ObjectConverter | None = getattr(spec.strategy, "converter", None)
    return converter


def pending(stored: StoredObject, api_version: str) -> bool:
    """Whether serving `stored` as `api_version` needs a conversion that has not been made yet."""
    return stored.api_version != api_version and api_version not in stored.views


async def prepare_views(items: Sequence[StoredObject], api_version: str, converter: ObjectConverter | None) -> None:
    """Convert, in one call to `converter`, every item not yet converted to `api_version`, keeping each result
    beside its object; `served` then finds them. Nothing to do without a converter."""
    if converter is None:
        return
    missing = [stored for stored in items if pending(stored, api_version)]
    if not missing:
        return
    converted = await converter.convert([stored.read() for stored in missing], api_version)
    for stored, obj in zip(missing, converted, strict=True):
        stored.views[api_version] = StoredObject.compact(obj)


async def served_all(
    items: Sequence[StoredObject], api_version: str, converter: ObjectConverter | None,
    reader: StoredReader | None = None,
) -> list[StoredObject]:
    """Every item as `api_version` serves it: decoded by `reader`, then converted through `converter` in one
    call when one is needed."""
    if reader is not None:
        items = [decoded(stored, reader) for stored in items]
    await prepare_views(items, api_version, converter)
    return [served(stored, api_version) for stored in items]


async def convert_with(obj: JSONDict, api_version: str, converter: ObjectConverter | None) -> JSONDict:
    """`obj` in `api_version`, through `converter` when there is one and the version differs."""
    if converter is None or obj.get("apiVersion") == api_version:
        return convert(obj, api_version)
    return (await converter.convert([obj], api_version))[0]
