"""The storage codec: object dicts to stored bytes and back, with resourceVersion stamping.

Stored values are the JSON of the object in its storage version WITHOUT metadata.resourceVersion (kube-apiserver
clears it before writing too); the resourceVersion of an object read back is the revision of the write that
produced it, stamped on decode. Keys come out in the order upstream emits them (apiVersion, kind, metadata in
ObjectMeta's field order, the rest as given, status last), so a no-op update re-encodes to identical bytes.
Decoding never raises: a value that is not a JSON object with metadata is logged and skipped (None).
"""
from __future__ import annotations

import logging
import re
from typing import Any, Final

import orjson

from apiserver.meta.objects import JSONDict
from apiserver.registry.context import StoredObject
from apiserver.storage.interface import KeyValue

logger = logging.getLogger(__name__)

# ObjectMeta's field order (k8s.io/apimachinery/pkg/apis/meta/v1/types.go), which Go's encoder follows.
METADATA_ORDER: Final = (
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
)
_BEFORE_RESOURCE_VERSION: Final = frozenset(METADATA_ORDER[: METADATA_ORDER.index("resourceVersion")])
_METADATA_RANK: Final = {key: rank for rank, key in enumerate(METADATA_ORDER)}
_SORTED_MAPS: Final = ("labels", "annotations")


def order_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """ObjectMeta in upstream's order (unknown keys last, as given); labels and annotations sorted by key."""
    known = sorted((key for key in metadata if key in _METADATA_RANK), key=_METADATA_RANK.__getitem__)
    ordered = {key: metadata[key] for key in known}
    for key in _SORTED_MAPS:
        value = ordered.get(key)
        if isinstance(value, dict):
            ordered[key] = {name: value[name] for name in sorted(value)}
    for key, value in metadata.items():
        if key not in _METADATA_RANK:
            ordered[key] = value
    return ordered


def order_object(obj: JSONDict) -> JSONDict:
    """A shallow copy with apiVersion, kind and metadata first and status last."""
    ordered: JSONDict = {}
    for key in ("apiVersion", "kind"):
        if key in obj:
            ordered[key] = obj[key]
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        ordered["metadata"] = order_metadata(metadata)
    elif "metadata" in obj:
        ordered["metadata"] = metadata
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            ordered[key] = value
    if "status" in obj:
        ordered["status"] = obj["status"]
    return ordered


def prepare(obj: JSONDict) -> JSONDict:
    """The object as it is stored: in stored key order, without metadata.resourceVersion (`obj` is not changed).

    Pass the result to `dumps` for the bytes and to `stamp` for the object the write answers with.
    """
    ordered = order_object(obj)
    metadata = ordered.get("metadata")
    if isinstance(metadata, dict) and "resourceVersion" in metadata:
        ordered["metadata"] = {key: value for key, value in metadata.items() if key != "resourceVersion"}
    return ordered


def dumps(prepared: JSONDict) -> bytes:
    """The bytes of a prepared object."""
    return orjson.dumps(prepared)


def encode(obj: JSONDict) -> bytes:
    """The stored bytes of an object already in its storage version (resourceVersion left out)."""
    return dumps(prepare(obj))


def stamp(obj: JSONDict, revision: int) -> StoredObject:
    """The object with metadata.resourceVersion set to `revision`, in its place; `obj` is not changed.

    `obj` must already be in stored order (as `encode` writes it or `decode` reads it); nested values are
    shared with it, so the caller must not mutate `obj` afterwards.
    """
    stamped: JSONDict = {}
    for key, value in obj.items():
        stamped[key] = _with_resource_version(value, str(revision)) if key == "metadata" else value
    if "metadata" not in stamped:
        stamped["metadata"] = {"resourceVersion": str(revision)}
    return StoredObject(stamped, orjson.dumps(stamped))


def _with_resource_version(metadata: object, resource_version: str) -> object:
    if not isinstance(metadata, dict):
        return {"resourceVersion": resource_version}
    stamped: dict[str, Any] = {}
    placed = False
    for key, value in metadata.items():
        if key == "resourceVersion":
            continue
        if not placed and key not in _BEFORE_RESOURCE_VERSION:
            stamped["resourceVersion"] = resource_version
            placed = True
        stamped[key] = value
    if not placed:
        stamped["resourceVersion"] = resource_version
    return stamped


