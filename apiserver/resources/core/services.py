"""Services (core/v1): stable virtual IPs and DNS names; stored under upstream's `services/specs` prefix.

The strategy defaults, validates and keeps status as upstream's service strategy; cluster IPs and node ports
are allocated by the Service store (service_store.py), since allocation writes to storage.
"""
from __future__ import annotations

from datetime import datetime

from apiserver.meta.validation import FieldErrors
from apiserver.registry.columns import NONE, dig, format_labels, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, PROXY_VERBS, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject, RequestContext
from apiserver.resources.core.service_defaults import (
    default_service,
    drop_type_dependent_fields,
    normalize_cluster_ips,
    patch_allocated_values,
)
from apiserver.resources.core.service_update_validation import is_status_write, validate_load_balancer_status
from apiserver.resources.core.service_validation import validate_service_create, validate_service_update


def _load_balancer_addresses(service: JSONObject) -> list[str]:
    addresses = set()
    for ingress in map(mapping, sequence(dig(service, "status", "loadBalancer", "ingress"))):
        address = text(ingress.get("ip")) or text(ingress.get("hostname"))
        if address:
            addresses.add(address)
    return sorted(addresses)


def external_ip(service: JSONObject, now: datetime | None = None) -> str:
    """EXTERNAL-IP by type: external IPs, load-balancer addresses (`<pending>` until assigned), or the DNS name.

    Always the untruncated form: the server renders Tables as upstream does, with the wide options.
    """
    service_type = text(dig(service, "spec", "type"))
    external_ips = [text(ip) for ip in sequence(dig(service, "spec", "externalIPs"))]
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) or NONE
    if service_type == "LoadBalancer":
        addresses = _load_balancer_addresses(service) + external_ips
        return ",".join(addresses) or "<pending>"
    if service_type == "ExternalName":
        return text(dig(service, "spec", "externalName"))
    return "<unknown>"


def ports(service: JSONObject, now: datetime | None = None) -> str:
    """PORT(S): `80/TCP`, or `80:30080/TCP` with a node port; `<none>` without ports."""
    rendered = []
    for port in map(mapping, sequence(dig(service, "spec", "ports"))):
        protocol = text(port.get("protocol")) or "TCP"
        node_port = integer(port.get("nodePort"))
        number = integer(port.get("port"))
        rendered.append(f"{number}:{node_port}/{protocol}" if node_port > 0 else f"{number}/{protocol}")
    return ",".join(rendered) or NONE


def cluster_ip(service: JSONObject, now: datetime | None = None) -> str:
    """The first of spec.clusterIPs (`None` for a headless service), `<none>` when unset."""
    cluster_ips = sequence(dig(service, "spec", "clusterIPs"))
    return text(cluster_ips[0]) if cluster_ips else NONE


COLUMNS = (
    NAME,
    Column("Type", "string", description="How the service is exposed.",
           value=lambda service, now: text(dig(service, "spec", "type"))),
    Column("Cluster-IP", "string", description="The IP address of the service inside the cluster.", value=cluster_ip),
    Column("External-IP", "string", description="The addresses the service is reachable at from outside.",
           value=external_ip),
    Column("Port(s)", "string", description="The ports exposed by this service.", value=ports),
    AGE,
    Column("Selector", "string", priority=1, description="Labels of the pods traffic is routed to.",
           value=lambda service, now: format_labels(dig(service, "spec", "selector"))),
)

SPEC_FIELDS = (
    "ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP",
    "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy", "healthCheckNodePort",
    "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy",
    "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy", "trafficDistribution",
)
PORT_FIELDS = ("name", "protocol", "appProtocol", "port", "targetPort", "nodePort")


def _ordered(fields: MutableObject, order: tuple[str, ...]) -> MutableObject:
    known = {key: fields[key] for key in order if key in fields}
    return {**known, **{key: value for key, value in fields.items() if key not in known}}


class ServiceStrategy(DefaultStrategy):
    """Upstream's svcStrategy: defaults, status reset on create and kept on update, type-dependent fields
    dropped on a type change, ValidateService / ValidateServiceUpdate. Every step is idempotent, so the Service
    store may run the early ones again before allocating."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_service(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_service(obj)
        normalize_cluster_ips(obj, None)
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_service(obj)
        patch_allocated_values(obj, old)
        normalize_cluster_ips(obj, old)
        obj["status"] = old.get("status") or {"loadBalancer": {}}
        drop_type_dependent_fields(obj, old)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_service_create(obj)

    def canonicalize(self, obj: MutableObject) -> None:
        """Fields in the order of upstream's ServiceSpec and ServicePort structs (the order Go writes JSON)."""
        spec = obj.get("spec")
        if isinstance(spec, dict):
            obj["spec"] = _ordered(spec, SPEC_FIELDS)
            if isinstance(spec.get("ports"), list):
                obj["spec"]["ports"] = [_ordered(port, PORT_FIELDS) if isinstance(port, dict) else port
                                        for port in spec["ports"]]

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        if is_status_write(obj, old):
            return validate_load_balancer_status(obj)  # ValidateServiceStatusUpdate
        return validate_service_update(obj, old)


SPEC = ResourceSpec(
    group="", version="v1", kind="Service", plural="services", namespaced=True,
    short_names=("svc",), categories=("all",),
    subresources=(
        Subresource("proxy", "ServiceProxyOptions", verbs=PROXY_VERBS, connect=True),
        Subresource("status", "Service"),
    ),
    columns=COLUMNS,
    strategy=ServiceStrategy(),
    storage_path="services/specs",
)
