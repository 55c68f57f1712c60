"""Service defaults and the field bookkeeping upstream does around allocation, on plain dicts.

- `default_service`: SetDefaults_Service (core/v1 defaults.go) — type ClusterIP, sessionAffinity None, port
  protocol TCP and targetPort = port, externalTrafficPolicy Cluster where the service is reachable from outside,
  internalTrafficPolicy Cluster, allocateLoadBalancerNodePorts true for LoadBalancer, the ClientIP timeout.
- `normalize_cluster_ips` and `patch_allocated_values`: service/storage/rest.go, run before allocation so that
  clients sending only `clusterIP`, or resubmitting a manifest without the allocated values, keep working.
- `drop_type_dependent_fields`: the strategy's wipe of fields a type change made meaningless (run after
  allocation, which released them).
"""
from __future__ import annotations

from typing import Any

MutableObject = dict[str, Any]

CLUSTER_IP = "ClusterIP"
NODE_PORT = "NodePort"
LOAD_BALANCER = "LoadBalancer"
EXTERNAL_NAME = "ExternalName"
NONE = "None"
CLIENT_IP = "ClientIP"
DEFAULT_CLIENT_IP_TIMEOUT = 10800


def spec_of(service: MutableObject) -> MutableObject:
    spec = service.get("spec")
    if not isinstance(spec, dict):
        spec = service["spec"] = {}
    return spec


def ports_of(spec: MutableObject) -> list[MutableObject]:
    ports = spec.get("ports")
    return [port for port in ports if isinstance(port, dict)] if isinstance(ports, list) else []


def service_type(service: MutableObject) -> str:
    value = spec_of(service).get("type")
    return value if isinstance(value, str) else ""


def cluster_ips(service: MutableObject) -> list[str]:
    value = spec_of(service).get("clusterIPs")
    return [str(ip) for ip in value] if isinstance(value, list) else []


def node_port(port: MutableObject) -> int:
    value = port.get("nodePort")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def is_externally_accessible(service: MutableObject) -> bool:
    kind = service_type(service)
    return kind in (LOAD_BALANCER, NODE_PORT) or (kind == CLUSTER_IP and bool(spec_of(service).get("externalIPs")))


def needs_cluster_ip(service: MutableObject) -> bool:
    return service_type(service) != EXTERNAL_NAME


def needs_node_port(service: MutableObject) -> bool:
    return service_type(service) in (NODE_PORT, LOAD_BALANCER)


def needs_health_check_node_port(service: MutableObject) -> bool:
    spec = spec_of(service)
    return service_type(service) == LOAD_BALANCER and spec.get("externalTrafficPolicy") == "Local"


def should_allocate_node_ports(service: MutableObject) -> bool:
    kind = service_type(service)
    if kind == NODE_PORT:
        return True
    return kind == LOAD_BALANCER and spec_of(service).get("allocateLoadBalancerNodePorts") is not False


def is_headless(service: MutableObject) -> bool:
    return service_type(service) != EXTERNAL_NAME and cluster_ips(service)[:1] == [NONE]


def default_service(service: MutableObject) -> None:
    """SetDefaults_Service, in place."""
    spec = spec_of(service)
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = NONE
    if spec["sessionAffinity"] == NONE:
        spec.pop("sessionAffinityConfig", None)
    if spec["sessionAffinity"] == CLIENT_IP:
        config = spec.get("sessionAffinityConfig")
        client_ip = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT}}
    if not spec.get("type"):
        spec["type"] = CLUSTER_IP
    for port in ports_of(spec):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if is_externally_accessible(service) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (CLUSTER_IP, NODE_PORT, LOAD_BALANCER):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == LOAD_BALANCER and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if spec["type"] == LOAD_BALANCER:
        _default_ip_modes(service)


def _default_ip_modes(service: MutableObject) -> None:
    """LoadBalancerIPMode (on in v1.32): an ingress point with an IP and no ipMode is a VIP."""
    status = service.get("status")
    balancer = status.get("loadBalancer") if isinstance(status, dict) else None
    ingress = balancer.get("ingress") if isinstance(balancer, dict) else None
    for entry in ingress if isinstance(ingress, list) else []:
        if isinstance(entry, dict) and entry.get("ip") and entry.get("ipMode") is None:
            entry["ipMode"] = "VIP"


