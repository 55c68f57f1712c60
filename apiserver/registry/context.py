"""The values a request hands the registry: who and when (RequestContext), list, watch and delete options, and
the StoredObject every read returns.

Options are parsed here from query parameters and bodies with kube-apiserver's rules and messages, so the HTTP
layer only hands over what the client sent and the store only sees validated values.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from apiserver.meta.errors import BadRequest, Invalid
from apiserver.meta.objects import JSONDict, utc_now
from apiserver.meta.resourceversion import ResourceVersionMatch, list_options_invalid, validate_list_options
from apiserver.meta.selectors import FieldSelector, LabelSelector
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

Query = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asks, in which namespace, and when; `warnings` collects the texts of Warning headers to send.

    `namespace` is the namespace of the request path ("" for cluster-scoped resources and all-namespace lists).
    `now` is the clock every timestamp of this request is read from.
    """

    namespace: str
    dry_run: bool = False
    field_manager: str = ""
    user: object | None = None
    now: Callable[[], datetime] = utc_now
    warnings: list[str] = field(default_factory=list)


class StoredObject:
    """One object as the registry hands it out: its JSON (exactly `orjson.dumps(obj)`) and the decoded dict.

    Two forms. Objects made by a request (`StoredObject(obj, json)`, `of`) hold both. Objects in the watch cache
    (`from_storage`) hold only the stored bytes — shared with the cache's key-value, so holding an object costs
    about its serialised size, not the five to ten times a decoded dict costs — and build the rest on demand: `json`
    stamps the resourceVersion into the bytes, `read()` decodes a fresh dict, `obj` decodes once and keeps it (for
    the server's own readers of small, hot objects: RBAC rules, namespaces). Paths that serve many objects (lists,
    tables, selectors, watches) use `json`, `read()`, `labels` and `api_version`, so serving never decodes a whole
    cache into memory.

    Never mutate `obj`, `read()`'s result of a kept object, or anything shared; `copy()` returns a mutable deep copy.
    Lists and watch events are assembled from `json` without re-encoding. A delete that answers with a `Status`
    carries that Status here; `is_status` tells the two apart.
    """

    __slots__ = ("_at", "_fields", "_frames", "_json", "_labels", "_obj", "_read_only", "_revision", "_views",
                 "api_version", "kind")

    def __init__(self, obj: JSONDict, json: bytes, views: dict[str, StoredObject] | None = None) -> None:
        self._obj: JSONDict | None = obj
        self._json = json
        self._revision = 0
        self._at = 0
        self._read_only = False
        self._views = views
        self._frames: dict[str, bytes] | None = None
        self._labels: Mapping[str, str] | None = None
        self._fields: dict[object, str] | None = None
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        self.api_version = api_version if isinstance(api_version, str) else ""
        self.kind = kind if isinstance(kind, str) else ""

    @classmethod
    def of(cls, obj: JSONDict) -> StoredObject:
        """Wrap a dict the caller will no longer mutate."""
        return cls(obj, orjson.dumps(obj))

    @classmethod
    def compact(cls, obj: JSONDict) -> StoredObject:
        """Like `of`, but keep only the JSON (decoded again on demand): for views kept beside cached objects."""
        stored = cls.of(obj)
        stored._obj = None
        return stored

    @classmethod
    def from_storage(cls, value: bytes, revision: int, at: int, api_version: str, kind: str,
                     *, read_only: bool = False) -> StoredObject:
        """A cached object: stored bytes whose resourceVersion, `revision`, goes at byte offset `at` (the codec
        found it; a negative `at` means a comma goes before it); see `apiserver/registry/codec.py::compact`."""
        stored = cls.__new__(cls)
        stored._obj = None
        stored._json = value
        stored._revision = revision
        stored._at = at
        stored._read_only = read_only
        stored._views = None
        stored._frames = None
        stored._labels = None
        stored._fields = None
        stored.api_version = api_version
        stored.kind = kind
        return stored

    @property
    def json(self) -> bytes:
        if not self._revision:
            return self._json
        at, value = self._at, self._json
        if at < 0:
            return b"%s,\"resourceVersion\":\"%d\"%s" % (value[:-at], self._revision, value[-at:])
        return b"%s\"resourceVersion\":\"%d\",%s" % (value[:at], self._revision, value[at:])

    @property
    def obj(self) -> JSONDict:
        """The decoded object, kept once decoded (for small, hot objects the server itself reads)."""
        if self._obj is None:
            self._obj = self.read()
        return self._obj

    def read(self) -> JSONDict:
        """The decoded object without keeping it: the kept one when there is one, else a new decode."""
        if self._obj is not None:
            return self._obj
        decoded: JSONDict = orjson.loads(self.json)
        if self._read_only:
            from apiserver.registry.codec import freeze

            frozen: JSONDict = freeze(decoded)
            return frozen
        return decoded

    @property
    def is_decoded(self) -> bool:
        """Whether the decoded dict is held (always for objects made by requests)."""
        return self._obj is not None

    @property
    def views(self) -> dict[str, StoredObject]:
        """Conversions and decodings of this object, made once and shared by every reader."""
        if self._views is None:
            self._views = {}
        return self._views

    @property
    def frames(self) -> dict[str, bytes]:
        """Encodings made once and shared by every reader (the JSON watch line per event type)."""
        if self._frames is None:
            self._frames = {}
        return self._frames

    @property
    def labels(self) -> Mapping[str, str]:
        """metadata.labels, kept (small) so label selectors never decode an object twice."""
        if self._labels is None:
            metadata = self.read().get("metadata")
            labels = metadata.get("labels") if isinstance(metadata, dict) else None
            self._labels = labels if isinstance(labels, dict) else {}
        return self._labels

    def field(self, getter: Callable[[JSONDict], str]) -> str:
        """`getter(obj)`, kept per getter, so field selectors decode an object once."""
        if self._obj is not None:
            return getter(self._obj)
        if self._fields is None:
            self._fields = {}
        value = self._fields.get(getter)
        if value is None:
            value = self._fields[getter] = getter(self.read())
        return value

    def copy(self) -> JSONDict:
        """A deep copy the caller owns."""
        copied: JSONDict = orjson.loads(self.json)
        return copied

    @property
    def is_status(self) -> bool:
        """True when this is a `metav1.Status` (a delete answered with Success details), not an object."""
        return self.kind == "Status" and self.api_version == "v1"

    @property
    def resource_version(self) -> str:
        if self._revision:
            return str(self._revision)
        metadata = self.read().get("metadata")
        value = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
        return value if isinstance(value, str) else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredObject) and self.json == other.json

    def __hash__(self) -> int:
        return hash(self.json)

    def __repr__(self) -> str:
        return f"StoredObject({self.json[:120]!r})"


