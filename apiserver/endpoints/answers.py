"""Answers of the resource handlers, written as kube-apiserver's WriteObjectNegotiated writes them.

Compact JSON ending in a newline, or indented JSON without one for `?pretty` and curl/browsers; YAML (keys
sorted, as go-yaml writes maps); protobuf; or the Table / PartialObjectMetadata(List) the client asked for. Lists
are joined from the items' stored bytes without decoding them. Errors are negotiated too (ErrorNegotiated), and
fall back to indented JSON when nothing the client accepts can carry them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.endpoints.bodies import internal_package
from apiserver.http.asgi import Send
from apiserver.http.negotiation import (
    APPLICATION_JSON,
    APPLICATION_PROTOBUF,
    PARTIAL_OBJECT_METADATA,
    PARTIAL_OBJECT_METADATA_LIST,
    TABLE,
    OutputFormat,
    Restrictions,
    negotiate_output,
    protobuf_codec,
)
from apiserver.http.request import Request
from apiserver.http.responses import encode_json, send_bytes, send_chunks
from apiserver.meta.errors import ApiError, BadRequest, NotAcceptable
from apiserver.meta.objects import JSONDict
from apiserver.meta.validation import FieldError, FieldPath
from apiserver.registry.spec import ResourceSpec

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest
    from apiserver.registry.context import StoredObject
    from apiserver.registry.listing import ListResult

_GO_ESCAPES = (
    (b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"),
)
_INCLUDE_OBJECT_VALUES = ("", "None", "Metadata", "Object")
# Lists are sent in pieces of about this size (bytes of stored items).
LIST_CHUNK_BYTES = 256 * 1024



def warning_headers(warnings: Iterable[str]) -> list[tuple[bytes, bytes]]:
    """`Warning: 299 - "text"` headers, one per distinct text, as upstream's warning recorder writes them."""
    headers = []
    for text in dict.fromkeys(warnings):
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        headers.append((b"warning", f'299 - "{quoted}"'.encode("utf-8", "replace")))
    return headers


def go_escape(data: bytes) -> bytes:
    """Escape what Go's JSON encoder escapes in strings (`<`, `>`, `&`, U+2028, U+2029)."""
    for raw, escaped in _GO_ESCAPES[:3]:
        if raw in data:
            data = data.replace(raw, escaped)
    # Both line separators start with 0xE2: one single-byte search usually spares the two slow 3-byte ones.
    if b"\xe2" in data:
        for raw, escaped in _GO_ESCAPES[3:]:
            if raw in data:
                data = data.replace(raw, escaped)
    return data


def encode_json_bytes(data: bytes, output: OutputFormat) -> tuple[str, bytes]:
    """An already-serialised JSON document in the negotiated form (JSON, indented JSON or YAML)."""
    if output.media.name == APPLICATION_JSON:
        if output.pretty:
            return APPLICATION_JSON, encode_json(orjson.loads(data), indent=True)
        return APPLICATION_JSON, go_escape(data) + b"\n"
    return encode_value(orjson.loads(data), output)


def encode_value(value: Mapping[str, Any], output: OutputFormat, *, api_version: str = "", kind: str = "") -> tuple[
    str, bytes
]:
    """A dict in the negotiated serializer. Protobuf needs the kind the codec knows it by."""
    media = output.media.name
    if media == APPLICATION_JSON:
        if output.pretty:
            return media, encode_json(value, indent=True)
        return media, encode_json(value) + b"\n"
    if media == APPLICATION_PROTOBUF:
        codec = protobuf_codec()
        assert codec is not None
        return media, codec.encode_object(value, api_version=api_version or None, kind=kind or None)
    return media, yaml.safe_dump(dict(value), default_flow_style=False, sort_keys=True, allow_unicode=True).encode()


