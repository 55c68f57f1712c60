"""DELETE of one object or of a collection, as kube-apiserver's DeleteResource and DeleteCollection.

DeleteOptions come from a body (JSON, YAML or protobuf; the Python client sends JSON without a Content-Type)
when there is one, else from the query. A body that does not decode is answered as upstream answers an error
that is not an API error: 500 with the decoder's message. The answer is 200 with what the store returns (the
object, or a Success Status for resources that do not return deleted objects), 202 when the object was only
marked for deletion and the client asked for orphanDependents=false.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiserver.admission.interface import Operation
from apiserver.endpoints.answers import send_list, send_object
from apiserver.endpoints.bodies import interpret_type_meta
from apiserver.http.negotiation import (
    APPLICATION_PROTOBUF,
    JSON,
    PROTOBUF,
    YAML,
    DecodeError,
    decode_document,
    negotiate_input,
    negotiate_output,
    protobuf_codec,
)
from apiserver.meta.errors import ApiError
from apiserver.registry.context import DeleteOptions, ListOptions, RequestContext

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest


async def handle(resource: ResourceRequest) -> None:
    output = negotiate_output(resource.request, available=resource.serializers)
    options = await _delete_options(resource)
    context = RequestContext(namespace=resource.namespace, dry_run=options.dry_run, now=resource.server.clock)
    validate = resource.admission_hook(Operation.DELETE, dry_run=options.dry_run, mutate=True)
    stored, deleted = await resource.store.delete(resource.namespace, resource.name, options, context,
                                                  validate=validate)
    status = 202 if not deleted and options.orphan_dependents is False else 200
    await send_object(resource, status, stored, output, context.warnings)


async def handle_collection(resource: ResourceRequest) -> None:
    output = negotiate_output(resource.request, available=resource.serializers)
    list_options = ListOptions.from_query(resource.request.query, watch=False)
    options = await _delete_options(resource)
    context = RequestContext(namespace=resource.namespace, dry_run=options.dry_run, now=resource.server.clock)
    result = await resource.store.delete_collection(resource.namespace, list_options, options, context)
    await send_list(resource, result, output, context.warnings)


async def _delete_options(resource: ResourceRequest) -> DeleteOptions:
    body = await resource.request.body()
    document = _decode(resource, body) if body else None
    return DeleteOptions.from_body_and_query(document, resource.request.query)


def _decode(resource: ResourceRequest, body: bytes) -> dict[str, Any]:
    available = (JSON, YAML, PROTOBUF) if protobuf_codec() is not None else (JSON, YAML)
    media = negotiate_input(resource.request, available)
    try:
        if media.name == APPLICATION_PROTOBUF:
            codec = protobuf_codec()
            assert codec is not None
            decoded: Any = codec.decode_object(body, default_api_version="meta.k8s.io/v1",
                                               default_kind="DeleteOptions")
        else:
            decoded = decode_document(body, media)
            interpret_type_meta(decoded)
    except DecodeError as error:
        raise ApiError(str(error)) from None
    except ValueError as error:
        raise ApiError(str(error)) from None
    return decoded if isinstance(decoded, dict) else {}