def normalize_cluster_ips(new: MutableObject, old: MutableObject | None) -> None:
    """Keep `clusterIP` and `clusterIPs` in step (upstream's normalizeClusterIPs)."""
    spec = spec_of(new)
    cluster_ip = spec.get("clusterIP") or ""
    if old is None:
        if cluster_ip and not cluster_ips(new):
            spec["clusterIPs"] = [cluster_ip]
        return
    old_spec = spec_of(old)
    old_cluster_ip = old_spec.get("clusterIP") or ""
    if cluster_ips(old) and not cluster_ips(new) and old_cluster_ip == cluster_ip:
        spec["clusterIPs"] = list(cluster_ips(old))
    if old_cluster_ip != cluster_ip:
        same = cluster_ips(old) == cluster_ips(new)
        if old_cluster_ip and not cluster_ip and same:
            spec.pop("clusterIPs", None)
        elif same:
            spec["clusterIPs"] = [cluster_ip]


def patch_allocated_values(new: MutableObject, old: MutableObject) -> None:
    """Values the server allocated survive an update that leaves them out (upstream's patchAllocatedValues)."""
    spec, old_spec = spec_of(new), spec_of(old)
    if needs_cluster_ip(old) and needs_cluster_ip(new):
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not cluster_ips(new) and cluster_ips(old):
            spec["clusterIPs"] = list(cluster_ips(old))
    if needs_node_port(old) and needs_node_port(new):
        used = {node_port(port) for port in ports_of(old_spec) if node_port(port)}
        used &= {node_port(port) for port in ports_of(spec) if node_port(port)}
        by_name = {str(port.get("name") or ""): node_port(port) for port in ports_of(old_spec)}
        for port in ports_of(spec):
            previous = by_name.get(str(port.get("name") or ""), 0)
            if not node_port(port) and previous and previous not in used:
                port["nodePort"] = previous
    if (needs_health_check_node_port(old) and needs_health_check_node_port(new)
            and not spec.get("healthCheckNodePort") and old_spec.get("healthCheckNodePort")):
        spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def _node_ports(service: MutableObject) -> list[int]:
    return [node_port(port) for port in ports_of(spec_of(service))]


def drop_type_dependent_fields(new: MutableObject, old: MutableObject) -> None:
    """Wipe what the new type does not use, when the client left it as it was (upstream's strategy)."""
    spec, old_spec = spec_of(new), spec_of(old)
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        if cluster_ips(old) == cluster_ips(new):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if old_spec.get("ipFamilies") == spec.get("ipFamilies"):
            spec.pop("ipFamilies", None)
        if old_spec.get("ipFamilyPolicy") == spec.get("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    if needs_node_port(old) and not needs_node_port(new) and _node_ports(old) == _node_ports(new):
        for port in ports_of(spec):
            port.pop("nodePort", None)
    if (needs_health_check_node_port(old) and not needs_health_check_node_port(new)
            and old_spec.get("healthCheckNodePort") == spec.get("healthCheckNodePort")):
        spec.pop("healthCheckNodePort", None)
    if service_type(old) == LOAD_BALANCER and service_type(new) != LOAD_BALANCER:
        previous, current = old_spec.get("allocateLoadBalancerNodePorts"), spec.get("allocateLoadBalancerNodePorts")
        if previous is not None and previous == current:
            spec.pop("allocateLoadBalancerNodePorts", None)
        if old_spec.get("loadBalancerClass") == spec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if (is_externally_accessible(old) and not is_externally_accessible(new)
            and old_spec.get("externalTrafficPolicy") == spec.get("externalTrafficPolicy")):
        spec.pop("externalTrafficPolicy", None)
    if service_type(new) != LOAD_BALANCER:
        status = new.get("status")
        if isinstance(status, dict):
            status["loadBalancer"] = {}
