"""Endpoints (core/v1): the addresses behind a service; stored under upstream's `services/endpoints` prefix."""
from __future__ import annotations

from datetime import datetime

from apiserver.meta.validation import FieldErrors
from apiserver.registry.columns import NONE, dig, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec
from apiserver.registry.strategy import DefaultStrategy, MutableObject, RequestContext
from apiserver.resources.core.endpoints_validation import SERVER_WRITER, default_endpoints, validate_endpoints

SHOWN_ENDPOINTS = 3


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(obj: JSONObject, now: datetime | None = None) -> str:
    """The first three `ip:port` pairs of all subsets, then `+ N more...`; `<none>` without subsets."""
    subsets = sequence(obj.get("subsets"))
    if not subsets:
        return NONE
    shown: list[str] = []
    total = 0
    for subset in map(mapping, subsets):
        ips = [text(dig(address, "ip")) for address in sequence(subset.get("addresses"))]
        ports = sequence(subset.get("ports"))
        # A headless service may have no ports: list bare addresses then.
        pairs = [ips] if not ports else [
            [_host_port(ip, integer(dig(port, "port"))) for ip in ips] for port in ports
        ]
        for group in pairs:
            total += len(group)
            shown.extend(group[: max(0, SHOWN_ENDPOINTS - len(shown))])
    listed = ",".join(shown)
    return f"{listed} + {total - SHOWN_ENDPOINTS} more..." if total > SHOWN_ENDPOINTS else listed


class EndpointsStrategy(DefaultStrategy):
    """Upstream's endpointsStrategy: port protocols default to TCP; ValidateEndpoints on create and update (the
    server's own reconciler may publish special addresses, see endpoints_validation.py)."""

    def default(self, obj: MutableObject) -> None:
        default_endpoints(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_endpoints(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_endpoints(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_endpoints(obj, allow_special_ips=ctx.user is SERVER_WRITER)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_endpoints(obj, allow_special_ips=ctx.user is SERVER_WRITER)


COLUMNS = (
    NAME,
    Column("Endpoints", "string", description="The addresses and ports of the endpoints.", value=format_endpoints),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Endpoints", plural="endpoints", namespaced=True,
    short_names=("ep",), columns=COLUMNS, storage_path="services/endpoints", strategy=EndpointsStrategy(),
)
