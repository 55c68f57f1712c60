"""GET of one object (and of its `status` subresource), as kube-apiserver's GetResource handler serves it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from apiserver.endpoints.answers import send_object
from apiserver.http.negotiation import negotiate_output
from apiserver.meta.errors import BadRequest

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest


async def handle(resource: ResourceRequest) -> None:
    """Negotiate, read `resourceVersion` (GetOptions), fetch, answer 200. The deprecated `export` is refused."""
    output = negotiate_output(resource.request, available=resource.serializers)
    _refuse_export(resource)
    version = resource.request.query_value("resourceVersion") or ""
    stored = await resource.store.get(resource.namespace, resource.name, resource_version=version)
    await send_object(resource, 200, stored, output)


def _refuse_export(resource: ResourceRequest) -> None:
    values = resource.request.query.get("export")
    if values and values[0] != "0" and values[0].lower() != "false":
        raise BadRequest("the export parameter, deprecated since v1.14, is no longer supported")