# --- Query parameters, decoded as apimachinery's parameter codec decodes them ---------------------------------

def _first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _query_bool(query: Query, name: str) -> bool | None:
    # Convert_Slice_string_To_bool: "0" and any case of "false" are false, everything else (even "") is true.
    value = _first(query, name)
    if value is None:
        return None
    return not (value == "0" or value.lower() == "false")


def _query_int(query: Query, name: str) -> int | None:
    value = _first(query, name)
    if value is None:
        return None
    text = value.strip()
    if text == "":
        return None
    try:
        number = int(text, 10) if text.lstrip("+-").isdigit() else None
    except ValueError:
        number = None
    if number is None or not -(2**63) <= number < 2**63:
        reason = "value out of range" if number is not None else "invalid syntax"
        raise BadRequest(f'strconv.ParseInt: parsing "{text}": {reason}')
    return number


@dataclass(frozen=True, slots=True)
class ListOptions:
    """Validated options of a list or watch (metainternalversion.ListOptions)."""

    label_selector: LabelSelector = field(default_factory=LabelSelector)
    field_selector: FieldSelector = field(default_factory=FieldSelector)
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    allow_watch_bookmarks: bool = False
    send_initial_events: bool | None = None
    timeout_seconds: int | None = None

    @classmethod
    def from_query(cls, query: Query, *, watch: bool) -> ListOptions:
        """Decode and validate the query of a list (`watch=False`) or watch request.

        Raises SelectorError (400) for selectors that do not parse, BadRequest for numbers that do not, and
        Invalid (422, `ListOptions.meta.k8s.io "" is invalid: ...`) for forbidden combinations. A legacy watch
        (resourceVersion "" or "0", no sendInitialEvents, no match) is defaulted to sendInitialEvents=true with
        NotOlderThan, as kube-apiserver 1.32 does with WatchList enabled.
        """
        options = cls(
            label_selector=LabelSelector.parse(_first(query, "labelSelector") or ""),
            field_selector=FieldSelector.parse(_first(query, "fieldSelector") or ""),
            limit=max(_query_int(query, "limit") or 0, 0),
            continue_token=_first(query, "continue") or "",
            resource_version=_first(query, "resourceVersion") or "",
            resource_version_match=_first(query, "resourceVersionMatch") or "",
            allow_watch_bookmarks=bool(_query_bool(query, "allowWatchBookmarks")),
            send_initial_events=_query_bool(query, "sendInitialEvents"),
            timeout_seconds=_query_int(query, "timeoutSeconds"),
        )
        if watch:
            options = options.with_watch_defaults()
        errors = validate_list_options(
            options.resource_version, options.resource_version_match, options.continue_token,
            watch=watch, send_initial_events=options.send_initial_events,
        )
        if errors:
            raise list_options_invalid(errors)
        return options

    def with_watch_defaults(self) -> ListOptions:
        """SetListOptionsDefaults: a legacy watch asks for initial events, not older than its resourceVersion."""
        legacy = self.resource_version in ("", "0")
        if self.send_initial_events is not None or self.resource_version_match or not legacy:
            return self
        return _replace(self, send_initial_events=True, resource_version_match=ResourceVersionMatch.NOT_OLDER_THAN)

    @property
    def is_initial_events_end_bookmark_required(self) -> bool:
        """Upstream sends the `k8s.io/initial-events-end` bookmark only when asked for initial events and bookmarks."""
        return bool(self.send_initial_events) and self.allow_watch_bookmarks


