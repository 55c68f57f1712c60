"""EndpointSlices (discovery.k8s.io/v1): a slice of a service's endpoints."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import dig, first_items, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec


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
    columns=COLUMNS,
)
