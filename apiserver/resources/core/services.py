"""Services (core/v1): stable virtual IPs and DNS names; stored under upstream's `services/specs` prefix."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, dig, format_labels, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, PROXY_VERBS, Column, JSONObject, ResourceSpec, Subresource


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

SPEC = ResourceSpec(
    group="", version="v1", kind="Service", plural="services", namespaced=True,
    short_names=("svc",), categories=("all",),
    subresources=(
        Subresource("proxy", "ServiceProxyOptions", verbs=PROXY_VERBS, connect=True),
        Subresource("status", "Service"),
    ),
    columns=COLUMNS,
    storage_path="services/specs",
)