def _replace(options: ListOptions, **changes: Any) -> ListOptions:
    values = {name: getattr(options, name) for name in ListOptions.__dataclass_fields__}
    values.update(changes)
    return ListOptions(**values)


# --- DeleteOptions --------------------------------------------------------------------------------------------

FOREGROUND = "Foreground"
BACKGROUND = "Background"
ORPHAN = "Orphan"
PROPAGATION_POLICIES = (FOREGROUND, BACKGROUND, ORPHAN)
DRY_RUN_ALL = "All"


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """Validated `metav1.DeleteOptions` of one delete (or of every delete of a deletecollection)."""

    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    preconditions_uid: str | None = None
    preconditions_resource_version: str | None = None
    dry_run: bool = False
    orphan_dependents: bool | None = None

    @classmethod
    def from_body_and_query(cls, body: Mapping[str, Any] | None, query: Query) -> DeleteOptions:
        """The options of a DELETE: from its body when it has one (the query is then ignored), else its query.

        Raises BadRequest for values of the wrong type and Invalid (422, `DeleteOptions.meta.k8s.io "" is
        invalid: ...`) for combinations upstream's ValidateDeleteOptions rejects.
        """
        fields = _body_fields(body) if body else _query_fields(query)
        errors = _validate_delete_fields(fields)
        if errors:
            raise Invalid("DeleteOptions", "", [error.to_cause() for error in errors], group="meta.k8s.io")
        return cls(
            grace_period_seconds=fields["gracePeriodSeconds"],
            propagation_policy=fields["propagationPolicy"],
            preconditions_uid=fields["uid"],
            preconditions_resource_version=fields["resourceVersion"],
            dry_run=DRY_RUN_ALL in fields["dryRun"],
            orphan_dependents=fields["orphanDependents"],
        )


def _body_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    preconditions = body.get("preconditions") or {}
    if not isinstance(preconditions, Mapping):
        raise BadRequest("json: cannot unmarshal into Go struct field DeleteOptions.preconditions "
                         "of type v1.Preconditions")
    return {
        "gracePeriodSeconds": _typed(body, "gracePeriodSeconds", int, "int64"),
        "propagationPolicy": _typed(body, "propagationPolicy", str, "v1.DeletionPropagation"),
        "orphanDependents": _typed(body, "orphanDependents", bool, "bool"),
        "uid": _typed(preconditions, "uid", str, "types.UID"),
        "resourceVersion": _typed(preconditions, "resourceVersion", str, "string"),
        "dryRun": _string_list(body.get("dryRun")),
    }


def _typed(source: Mapping[str, Any], name: str, kind: type, go_type: str) -> Any:
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        actual = type(value).__name__
        raise BadRequest(f"json: cannot unmarshal {actual} into Go struct field DeleteOptions.{name} of type {go_type}")
    return value


def _string_list(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest("json: cannot unmarshal into Go struct field DeleteOptions.dryRun of type []string")
    return list(value)


def _query_fields(query: Query) -> dict[str, Any]:
    return {
        "gracePeriodSeconds": _query_int(query, "gracePeriodSeconds"),
        "propagationPolicy": _first(query, "propagationPolicy"),
        "orphanDependents": _query_bool(query, "orphanDependents"),
        "uid": None,
        "resourceVersion": None,
        "dryRun": list(query.get("dryRun") or ()),
    }


def _validate_delete_fields(fields: Mapping[str, Any]) -> FieldErrors:
    errors: FieldErrors = []
    policy = fields["propagationPolicy"]
    if fields["orphanDependents"] is not None and policy is not None:
        errors.append(FieldError.invalid(FieldPath("propagationPolicy"), policy,
                                         "orphanDependents and deletionPropagation cannot be both set"))
    if policy is not None and policy not in PROPAGATION_POLICIES:
        errors.append(FieldError.not_supported(FieldPath("propagationPolicy"), policy, [*PROPAGATION_POLICIES, "nil"]))
    errors.extend(validate_dry_run(fields["dryRun"]))
    return errors


def validate_dry_run(values: Sequence[str]) -> FieldErrors:
    """ValidateDryRun: the only accepted value is `All` (once)."""
    if not values or list(values) == [DRY_RUN_ALL]:
        return []
    return [FieldError.not_supported(FieldPath("dryRun"), list(values), [DRY_RUN_ALL])]
