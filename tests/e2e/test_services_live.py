"""Services on live servers (SQLite and etcd): cluster IPs from --service-cluster-ip-range kept across a
restart, no shared cluster IPs, node ports allocated and refused, and the bootstrap objects as kubectl shows
them (the `kubernetes` Service and Endpoints, the system PriorityClasses)."""
from __future__ import annotations

import ipaddress
import json
import re
import uuid

from kubernetes import client as k8s

from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")


def service(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], **spec}}


def error_of(call: object) -> dict[str, object]:
    try:
        call()  # type: ignore[operator]
    except k8s.ApiException as error:
        return dict(json.loads(error.body))
    raise AssertionError("the call succeeded")


def test_a_service_keeps_its_cluster_ip_across_a_restart(server: ServerProcess, api_client: k8s.ApiClient,
                                                         namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    created = core.create_namespaced_service(namespace, service("web"))
    cluster_ip = created.spec.cluster_ip
    assert ipaddress.ip_address(cluster_ip) in SERVICE_RANGE and cluster_ip != "10.96.0.1"
    assert created.spec.cluster_ips == [cluster_ip] and created.spec.ip_families == ["IPv4"]
    server.stop()
    server.start()
    assert core.read_namespaced_service("web", namespace).spec.cluster_ip == cluster_ip
    refused = error_of(lambda: core.create_namespaced_service(namespace, service("copy", clusterIP=cluster_ip)))
    assert refused["message"] == (
        f'Service "copy" is invalid: spec.clusterIPs: Invalid value: []string{{"{cluster_ip}"}}: failed to allocate '
        f"IP {cluster_ip}: provided IP is already allocated")


def test_two_services_cannot_share_a_cluster_ip(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    address = f"10.100.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 2}"
    assert core.create_namespaced_service(namespace, service("first", clusterIP=address)).spec.cluster_ip == address
    refused = error_of(lambda: core.create_namespaced_service(namespace, service("second", clusterIP=address)))
    assert (refused["code"], refused["reason"]) == (422, "Invalid")
    assert refused["details"]["causes"] == [{  # type: ignore[index]
        "reason": "FieldValueInvalid", "field": "spec.clusterIPs",
        "message": f'Invalid value: []string{{"{address}"}}: failed to allocate IP {address}: provided IP is already '
                   "allocated"}]
    core.delete_namespaced_service("first", namespace)
    assert core.create_namespaced_service(namespace, service("second", clusterIP=address)).spec.cluster_ip == address


def test_node_ports_are_allocated_and_refused(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    dynamic = core.create_namespaced_service(namespace, service("dynamic", type="NodePort"))
    node_port = dynamic.spec.ports[0].node_port
    assert 30000 <= node_port <= 32767 and dynamic.spec.external_traffic_policy == "Cluster"
    refused = error_of(lambda: core.create_namespaced_service(
        namespace, service("clash", type="NodePort", ports=[{"port": 80, "nodePort": node_port}])))
    assert refused["message"] == (
        f'Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: {node_port}: provided port is already '
        "allocated")
    outside = error_of(lambda: core.create_namespaced_service(
        namespace, service("outside", type="NodePort", ports=[{"port": 80, "nodePort": 8080}])))
    assert outside["message"] == (
        'Service "outside" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid '
        "range. The range of valid ports is 30000-32767")


def test_kubectl_shows_the_kubernetes_service_and_endpoints(server: ServerProcess, kubectl: Kubectl) -> None:
    table = kubectl.run("get", "svc", "kubernetes", "-n", "default")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert row.split()[:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    shown = json.loads(kubectl.run("get", "svc", "kubernetes", "-n", "default", "-o", "json").stdout)
    assert shown["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert shown["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": server.port}]
    endpoints = kubectl.run("get", "endpoints", "kubernetes", "-n", "default")
    assert endpoints.returncode == 0, endpoints.stderr
    header, row = endpoints.stdout.splitlines()
    assert header.split() == ["NAME", "ENDPOINTS", "AGE"]
    assert re.fullmatch(rf"kubernetes\s+[0-9a-f.:\[\]]+:{server.port}\s+\S+", row), row
    shown_slice = json.loads(kubectl.run("get", "endpointslice", "kubernetes", "-n", "default", "-o", "json").stdout)
    assert (shown_slice["addressType"], shown_slice["metadata"]["labels"]) == (
        "IPv4", {"kubernetes.io/service-name": "kubernetes"})
    assert shown_slice["ports"] == [{"name": "https", "port": server.port, "protocol": "TCP"}]


def test_kubectl_lists_the_system_priority_classes(kubectl: Kubectl) -> None:
    listed = kubectl.run("get", "priorityclasses")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert [(row[0], row[1], row[2], row[-1]) for row in rows[1:]] == [
        ("system-cluster-critical", "2000000000", "false", "PreemptLowerPriority"),
        ("system-node-critical", "2000001000", "false", "PreemptLowerPriority"),
    ]


def test_kubectl_create_service_allocates(kubectl: Kubectl, namespace: str) -> None:
    created = kubectl.run("create", "service", "nodeport", "web", "--tcp=80:8080", "-n", namespace, "-o", "json")
    assert created.returncode == 0, created.stderr
    spec = json.loads(created.stdout)["spec"]
    assert ipaddress.ip_address(spec["clusterIP"]) in SERVICE_RANGE
    assert spec["ports"][0]["targetPort"] == 8080 and 30000 <= spec["ports"][0]["nodePort"] <= 32767
    table = kubectl.run("get", "svc", "web", "-n", namespace)
    assert table.stdout.splitlines()[1].split()[:5] == [
        "web", "NodePort", spec["clusterIP"], "<none>", f"80:{spec['ports'][0]['nodePort']}/TCP"]


def test_endpoints_and_slices_are_validated_and_the_status_too(api_client: k8s.ApiClient, namespace: str) -> None:
    core, discovery = k8s.CoreV1Api(api_client), k8s.DiscoveryV1Api(api_client)
    loopback = {"metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                                                          "ports": [{"port": 80}]}]}
    status = error_of(lambda: core.create_namespaced_endpoints(namespace, loopback))
    assert (status["code"], status["message"]) == (
        422, 'Endpoints "web" is invalid: subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the '
             'loopback range (127.0.0.0/8, ::1/128)')
    loopback["subsets"][0]["addresses"][0]["ip"] = "10.1.2.3"  # type: ignore[index]
    created = core.create_namespaced_endpoints(namespace, loopback)
    assert created.subsets[0].ports[0].protocol == "TCP"
    bad_slice = {"metadata": {"name": "web-1"}, "addressType": "IPv6", "endpoints": [{"addresses": ["10.1.2.3"]}]}
    status = error_of(lambda: discovery.create_namespaced_endpoint_slice(namespace, bad_slice))
    assert status["message"] == ('EndpointSlice.discovery.k8s.io "web-1" is invalid: endpoints[0].addresses[0]: '
                                 'Invalid value: "10.1.2.3": must be a valid IPv6 address')
    core.create_namespaced_service(namespace, service("lb", type="LoadBalancer"))
    body = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "192.0.2.2"}]}}}
    status = error_of(lambda: core.patch_namespaced_service_status("lb", namespace, body))
    assert status["message"] == ('Service "lb" is invalid: status.loadBalancer.ingress[1].hostname: Invalid value: '
                                 '"192.0.2.2": must be a DNS name, not an IP address')
    body["status"]["loadBalancer"]["ingress"].pop()  # type: ignore[index]
    patched = core.patch_namespaced_service_status("lb", namespace, body)
    assert patched.status.load_balancer.ingress[0].ip_mode == "VIP"
