"""Table and PartialObjectMetadata output: what `kubectl get` and metadata-only clients receive.

A Table (meta.k8s.io v1 or v1beta1) has the spec's column definitions and one row per object with its cells and,
per `includeObject`, nothing (`"object": null`), the PartialObjectMetadata (default, managedFields dropped as
upstream does for Table rows) or the whole object. Cells keep their JSON types (kubectl prints them verbatim).
Everything is serialised once; the objects' own bytes are reused for includeObject=Object.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import orjson

from apiserver.meta.errors import BadRequest, go_quote
from apiserver.meta.objects import JSONDict
from apiserver.registry.context import StoredObject
from apiserver.registry.spec import ResourceSpec

INCLUDE_NONE: Final = "None"
INCLUDE_METADATA: Final = "Metadata"
INCLUDE_OBJECT: Final = "Object"
INCLUDE_POLICIES: Final = (INCLUDE_NONE, INCLUDE_METADATA, INCLUDE_OBJECT)
META_GROUP: Final = "meta.k8s.io"


def _api_version(version: str) -> str:
    return f"{META_GROUP}/{version}"


def list_meta(resource_version: str, continue_token: str = "", remaining: int | None = None) -> dict[str, Any]:
    """ListMeta as Go emits it: empty fields left out."""
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return meta


def partial_object_metadata(obj: JSONDict, *, version: str = "v1", keep_managed_fields: bool = True) -> JSONDict:
    """The object's PartialObjectMetadata (kind, apiVersion and its metadata)."""
    found = obj.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    if not keep_managed_fields and "managedFields" in metadata:
        metadata = {key: value for key, value in metadata.items() if key != "managedFields"}
    return {"kind": "PartialObjectMetadata", "apiVersion": _api_version(version), "metadata": metadata}


def partial_object_metadata_list(items: Sequence[StoredObject], *, resource_version: str, continue_token: str = "",
                                 remaining: int | None = None, version: str = "v1") -> bytes:
    """A serialised PartialObjectMetadataList (`items` is `[]` when empty, never null)."""
    document = {
        "kind": "PartialObjectMetadataList",
        "apiVersion": _api_version(version),
        "metadata": list_meta(resource_version, continue_token, remaining),
        "items": [partial_object_metadata(item.read(), version=version) for item in items],
    }
    return orjson.dumps(document)


def _row_object(item: StoredObject, obj: JSONDict, include_object: str, version: str) -> bytes:
    if include_object == INCLUDE_OBJECT:
        return item.json
    if include_object == INCLUDE_NONE:
        return b"null"
    return orjson.dumps(partial_object_metadata(obj, version=version, keep_managed_fields=False))


def table_row(spec: ResourceSpec, item: StoredObject, *, include_object: str, now: datetime,
              table_version: str = "v1") -> bytes:
    """One serialised TableRow."""
    obj = item.read()
    cells = orjson.dumps([column.value(obj, now) for column in spec.table_columns])
    return b'{"cells":' + cells + b',"object":' + _row_object(item, obj, include_object, table_version) + b"}"


def table_for(spec: ResourceSpec, items: Sequence[StoredObject], *, list_resource_version: str,
              continue_token: str = "", remaining: int | None = None, include_object: str = INCLUDE_METADATA,
              now: datetime, table_version: str = "v1") -> bytes:
    """A serialised meta.k8s.io Table of `items` (one row each; a single-object GET passes one item and its
    resourceVersion). Raises BadRequest for an unknown includeObject policy."""
    if include_object not in INCLUDE_POLICIES:
        raise BadRequest(f"unrecognized includeObject value: {go_quote(include_object)}")
    head = orjson.dumps({
        "kind": "Table",
        "apiVersion": _api_version(table_version),
        "metadata": list_meta(list_resource_version, continue_token, remaining),
        "columnDefinitions": [column.definition() for column in spec.table_columns],
    })
    rows = b",".join(table_row(spec, item, include_object=include_object, now=now, table_version=table_version)
                     for item in items)
    return head[:-1] + b',"rows":[' + rows + b"]}"
