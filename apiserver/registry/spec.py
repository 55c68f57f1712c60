"""ResourceSpec: everything needed to serve one resource, declared once as a frozen value.

Routes, discovery, RBAC names, Table columns, field selectors, the storage layout, the watch cache and garbage
collection are all derived from these values. A resource that needs something new gets a new field here, never
a special case in the router, discovery or RBAC.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from apiserver.registry import columns
from apiserver.registry.strategy import DEFAULT_STRATEGY, Strategy

JSONObject = Mapping[str, Any]
"""A decoded Kubernetes object, read-only (column and field functions never mutate what they are given)."""

ColumnValue = Callable[[JSONObject, datetime], Any]
"""The cell of one column for one object, given the current time (for ages)."""

FieldValue = Callable[[JSONObject], str]
"""The value of one selectable field for one object, as a field selector compares it."""


class Verb(StrEnum):
    """The Kubernetes API verbs a resource can support, spelt as discovery and RBAC spell them."""

    GET = "get"
    LIST = "list"
    WATCH = "watch"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    DELETECOLLECTION = "deletecollection"


ALL_VERBS = frozenset(Verb)
NO_DELETECOLLECTION = ALL_VERBS - {Verb.DELETECOLLECTION}
CREATE_ONLY = frozenset({Verb.CREATE})
READ_ONLY = frozenset({Verb.GET, Verb.LIST, Verb.WATCH})
GET_LIST = frozenset({Verb.GET, Verb.LIST})
GET_ONLY = frozenset({Verb.GET})
UPDATE_ONLY = frozenset({Verb.UPDATE})
STATUS_VERBS = frozenset({Verb.GET, Verb.PATCH, Verb.UPDATE})
# Connect subresources take their verbs from HTTP methods: GET → get, POST → create, PUT → update, and so on.
CONNECT_VERBS = frozenset({Verb.GET, Verb.CREATE})
PROXY_VERBS = frozenset({Verb.GET, Verb.CREATE, Verb.UPDATE, Verb.PATCH, Verb.DELETE})


def group_version_string(group: str, version: str) -> str:
    """`apps/v1`, or just `v1` for the core group (the form of apiVersion)."""
    return f"{group}/{version}" if group else version


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """Discovery's storageVersionHash: base64 of the first 8 bytes of sha256("group/version/kind").

    Same computation as upstream's apiserver/pkg/endpoints/discovery/storageversionhash.go, so clients that
    compare hashes across servers (the storage version migrator) see the values a real cluster reports.
    """
    if not kind:
        return ""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode("ascii")


@dataclass(frozen=True, slots=True)
class Subresource:
    """A subresource as discovery reports it: name, response kind, verbs.

    `group` and `version` name the response kind's group-version and are empty when it is the parent's own
    (pods/status → Pod). `connect` marks upstream's Connecter subresources (exec, attach, portforward, proxy),
    whose verbs come from HTTP methods and whose kind is an options type.
    """

    name: str
    kind: str
    group: str = ""
    version: str = ""
    verbs: frozenset[Verb] = STATUS_VERBS
    connect: bool = False

    def response_kind(self, parent_group: str, parent_version: str) -> tuple[str, str, str]:
        """(group, version, kind) of the response, with the parent's group-version filled in when implied."""
        if self.group or self.version:
            return self.group, self.version, self.kind
        return parent_group, parent_version, self.kind


