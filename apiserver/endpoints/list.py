"""GET of a collection: a list, or a watch (`?watch=1`, or the deprecated `/watch/` paths).

As kube-apiserver's ListResource: negotiate the output first, then decode and validate the ListOptions (400 or
422 on `ListOptions.meta.k8s.io`), then list from the store or hand over to the watch endpoint. A watch of one
object by path (`/watch/namespaces/ns/pods/x`) becomes a `metadata.name` field selector.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from apiserver.endpoints import watch
from apiserver.endpoints.answers import send_list
from apiserver.http.negotiation import negotiate_output
from apiserver.meta.errors import BadRequest
from apiserver.meta.selectors import escape_field_value, parse_field_selector
from apiserver.registry.context import ListOptions

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest


async def handle(resource: ResourceRequest) -> None:
    output = negotiate_output(resource.request, available=resource.serializers)
    is_watch = resource.verb == "watch"
    options = ListOptions.from_query(_query(resource), watch=is_watch)
    if is_watch:
        await watch.serve(resource, options, output)
        return
    result = await resource.store.list(resource.namespace, options)
    await send_list(resource, result, output)


async def handle_websocket(resource: ResourceRequest) -> None:
    """A watch requested over a WebSocket upgrade."""
    await watch.serve_websocket(resource, ListOptions.from_query(_query(resource), watch=True))


def _query(resource: ResourceRequest) -> Mapping[str, Sequence[str]]:
    """The query, with a name from the path turned into (or checked against) a `metadata.name` selector."""
    query = resource.request.query
    if not resource.name:
        return query
    selector = (query.get("fieldSelector") or [""])[0]
    if selector and not parse_field_selector(selector).is_empty():
        if parse_field_selector(selector).requires_exact_match("metadata.name") != resource.name:
            raise BadRequest("fieldSelector metadata.name doesn't match requested name")
        return query
    return {**query, "fieldSelector": [f"metadata.name={escape_field_value(resource.name)}"]}
