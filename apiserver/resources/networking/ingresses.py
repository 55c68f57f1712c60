"""Ingresses (networking.k8s.io/v1): HTTP routing into services; stored under upstream's `ingress` prefix."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, dig, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource

SHOWN_HOSTS = 3


def hosts(obj: JSONObject, now: datetime | None = None) -> str:
    """Named hosts of the rules, first three, then `+ N more...` (N counts rules); `*` when no rule names one."""
    rules = sequence(dig(obj, "spec", "rules"))
    named: list[str] = []
    more = False
    for rule in rules:
        if len(named) == SHOWN_HOSTS:
            more = True
            break
        if host := text(dig(rule, "host")):
            named.append(host)
    if not named:
        return "*"
    listed = ",".join(named)
    return f"{listed} + {len(rules) - SHOWN_HOSTS} more..." if more else listed


def address(obj: JSONObject, now: datetime | None = None) -> str:
    """Load-balancer IPs or hostnames, deduplicated and sorted (untruncated, as in wide output)."""
    found = set()
    for ingress in map(mapping, sequence(dig(obj, "status", "loadBalancer", "ingress"))):
        if value := text(ingress.get("ip")) or text(ingress.get("hostname")):
            found.add(value)
    return ",".join(sorted(found))


def _class_name(obj: JSONObject) -> str:
    name = dig(obj, "spec", "ingressClassName")
    return text(name) if name is not None else NONE


COLUMNS = (
    NAME,
    Column("Class", "string",
           description="The name of the IngressClass resource that should be used for additional configuration",
           value=lambda obj, now: _class_name(obj)),
    Column("Hosts", "string", description="Hosts that incoming requests are matched against before the ingress rule",
           value=hosts),
    Column("Address", "string", description="Address is a list containing ingress points for the load-balancer",
           value=address),
    Column("Ports", "string", description="Ports of TLS configurations that open",
           value=lambda obj, now: "80, 443" if sequence(dig(obj, "spec", "tls")) else "80"),
    AGE,
)

SPEC = ResourceSpec(
    group="networking.k8s.io", version="v1", kind="Ingress", plural="ingresses", namespaced=True,
    short_names=("ing",), subresources=(Subresource("status", "Ingress"),), columns=COLUMNS,
    storage_path="ingress",
)