async def send_error(request: Request, send: Send, error: ApiError) -> None:
    """ErrorNegotiated: the Status in the client's format; indented JSON when no format is acceptable."""
    status = error.to_status()
    headers = [(b"retry-after", b"%d" % error.retry_after_seconds)] if error.retry_after_seconds > 0 else []
    try:
        output = negotiate_output(request, Restrictions.NONE)
    except NotAcceptable:
        await send_bytes(send, error.code, encode_json(status, indent=True), content_type=APPLICATION_JSON.encode(),
                         headers=headers)
        return
    content_type, body = encode_value(status, output, api_version="v1", kind="Status")
    await send_bytes(send, error.code, body, content_type=content_type.encode(), headers=headers)


async def send_object(
    resource: ResourceRequest, status: int, stored: StoredObject, output: OutputFormat, warnings: Sequence[str] = ()
) -> None:
    """One object (or the Status a delete returns), converted as the client asked."""
    # Cached objects are decoded only for the answers that need a dict (see StoredObject).
    if stored.is_status:
        content_type, body = encode_value(stored.read(), OutputFormat(output.media, pretty=output.pretty),
                                          api_version="v1", kind="Status")
    elif output.kind == TABLE:
        table = _table(resource, [stored], output, resource_version=stored.resource_version)
        content_type, body = encode_json_bytes(table, output)
    elif output.kind == PARTIAL_OBJECT_METADATA:
        content_type, body = _partial(stored.read(), output)
    elif output.kind == PARTIAL_OBJECT_METADATA_LIST:
        raise NotAcceptable.from_message(
            "you requested PartialObjectMetadataList, but the requested object is not a list "
            f"({go_type_name(resource.spec)})"
        )
    elif output.media.name == APPLICATION_PROTOBUF:
        content_type, body = encode_value(stored.read(), output, api_version=resource.spec.group_version,
                                          kind=resource.spec.kind)
    else:
        content_type, body = encode_json_bytes(stored.json, output)
    await send_bytes(resource.send, status, body, content_type=content_type.encode(),
                     headers=warning_headers(warnings))


async def send_list(
    resource: ResourceRequest, result: ListResult, output: OutputFormat, warnings: Sequence[str] = ()
) -> None:
    """A list, joined from the items' stored bytes, or its Table / PartialObjectMetadataList."""
    spec = resource.spec
    if output.kind == TABLE:
        table = _table(resource, result.items, output, resource_version=result.resource_version,
                       continue_token=result.continue_token, remaining=result.remaining_item_count)
        content_type, body = encode_json_bytes(table, output)
    elif output.kind == PARTIAL_OBJECT_METADATA:
        raise NotAcceptable.from_message(
            "you requested PartialObjectMetadata, but the requested object is a list "
            f"({go_type_name(spec, listed=True)})"
        )
    elif output.kind == PARTIAL_OBJECT_METADATA_LIST:
        content_type, body = _partial_list(result, output)
    elif output.media.name == APPLICATION_PROTOBUF:
        codec = protobuf_codec()
        assert codec is not None
        items = [item.read() for item in result.items]
        content_type = APPLICATION_PROTOBUF
        body = codec.encode_list(spec.group_version, spec.list_kind, list_meta(result), items)
    elif output.media.name == APPLICATION_JSON and not output.pretty:
        await send_chunks(resource.send, 200, list_json_chunks(spec, result), content_type=APPLICATION_JSON.encode(),
                          headers=warning_headers(warnings))
        return
    else:
        content_type, body = encode_json_bytes(list_json(spec, result), output)
    await send_bytes(resource.send, 200, body, content_type=content_type.encode(),
                     headers=warning_headers(warnings))


def go_type_name(spec: ResourceSpec, *, listed: bool = False) -> str:
    """The Go type `%T` prints for a handler's object: the internal type of a built-in (`*apps.Deployment`), the
    unstructured type of a custom resource (the CR handler works on `*unstructured.Unstructured(List)`)."""
    if spec.schema is not None:
        return "*unstructured.UnstructuredList" if listed else "*unstructured.Unstructured"
    return f"*{internal_package(spec.group)}.{spec.kind}{'List' if listed else ''}"


