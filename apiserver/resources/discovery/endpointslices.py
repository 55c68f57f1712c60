"""EndpointSlices (discovery.k8s.io/v1): a slice of a service's endpoints."""
from __future__ import annotations

from datetime import datetime

from apiserver.meta.validation import FieldErrors
from apiserver.registry.columns import dig, first_items, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec
from apiserver.registry.strategy import DefaultStrategy, MutableObject, RequestContext
from apiserver.resources.core.endpoints_validation import SERVER_WRITER
from apiserver.resources.discovery.endpointslice_validation import (
    default_endpoint_slice,
    drop_deprecated_topology,
    validate_endpoint_slice,
    validate_endpoint_slice_update,
)


def slice_ports(obj: JSONObject, now: datetime | None = None) -> str:
    """Port numbers (the name when unnumbered, `*` when neither), first three, then `+ N more...`."""
    rendered = []
    for port in map(mapping, sequence(obj.get("ports"))):
        if port.get("port") is not None:
            rendered.append(str(integer(port.get("port"))))
        elif port.get("name") is not None:
            rendered.append(text(port.get("name")))
        else:
            rendered.append("*")
    return first_items(rendered)


def slice_endpoints(obj: JSONObject, now: datetime | None = None) -> str:
    """Every endpoint's addresses, first three, then `+ N more...`; `<unset>` when there are none."""
    addresses = [text(address) for endpoint in sequence(obj.get("endpoints"))
                 for address in sequence(dig(endpoint, "addresses"))]
    return first_items(addresses)


class EndpointSliceStrategy(DefaultStrategy):
    """Upstream's endpointSliceStrategy: port defaults, `deprecatedTopology` dropped on v1 writes,
    ValidateEndpointSlice (addressType immutable on update). Generation is tracked by the store (traits)."""

    def default(self, obj: MutableObject) -> None:
        default_endpoint_slice(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_endpoint_slice(obj)
        drop_deprecated_topology(obj, None)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_endpoint_slice(obj)
        drop_deprecated_topology(obj, old)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_endpoint_slice(obj, allow_special_ips=ctx.user is SERVER_WRITER)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_endpoint_slice_update(obj, old, allow_special_ips=ctx.user is SERVER_WRITER)


COLUMNS = (
    NAME,
    Column("AddressType", "string", description="The type of address carried by this slice.",
           value=lambda obj, now: text(obj.get("addressType"))),
    Column("Ports", "string", description="The network ports exposed by each endpoint.", value=slice_ports),
    Column("Endpoints", "string", description="The addresses of the endpoints in this slice.",
           value=slice_endpoints),
    AGE,
)

SPEC = ResourceSpec(
    group="discovery.k8s.io", version="v1", kind="EndpointSlice", plural="endpointslices", namespaced=True,
    columns=COLUMNS, strategy=EndpointSliceStrategy(),
)
