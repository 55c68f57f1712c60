"""Services through the resource endpoints on an in-memory registry that allocates: defaults, validation with
upstream's exact messages, cluster IP and node port allocation, release and dry runs."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio

from apiserver.admission.chain import build_admission_chain
from apiserver.endpoints.resources import ResourceEndpoints, ResourceServer
from apiserver.registry.allocators.portallocator import PortRange
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.resources.core.service_store import ServiceRegistry
from apiserver.resources.core.service_update_validation import validate_upgrade_downgrade_ip_families
from apiserver.server.assembly import AdmissionContext
from apiserver.server.bootstrap import SystemNamespacesHook
from apiserver.server.bootstrap_services import ServiceRanges, ServiceRepairHook
from apiserver.storage.memory.backend import MemoryStorage
from tests.support.resource_app import Answer, ResourceApp, fixed_clock

BASE = "/api/v1/namespaces/default/services"


async def _allow(user: object, spec: Any) -> dict[str, Any]:
    return {"allowed": True}


@pytest_asyncio.fixture
async def app() -> AsyncIterator[ResourceApp]:
    """The endpoints over a registry whose services allocate from 10.0.0.0/24 and ports 30000-30099."""
    async with allocating_app("10.0.0.0/24") as started:
        yield started


@asynccontextmanager
async def allocating_app(cluster_ip_range: str) -> AsyncIterator[ResourceApp]:
    storage = MemoryStorage()
    ranges = ServiceRanges(cluster_ip_range, PortRange(30000, 100))
    registry = ServiceRegistry(ResourceCatalog(builtin_specs()), storage, clock=fixed_clock,
                               allocators=ranges.allocators(storage, "/registry"))
    await registry.start()
    repair = ServiceRepairHook(lambda: registry)
    try:
        await registry.wait_ready(10)
        await SystemNamespacesHook(lambda: registry).start(storage)
        await repair.start(storage)
        admission = build_admission_chain((), AdmissionContext(lambda: registry, registry.is_ready, _allow))
        server = ResourceServer(catalog=registry_catalog(), registry=lambda: registry, admission=admission,
                                clock=fixed_clock, stopping=asyncio.Event())
        yield ResourceApp(ResourceEndpoints(server), registry, storage)
    finally:
        await repair.stop()
        await registry.stop()
        await storage.close()


def registry_catalog() -> ResourceCatalog:
    return ResourceCatalog(builtin_specs())


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], **spec}}


def causes(answer: Answer) -> list[tuple[str, str, str]]:
    return [(cause["reason"], cause["field"], cause["message"]) for cause in answer.json()["details"]["causes"]]


async def create(app: ResourceApp, body: dict[str, Any], query: str = "") -> Answer:
    return await app.request("POST", BASE + query, body)


# --- defaults -------------------------------------------------------------------------------------------------

async def test_a_new_service_gets_defaults_and_a_cluster_ip(app: ResourceApp) -> None:
    answer = await create(app, service("web", selector={"app": "web"}))
    assert answer.status == 201, answer.body
    created = answer.json()
    spec = created["spec"]
    assert list(spec) == ["ports", "selector", "clusterIP", "clusterIPs", "type", "sessionAffinity", "ipFamilies",
                          "ipFamilyPolicy", "internalTrafficPolicy"]
    assert spec["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    assert (spec["type"], spec["sessionAffinity"], spec["ipFamilies"], spec["ipFamilyPolicy"],
            spec["internalTrafficPolicy"]) == ("ClusterIP", "None", ["IPv4"], "SingleStack", "Cluster")
    assert spec["clusterIPs"] == [spec["clusterIP"]] and spec["clusterIP"].startswith("10.0.0.")
    assert created["status"] == {"loadBalancer": {}}


async def test_load_balancer_defaults(app: ResourceApp) -> None:
    answer = await create(app, service("lb", type="LoadBalancer"))
    spec = answer.json()["spec"]
    assert (spec["externalTrafficPolicy"], spec["allocateLoadBalancerNodePorts"]) == ("Cluster", True)
    assert 30000 <= spec["ports"][0]["nodePort"] < 30100


async def test_client_ip_affinity_gets_the_default_timeout(app: ResourceApp) -> None:
    answer = await create(app, service("sticky", sessionAffinity="ClientIP"))
    assert answer.json()["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


# --- validation -----------------------------------------------------------------------------------------------

INVALID = [
    ("no-ports", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {}},
     [("FieldValueRequired", "spec.ports", "Required value")]),
    ("port-range", service("x", ports=[{"port": 70000}]),
     [("FieldValueInvalid", "spec.ports[0].port", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
      ("FieldValueInvalid", "spec.ports[0].targetPort",
       "Invalid value: 70000: must be between 1 and 65535, inclusive")]),
    ("unnamed-ports", service("x", ports=[{"port": 80}, {"port": 81, "name": "b"}]),
     [("FieldValueRequired", "spec.ports[0].name", "Required value")]),
    ("duplicate-names", service("x", ports=[{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]),
     [("FieldValueDuplicate", "spec.ports[1].name", 'Duplicate value: "a"')]),
    ("bad-type", service("x", type="Bogus"),
     [("FieldValueNotSupported", "spec.type", 'Unsupported value: "Bogus": supported values: "ClusterIP", '
                                              '"ExternalName", "LoadBalancer", "NodePort"')]),
    ("node-port-on-cluster-ip", service("x", ports=[{"port": 80, "nodePort": 30001}]),
     [("FieldValueForbidden", "spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")]),
    ("external-name-missing", service("x", type="ExternalName"),
     [("FieldValueRequired", "spec.externalName", "Required value")]),
    ("external-name-with-ip", service("x", type="ExternalName", externalName="example.com", clusterIP="10.0.0.9"),
     [("FieldValueForbidden", "spec.clusterIPs", "Forbidden: may not be set for ExternalName services")]),
    ("bad-selector", service("x", selector={"app": "-bad-"}),
     [("FieldValueInvalid", "spec.selector", 'Invalid value: "-bad-": a valid label must be an empty string or '
       "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
       "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
       "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")]),
    ("bad-affinity", service("x", sessionAffinity="Sticky"),
     [("FieldValueNotSupported", "spec.sessionAffinity", 'Unsupported value: "Sticky": supported values: '
                                                         '"ClientIP", "None"')]),
    ("affinity-timeout", service("x", sessionAffinity="ClientIP",
                                 sessionAffinityConfig={"clientIP": {"timeoutSeconds": 90000}}),
     [("FieldValueInvalid", "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
       "Invalid value: 90000: must be greater than 0 and less than 86400")]),
    ("bad-cluster-ip", service("x", clusterIP="nonsense"),
     [("FieldValueInvalid", "spec.clusterIPs[0]", 'Invalid value: "nonsense": must be a valid IP address, (e.g. '
                                                  '10.9.8.7 or 2001:db8::ffff)')]),
    ("dual-stack-not-configured", service("x", ipFamilyPolicy="RequireDualStack"),
     [("FieldValueInvalid", "spec.ipFamilyPolicy", 'Invalid value: "RequireDualStack": this cluster is not '
                                                   "configured for dual-stack services")]),
]


@pytest.mark.parametrize(("body", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
async def test_invalid_services_are_refused_with_upstream_causes(app: ResourceApp, body: dict[str, Any],
                                                                 expected: list[tuple[str, str, str]]) -> None:
    answer = await create(app, body)
    assert (answer.status, answer.json()["reason"]) == (422, "Invalid"), answer.body
    assert causes(answer) == expected
    fields = ", ".join(f"{field}: {message}" for _, field, message in expected)
    assert answer.json()["message"] == f'Service "x" is invalid: {fields if len(expected) == 1 else f"[{fields}]"}'
    assert await app.stored_keys("/registry/services/specs/default/x") == []
    assert [await app.registry.service_allocators.primary.has(f"10.0.0.{host}")  # type: ignore[attr-defined]
            for host in range(1, 255)].count(True) == 0


# --- allocation -----------------------------------------------------------------------------------------------

async def test_an_explicit_cluster_ip_is_honoured_and_cannot_be_shared(app: ResourceApp) -> None:
    assert (await create(app, service("a", clusterIP="10.0.0.10"))).json()["spec"]["clusterIPs"] == ["10.0.0.10"]
    answer = await create(app, service("b", clusterIP="10.0.0.10"))
    assert (answer.status, answer.json()["message"]) == (
        422, 'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.10"}: failed to allocate IP '
             "10.0.0.10: provided IP is already allocated")
    assert causes(answer) == [("FieldValueInvalid", "spec.clusterIPs", 'Invalid value: []string{"10.0.0.10"}: failed '
                               "to allocate IP 10.0.0.10: provided IP is already allocated")]


async def test_a_cluster_ip_outside_the_range_is_refused(app: ResourceApp) -> None:
    answer = await create(app, service("a", clusterIP="10.1.0.10"))
    assert answer.json()["message"] == (
        'Service "a" is invalid: spec.clusterIPs: Invalid value: []string{"10.1.0.10"}: failed to allocate IP '
        "10.1.0.10: the provided IP (10.1.0.10) is not in the valid range. The range of valid IPs is 10.0.0.0/24")


async def test_the_cluster_ip_is_immutable(app: ResourceApp) -> None:
    created = (await create(app, service("a", clusterIP="10.0.0.10"))).json()
    created["spec"]["clusterIP"] = "10.0.0.11"
    created["spec"]["clusterIPs"] = ["10.0.0.11"]
    answer = await app.request("PUT", f"{BASE}/a", created)
    assert (answer.status, answer.json()["message"]) == (
        422,
        'Service "a" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.0.0.11"}: may not change once set')
    assert not await app.registry.service_allocators.primary.has("10.0.0.11")  # type: ignore[attr-defined]


async def test_node_ports_are_allocated_refused_and_released(app: ResourceApp) -> None:
    first = await create(app, service("np", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert first.json()["spec"]["ports"][0]["nodePort"] == 30080
    taken = await create(app, service("np2", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert (taken.status, taken.json()["message"]) == (
        422, 'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already '
             "allocated")
    outside = await create(app, service("np3", type="NodePort", ports=[{"port": 80, "nodePort": 80}]))
    assert outside.json()["message"] == (
        'Service "np3" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid '
        "range. The range of valid ports is 30000-30099")
    ports = app.registry.service_allocators.node_ports  # type: ignore[attr-defined]
    assert await ports.has(30080)
    await app.request("DELETE", f"{BASE}/np")
    assert not await ports.has(30080)


async def test_tcp_and_udp_on_one_port_share_a_node_port(app: ResourceApp) -> None:
    answer = await create(app, service("dns", type="NodePort", ports=[
        {"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]))
    ports = answer.json()["spec"]["ports"]
    assert ports[0]["nodePort"] == ports[1]["nodePort"]


async def test_changing_type_releases_node_ports_and_cluster_ips(app: ResourceApp) -> None:
    created = (await create(app, service("t", type="NodePort", clusterIP="10.0.0.30"))).json()
    node_port = created["spec"]["ports"][0]["nodePort"]
    allocators = app.registry.service_allocators  # type: ignore[attr-defined]
    created["spec"]["type"] = "ClusterIP"
    updated = (await app.request("PUT", f"{BASE}/t", created)).json()
    assert "nodePort" not in updated["spec"]["ports"][0] and "externalTrafficPolicy" not in updated["spec"]
    assert not await allocators.node_ports.has(node_port)
    updated["spec"].update(type="ExternalName", externalName="example.com")
    external = await app.request("PUT", f"{BASE}/t", updated)
    assert external.status == 200, external.body
    assert "clusterIP" not in external.json()["spec"] and "ipFamilies" not in external.json()["spec"]
    assert not await allocators.primary.has("10.0.0.30")


async def test_resubmitting_a_manifest_keeps_the_allocated_values(app: ResourceApp) -> None:
    created = (await create(app, service("keep", type="NodePort"))).json()
    body = service("keep", type="NodePort")
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    updated = (await app.request("PUT", f"{BASE}/keep", body)).json()
    assert updated["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    assert updated["spec"]["ports"][0]["nodePort"] == created["spec"]["ports"][0]["nodePort"]


async def test_delete_releases_the_cluster_ip(app: ResourceApp) -> None:
    await create(app, service("gone", clusterIP="10.0.0.40"))
    assert (await app.request("DELETE", f"{BASE}/gone")).status == 200
    assert (await create(app, service("again", clusterIP="10.0.0.40"))).status == 201


async def test_dry_run_allocates_nothing(app: ResourceApp) -> None:
    answer = await create(app, service("dry", type="NodePort", clusterIP="10.0.0.50"), "?dryRun=All")
    assert answer.status == 201
    allocators = app.registry.service_allocators  # type: ignore[attr-defined]
    assert not await allocators.primary.has("10.0.0.50")
    assert answer.json()["spec"]["ports"][0]["nodePort"] == 32769  # upstream's placeholder
    assert (await create(app, service("real", clusterIP="10.0.0.50"))).status == 201


async def test_a_refused_create_gives_back_what_it_took(app: ResourceApp) -> None:
    body = service("bad", type="NodePort", clusterIP="10.0.0.60", ports=[{"port": 80, "nodePort": 30090}],
                   selector={"app": "-bad-"})
    assert (await create(app, body)).status == 422
    allocators = app.registry.service_allocators  # type: ignore[attr-defined]
    assert not await allocators.primary.has("10.0.0.60") and not await allocators.node_ports.has(30090)


async def test_an_exhausted_range_is_an_internal_error(app: ResourceApp) -> None:
    allocators = app.registry.service_allocators  # type: ignore[attr-defined]
    while True:
        try:
            await allocators.primary.allocate_next()
        except Exception:
            break
    answer = await create(app, service("full"))
    assert (answer.status, answer.json()["reason"], answer.json()["message"]) == (
        500, "InternalError", "Internal error occurred: failed to allocate a serviceIP: range is full")


async def test_headless_services_get_no_cluster_ip_but_a_family(app: ResourceApp) -> None:
    spec = (await create(app, service("headless", clusterIP="None", selector={"app": "x"}))).json()["spec"]
    assert (spec["clusterIPs"], spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["None"], ["IPv4"], "SingleStack")


async def test_dual_stack_services_get_one_address_per_family() -> None:
    async with allocating_app("10.0.0.0/24,fd00::/112") as app:
        prefer = (await create(app, service("both", ipFamilyPolicy="PreferDualStack"))).json()["spec"]
        assert prefer["ipFamilies"] == ["IPv4", "IPv6"]
        assert prefer["clusterIP"] == prefer["clusterIPs"][0] and prefer["clusterIPs"][1].startswith("fd00::")
        single = (await create(app, service("six", ipFamilies=["IPv6"]))).json()["spec"]
        assert (single["ipFamilyPolicy"], single["ipFamilies"], len(single["clusterIPs"])) == (
            "SingleStack", ["IPv6"], 1)
        assert ":" in single["clusterIP"]
        explicit = await create(app, service("pair", ipFamilyPolicy="RequireDualStack",
                                             clusterIP="10.0.0.7", clusterIPs=["10.0.0.7", "fd00::7"]))
        assert explicit.json()["spec"]["clusterIPs"] == ["10.0.0.7", "fd00::7"], explicit.body


# --- loadBalancerClass, trafficDistribution, dual-stack downgrades, status ---------------------------------------

LB_CLASS_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("class-on-cluster-ip", {"loadBalancerClass": "example.com/lb"},
     [("FieldValueForbidden", "spec.loadBalancerClass",
       "Forbidden: may only be used when `type` is 'LoadBalancer'")]),
    ("class-format", {"type": "LoadBalancer", "loadBalancerClass": "a/b/c"},
     [("FieldValueInvalid", "spec.loadBalancerClass",
       "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
       "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
       "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and "
       "'/' (e.g. 'example.com/MyName')")]),
    ("traffic-distribution", {"trafficDistribution": "Anywhere"},
     [("FieldValueNotSupported", "spec.trafficDistribution",
       'Unsupported value: "Anywhere": supported values: "PreferClose"')]),
]


@pytest.mark.parametrize(("name", "spec", "expected"), LB_CLASS_CASES, ids=[case[0] for case in LB_CLASS_CASES])
async def test_load_balancer_class_and_traffic_distribution(app: ResourceApp, name: str, spec: dict[str, Any],
                                                            expected: list[tuple[str, str, str]]) -> None:
    answer = await create(app, service(name, **spec))
    assert answer.status == 422
    assert causes(answer) == expected
    assert (await app.request("GET", f"{BASE}/{name}")).status == 404


async def test_prefer_close_and_a_load_balancer_class_are_kept_and_the_class_is_fixed(app: ResourceApp) -> None:
    created = await create(app, service("lb", type="LoadBalancer", loadBalancerClass="example.com/lb",
                                        trafficDistribution="PreferClose"))
    assert created.status == 201, created.json()
    body = created.json()
    body["spec"]["loadBalancerClass"] = "example.com/other"
    answer = await app.request("PUT", f"{BASE}/lb", body)
    assert answer.json()["message"] == ('Service "lb" is invalid: spec.loadBalancerClass: Invalid value: '
                                        '"example.com/other": may not change once set')
    stored = (await app.request("GET", f"{BASE}/lb")).json()
    assert stored["spec"]["loadBalancerClass"] == "example.com/lb"


async def test_releasing_the_secondary_family_requires_single_stack() -> None:
    async with allocating_app("10.0.0.0/24,fd00::/112") as app:
        both = (await create(app, service("both", ipFamilyPolicy="PreferDualStack"))).json()
        body = {**both, "spec": {**both["spec"], "clusterIPs": both["spec"]["clusterIPs"][:1],
                                 "ipFamilies": ["IPv4"]}}
        answer = await app.request("PUT", f"{BASE}/both", body)
        assert answer.status == 422
        # PreferDualStack puts the second family back before validation (upstream's allocator does too), so
        # only the clusterIPs rule speaks.
        assert causes(answer) == [
            ("FieldValueInvalid", "spec.ipFamilyPolicy", 'Invalid value: "PreferDualStack": must be set to '
                                                         "'SingleStack' when releasing the secondary clusterIP"),
        ]
        assert (await app.request("GET", f"{BASE}/both")).json()["spec"]["clusterIPs"] == both["spec"]["clusterIPs"]
        body["spec"]["ipFamilyPolicy"] = "SingleStack"
        downgraded = await app.request("PUT", f"{BASE}/both", body)
        assert downgraded.status == 200, downgraded.json()
        assert (downgraded.json()["spec"]["clusterIPs"], downgraded.json()["spec"]["ipFamilies"]) == (
            both["spec"]["clusterIPs"][:1], ["IPv4"])


STATUS_CASES: list[tuple[str, str, list[dict[str, Any]], list[tuple[str, str, str]]]] = [
    ("not-a-balancer", "ClusterIP", [{"ip": "192.0.2.1"}],
     [("FieldValueForbidden", "status.loadBalancer.ingress",
       "Forbidden: may only be used when `spec.type` is 'LoadBalancer'")]),
    ("bad-entries", "LoadBalancer", [{"ip": "300.1.1.1"}, {"hostname": "192.0.2.7"}, {"hostname": "lb.example.com",
                                                                                       "ipMode": "VIP"},
                                     {"ip": "192.0.2.8", "ipMode": "Direct"}],
     [("FieldValueInvalid", "status.loadBalancer.ingress[0].ip",
       'Invalid value: "300.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
      ("FieldValueInvalid", "status.loadBalancer.ingress[1].hostname",
       'Invalid value: "192.0.2.7": must be a DNS name, not an IP address'),
      ("FieldValueForbidden", "status.loadBalancer.ingress[2].ipMode",
       "Forbidden: may not be specified when `ip` is not set"),
      ("FieldValueNotSupported", "status.loadBalancer.ingress[3].ipMode",
       'Unsupported value: "Direct": supported values: "Proxy", "VIP"')]),
]


@pytest.mark.parametrize(("name", "kind", "ingress", "expected"), STATUS_CASES,
                         ids=[case[0] for case in STATUS_CASES])
async def test_status_writes_validate_the_load_balancer_status(app: ResourceApp, name: str, kind: str,
                                                               ingress: list[dict[str, Any]],
                                                               expected: list[tuple[str, str, str]]) -> None:
    created = (await create(app, service(name, type=kind))).json()
    answer = await app.request("PUT", f"{BASE}/{name}/status", {**created, "status": {"loadBalancer": {
        "ingress": ingress}}})
    assert answer.status == 422
    assert causes(answer) == expected
    assert (await app.request("GET", f"{BASE}/{name}")).json()["status"] == {"loadBalancer": {}}


async def test_a_load_balancer_ip_gets_the_vip_mode(app: ResourceApp) -> None:
    created = (await create(app, service("lb", type="LoadBalancer"))).json()
    answer = await app.request("PUT", f"{BASE}/lb/status", {**created, "status": {"loadBalancer": {
        "ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example.com"}]}}})
    assert answer.status == 200, answer.json()
    assert answer.json()["status"]["loadBalancer"]["ingress"] == [
        {"ip": "192.0.2.1", "ipMode": "VIP"}, {"hostname": "lb.example.com"}]


def test_the_ip_family_downgrade_rules_have_upstreams_messages() -> None:
    old = service("s", clusterIP="10.0.0.1", clusterIPs=["10.0.0.1", "fd00::1"], ipFamilies=["IPv4", "IPv6"])
    new = service("s", clusterIP="10.0.0.1", clusterIPs=["10.0.0.1"], ipFamilies=["IPv4"],
                  ipFamilyPolicy="RequireDualStack")
    errors = validate_upgrade_downgrade_ip_families(old, new)
    assert [(error.field, error.detail) for error in errors] == [
        ("spec.ipFamilyPolicy", "must be set to 'SingleStack' when releasing the secondary ipFamily")]
    swapped = service("s", clusterIP="10.0.0.1", clusterIPs=["10.0.0.1"], ipFamilies=["IPv6"],
                      ipFamilyPolicy="SingleStack")
    errors = validate_upgrade_downgrade_ip_families(old, swapped)
    assert [(error.field, error.bad_value, error.detail) for error in errors] == [
        ("spec.ipFamilies[0]", ["10.0.0.1"], "may not change once set")]