def decode_compact(kv: KeyValue, *, read_only: bool = False) -> StoredObject | None:
    """The stored object at `kv` as the watch cache keeps it: the stored bytes themselves, stamped on demand.

    The bytes are only scanned up to metadata, to find where the resourceVersion goes and read apiVersion and kind
    (a few microseconds; decoding a pod costs ten times that and keeps six to ten times its size alive). Values
    that do not start the way `encode` writes them are decoded in full (`decode`), so anything this server did not
    write, or a corrupt value, is handled (and logged) as before.
    """
    found = _scan_for_resource_version(kv.value)
    if found is None:
        return decode(kv, read_only=read_only)
    at, api_version, kind = found
    return StoredObject.from_storage(kv.value, kv.mod_revision, at, api_version, kind, read_only=read_only)


_INTERNED: dict[bytes, str] = {}

# What `encode` writes at the start of an object: apiVersion, kind, then metadata opening with the keys that come
# before resourceVersion in ObjectMeta's order, all plain strings. Group 3 is those keys; the match ends just past
# them (past their comma, or at metadata's closing brace). A value with an escape in those keys stops the match
# before its key, which _KEY_NOT_AFTER then refuses: such rare values take the full decode (allowing escapes here
# made the scan 2.4x slower).
_ENCODED_START: Final = re.compile(
    rb'\{(?:"apiVersion":"([^"\\]*)",)?(?:"kind":"([^"\\]*)",)?"metadata":\{'
    rb'((?:"(?:name|generateName|namespace|selfLink|uid)":"[^"\\]*"(?:,|(?=\})))*)'
)

# A key that must not follow the match: a stored resourceVersion, or an earlier key whose value is not a string.
_KEY_NOT_AFTER: Final = re.compile(rb'"(?:name|generateName|namespace|selfLink|uid|resourceVersion)":')


def _interned(raw: bytes) -> str:
    # apiVersion and kind repeat across every object of a cache: one str each, not one per object.
    text = _INTERNED.get(raw)
    if text is None:
        text = raw.decode()
        if len(_INTERNED) < 10_000:
            _INTERNED[raw] = text
    return text


def _scan_for_resource_version(value: bytes) -> tuple[int, str, str] | None:
    """(offset, apiVersion, kind) for an `encode`d object: the offset where `"resourceVersion":"N",` goes inside
    metadata (negated when it goes last and needs a comma before it); None when the bytes do not start as `encode`
    writes them or do not end with a closing brace (corrupt or foreign values then take the full decode)."""
    match = _ENCODED_START.match(value)
    if match is None or not value.endswith(b"}"):
        return None
    end = match.end()
    following = value[end:end + 1]
    api_version = _interned(match[1]) if match[1] else ""
    kind = _interned(match[2]) if match[2] else ""
    if following == b"}":
        return (-end, api_version, kind) if match[3] else None
    if following != b'"' or _KEY_NOT_AFTER.match(value, end):
        return None
    return end, api_version, kind


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes: what tests get from the watch cache, so a stray write to a shared object fails."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise TypeError("shared object from the watch cache: copy() it before changing it")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse


class ReadOnlyList(list[Any]):
    """A list that refuses changes (see ReadOnlyDict)."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise TypeError("shared object from the watch cache: copy() it before changing it")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = remove = pop = clear = _refuse
    sort = reverse = _refuse


def freeze(value: Any) -> Any:
    """`value` with every dict and list replaced by a read-only one (serialises exactly like the original)."""
    if isinstance(value, dict):
        return ReadOnlyDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return ReadOnlyList(freeze(item) for item in value)
    return value


def decode(kv: KeyValue, *, read_only: bool = False) -> StoredObject | None:
    """The stored object at `kv`, stamped with `kv.mod_revision`; None (logged) when the bytes are not an object.

    Never raises: the watch cache calls it for every stored value and must survive a corrupt one. With
    `read_only` every dict and list of the object refuses changes (tests run caches that way).
    """
    try:
        obj = orjson.loads(kv.value)
    except orjson.JSONDecodeError as error:
        logger.error("codec_decode_failed", extra={"key": kv.key, "revision": kv.mod_revision, "error": str(error)})
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        logger.error("codec_decode_failed", extra={"key": kv.key, "revision": kv.mod_revision,
                                                    "error": "stored value is not an object with metadata"})
        return None
    stored = stamp(obj, kv.mod_revision)
    return StoredObject(freeze(stored.obj), stored.json) if read_only else stored