def list_meta(result: ListResult) -> dict[str, Any]:
    metadata: dict[str, Any] = {"resourceVersion": result.resource_version}
    if result.continue_token:
        metadata["continue"] = result.continue_token
    if result.remaining_item_count is not None:
        metadata["remainingItemCount"] = result.remaining_item_count
    return metadata


def list_json(spec: ResourceSpec, result: ListResult) -> bytes:
    """`{"kind":"<ListKind>","apiVersion":…,"metadata":{…},"items":[…]}` joined from the stored bytes."""
    head = orjson.dumps({"kind": spec.list_kind, "apiVersion": spec.group_version, "metadata": list_meta(result)})
    return head[:-1] + b',"items":[' + b",".join(item.json for item in result.items) + b"]}"


def list_json_chunks(spec: ResourceSpec, result: ListResult) -> list[bytes]:
    """`list_json` plus the newline, Go-escaped, as pieces of about LIST_CHUNK_BYTES: no copy of the whole body.

    Escaping piece by piece is exact: the escaped sequences lie inside strings, never across an item boundary."""
    head = orjson.dumps({"kind": spec.list_kind, "apiVersion": spec.group_version, "metadata": list_meta(result)})
    chunks = [go_escape(head[:-1] + b',"items":[')]
    group: list[bytes] = []
    size = 0
    for item in result.items:
        if group or len(chunks) > 1:
            group.append(b",")
        item_json = item.json
        group.append(item_json)
        size += len(item_json)
        if size >= LIST_CHUNK_BYTES:
            chunks.append(go_escape(b"".join(group)))
            group, size = [], 0
    group.append(b"]}\n")
    chunks.append(go_escape(b"".join(group)))
    return chunks


def include_object(request: Request) -> str:
    """The Table `includeObject` option, validated as optionsForTransform does (400 otherwise)."""
    value = request.query_value("includeObject") or ""
    if value not in _INCLUDE_OBJECT_VALUES:
        error = FieldError.invalid(FieldPath("includeObject"), value, "must be 'Metadata', 'Object', 'None', or empty")
        raise BadRequest(f"Unable to convert to Table as requested: {error.error_message()}")
    return value or "Metadata"


def _table(
    resource: ResourceRequest, items: Sequence[StoredObject], output: OutputFormat, *, resource_version: str,
    continue_token: str = "", remaining: int | None = None,
) -> bytes:
    from apiserver.registry.tables import table_for

    assert output.conversion is not None
    return table_for(
        resource.spec, items, list_resource_version=resource_version, continue_token=continue_token,
        remaining=remaining, include_object=include_object(resource.request), now=resource.server.clock(),
        table_version=output.conversion.version,
    )


def _partial(obj: JSONDict, output: OutputFormat) -> tuple[str, bytes]:
    from apiserver.registry.tables import partial_object_metadata

    assert output.conversion is not None
    partial = partial_object_metadata(obj, version=output.conversion.version)
    return encode_value(partial, output, api_version=partial["apiVersion"], kind=PARTIAL_OBJECT_METADATA)


def _partial_list(result: ListResult, output: OutputFormat) -> tuple[str, bytes]:
    from apiserver.registry.tables import partial_object_metadata_list

    assert output.conversion is not None
    if output.media.name == APPLICATION_PROTOBUF:
        from apiserver.registry.tables import partial_object_metadata

        version = output.conversion.version
        value = {"metadata": list_meta(result),
                 "items": [partial_object_metadata(item.read(), version=version) for item in result.items]}
        return encode_value(value, output, api_version=output.conversion.api_version,
                            kind=PARTIAL_OBJECT_METADATA_LIST)
    document = partial_object_metadata_list(
        result.items, resource_version=result.resource_version, continue_token=result.continue_token,
        remaining=result.remaining_item_count, version=output.conversion.version,
    )
    return encode_json_bytes(document, output)