@dataclass(frozen=True, slots=True)
class Column:
    """One Table column: its definition as served in columnDefinitions, and how to compute its cell.

    `type` is an OpenAPI type (string, integer, number, boolean, date); `format` is `name` for the column that
    identifies the object; priority 1 columns appear only with `kubectl get -o wide`.
    """

    name: str
    type: str
    format: str = ""
    description: str = ""
    priority: int = 0
    value: ColumnValue = field(kw_only=True)

    def definition(self) -> dict[str, Any]:
        """The TableColumnDefinition JSON."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True, slots=True)
class SelectableField:
    """A field a field selector may name (beyond metadata.name and metadata.namespace, always selectable)."""

    path: str
    value: FieldValue


def _name_cell(obj: JSONObject, now: datetime) -> str:
    return columns.text(columns.dig(obj, "metadata", "name"))


def _age_cell(obj: JSONObject, now: datetime) -> str:
    return columns.since(columns.dig(obj, "metadata", "creationTimestamp"), now)


def _created_at_cell(obj: JSONObject, now: datetime) -> str:
    return columns.format_rfc3339(columns.dig(obj, "metadata", "creationTimestamp"))


NAME = Column("Name", "string", "name", "Name of the object, unique within its namespace.", value=_name_cell)
AGE = Column("Age", "string", description="Time since the object was created.", value=_age_cell)
CREATED_AT = Column("Created At", "date", description="When the object was created.", value=_created_at_cell)
# Matches kube-apiserver's default table convertor (apiserver/pkg/registry/rest/table.go), used for every
# resource without a printer of its own: roles, limitranges, customresourcedefinitions, ...
DEFAULT_COLUMNS = (NAME, CREATED_AT)


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """Everything needed to serve one resource of one group-version.

    Defaults are filled in after construction: `singular` is the lowercased kind, `storage_path` the plural
    (upstream's default etcd prefix, under `/registry/`), `storage_version` the spec's own group-version.
    Virtual resources (create-only reviews, bindings, componentstatuses) have no storage path.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: frozenset[Verb] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    strategy: Strategy = DEFAULT_STRATEGY
    columns: tuple[Column, ...] = ()
    selectable_fields: tuple[SelectableField, ...] = ()
    merge_keys: tuple[tuple[str, str], ...] = ()
    storage_path: str = ""
    storage_version: str = ""
    virtual: bool = False
    garbage_collected: bool = True
    # The type schema of a custom resource (a node with registry.schema.Schema's interface); None for built-ins,
    # whose schemas come from TypeSchemas. Not part of equality: a spec is identified by its declaration.
    schema: Any = field(default=None, compare=False, hash=False)
    # The kind of this resource's lists (a CRD's `spec.names.listKind`); `<Kind>List` when not given.
    list_kind: str = ""
    # Discovery's verbs in the order it lists them (a CRD's discovery controller writes a fixed order); empty:
    # the served verbs sorted by name, as the installer lists built-ins.
    discovery_verbs: tuple[Verb, ...] = ()

    def __post_init__(self) -> None:
        if not (self.version and self.kind and self.plural):
            raise ValueError(f"resource spec needs a version, kind and plural: {self!r}")
        if self.plural != self.plural.lower():
            raise ValueError(f"plural must be lowercase: {self.plural!r}")
        if not self.singular:
            object.__setattr__(self, "singular", self.kind.lower())
        if not self.list_kind:
            object.__setattr__(self, "list_kind", self.kind + "List")
        if self.virtual and self.storage_path:
            raise ValueError(f"virtual resource {self.plural!r} cannot have a storage path")
        if not self.virtual and not self.storage_path:
            object.__setattr__(self, "storage_path", self.plural)
        if not self.storage_version:
            object.__setattr__(self, "storage_version", self.group_version)

    @property
    def group_version(self) -> str:
        """The apiVersion of this resource's objects: `apps/v1`, `v1`."""
        return group_version_string(self.group, self.version)

    @property
    def resource_key(self) -> tuple[str, str, str]:
        """(group, version, plural): the catalog key, as a request path names the resource."""
        return self.group, self.version, self.plural

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or `pods` in the core group: the resource as errors and RBAC messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def table_columns(self) -> tuple[Column, ...]:
        """The declared columns, or the default Name + Created At for a resource without a printer."""
        return self.columns or DEFAULT_COLUMNS

    @property
    def storage_version_hash(self) -> str:
        """Discovery's storageVersionHash of the version actually stored; empty without storage."""
        if self.virtual:
            return ""
        group, _, version = self.storage_version.rpartition("/")
        return storage_version_hash(group, version, self.kind)

    def subresource(self, name: str) -> Subresource | None:
        """The named subresource, or None when this resource has no such subresource."""
        return next((sub for sub in self.subresources if sub.name == name), None)

    def selectable_field(self, path: str) -> SelectableField | None:
        """The declared selectable field with this path (metadata.name/namespace are not declared here)."""
        return next((selectable for selectable in self.selectable_fields if selectable.path == path), None)
