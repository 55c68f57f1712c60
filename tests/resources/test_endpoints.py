"""Endpoints and EndpointSlices through the resource endpoints: upstream v1.32 defaults and validation messages."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.registry.context import RequestContext
from apiserver.resources.core.endpoints_validation import SERVER_WRITER
from tests.resources.test_pods import DUP, INV, LABEL_RULE, NSUP, REQ, SUBDOMAIN_RULE, invalid
from tests.support.resource_app import ResourceApp, resource_app

ENDPOINTS = "/api/v1/namespaces/default/endpoints"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
TOO_MANY = "FieldValueTooMany"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def endpoints(name: str = "web", subsets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name}}
    if subsets is not None:
        body["subsets"] = subsets
    return body


def endpoint_slice(name: str = "web-abc", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": name},
            "addressType": "IPv4", **fields}


async def test_endpoints_port_protocol_defaults_to_tcp(api: ResourceApp) -> None:
    subsets = [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}, {"name": "b", "port": 81}]}]
    subsets[0]["ports"][0]["name"] = "a"
    created = await api.request("POST", ENDPOINTS + "?fieldManager=creator", endpoints(subsets=subsets))
    assert created.status == 201, created.json()
    ports = created.json()["subsets"][0]["ports"]
    assert [port["protocol"] for port in ports] == ["TCP", "TCP"]
    managed = created.json()["metadata"]["managedFields"][0]["fieldsV1"]
    assert managed["f:subsets"] == {}  # an atomic list: the creator owns all of it


ENDPOINTS_CASES: list[tuple[str, list[dict[str, Any]], list[tuple[str, str, str]]]] = [
    ("no-addresses", [{"ports": [{"port": 80}]}],
     [(REQ, "subsets[0]", "Required value: must specify `addresses` or `notReadyAddresses`")]),
    ("loopback", [{"addresses": [{"ip": "127.0.0.1"}]}],
     [(INV, "subsets[0].addresses[0].ip",
       'Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)')]),
    ("link-local-v6-not-ready", [{"notReadyAddresses": [{"ip": "fe80::1"}]}],
     [(INV, "subsets[0].notReadyAddresses[0].ip",
       'Invalid value: "fe80::1": may not be in the link-local range (169.254.0.0/16, fe80::/10)')]),
    ("unspecified-and-multicast", [{"addresses": [{"ip": "0.0.0.0"}, {"ip": "224.0.0.5"}]}],
     [(INV, "subsets[0].addresses[0].ip", 'Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)'),
      (INV, "subsets[0].addresses[1].ip",
       'Invalid value: "224.0.0.5": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')]),
    ("not-an-ip", [{"addresses": [{"ip": "10.1.2"}]}],
     [(INV, "subsets[0].addresses[0].ip",
       'Invalid value: "10.1.2": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
      (INV, "subsets[0].addresses[0].ip", 'Invalid value: "10.1.2": must be a valid IP address')]),
    ("hostname-and-node", [{"addresses": [{"ip": "10.1.2.3", "hostname": "A", "nodeName": "Node_1"}]}],
     [(INV, "subsets[0].addresses[0].hostname", f'Invalid value: "A": {LABEL_RULE}'),
      (INV, "subsets[0].addresses[0].nodeName", f'Invalid value: "Node_1": {SUBDOMAIN_RULE}')]),
    ("ports", [{"addresses": [{"ip": "10.1.2.3"}],
                "ports": [{"port": 0, "protocol": "ICMP"}, {"name": "b", "port": 70000, "appProtocol": "a/b/c"}]}],
     [(REQ, "subsets[0].ports[0].name", "Required value"),
      (INV, "subsets[0].ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
      (NSUP, "subsets[0].ports[0].protocol",
       'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
      (INV, "subsets[0].ports[1].port", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
      (INV, "subsets[0].ports[1].appProtocol",
       "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
       "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
       "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
       "and '/' (e.g. 'example.com/MyName')")]),
]


@pytest.mark.parametrize(("name", "subsets", "expected"), ENDPOINTS_CASES, ids=[case[0] for case in ENDPOINTS_CASES])
async def test_invalid_endpoints_are_refused(api: ResourceApp, name: str, subsets: list[dict[str, Any]],
                                             expected: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", ENDPOINTS, endpoints(name, subsets))
    assert answer.status == 422
    assert answer.json() == invalid(name, expected, kind="Endpoints")
    assert (await api.request("GET", f"{ENDPOINTS}/{name}")).status == 404


async def test_endpoints_update_is_validated_and_changes_nothing(api: ResourceApp) -> None:
    created = await api.request("POST", ENDPOINTS, endpoints(subsets=[{"addresses": [{"ip": "10.1.2.3"}]}]))
    assert created.status == 201, created.json()
    body = created.json()
    body["subsets"][0]["addresses"][0]["ip"] = "::1"
    answer = await api.request("PUT", f"{ENDPOINTS}/web", body)
    assert answer.json() == invalid("web", [(INV, "subsets[0].addresses[0].ip",
                                             'Invalid value: "::1": may not be in the loopback range '
                                             '(127.0.0.0/8, ::1/128)')], kind="Endpoints")
    stored = (await api.request("GET", f"{ENDPOINTS}/web")).json()
    assert stored["subsets"][0]["addresses"][0]["ip"] == "10.1.2.3"
    # Create on update, as upstream's endpoints strategy allows.
    made = await api.request("PUT", f"{ENDPOINTS}/other", endpoints("other", [{"addresses": [{"ip": "10.0.0.9"}]}]))
    assert made.status == 201, made.json()


async def test_the_server_reconciler_may_publish_a_loopback_address(api: ResourceApp) -> None:
    store = api.registry.store_for("", "v1", "endpoints")
    body = endpoints("kubernetes", [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 6443}]}])
    stored = await store.create("default", body, RequestContext(namespace="default", user=SERVER_WRITER))
    assert stored.obj["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]
    assert stored.obj["subsets"][0]["ports"][0]["protocol"] == "TCP"


# --- EndpointSlices --------------------------------------------------------------------------------------------

async def test_slice_ports_default_name_and_protocol_and_topology_is_dropped(api: ResourceApp) -> None:
    body = endpoint_slice(endpoints=[{"addresses": ["10.1.2.3"], "deprecatedTopology": {"zone": "a"}}],
                          ports=[{"port": 80}])
    created = await api.request("POST", SLICES, body)
    assert created.status == 201, created.json()
    obj = created.json()
    assert obj["ports"] == [{"name": "", "protocol": "TCP", "port": 80}]
    assert obj["endpoints"] == [{"addresses": ["10.1.2.3"]}]
    assert obj["metadata"]["generation"] == 1


SLICE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("no-type", {"addressType": ""}, [(REQ, "addressType", "Required value")]),
    ("bad-type", {"addressType": "IP"},
     [(NSUP, "addressType", 'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"')]),
    ("no-addresses", {"endpoints": [{"addresses": []}]},
     [(REQ, "endpoints[0].addresses", "Required value: must contain at least 1 address")]),
    ("wrong-family", {"endpoints": [{"addresses": ["fd00::1", "127.0.0.2"]}]},
     [(INV, "endpoints[0].addresses[0]", 'Invalid value: "fd00::1": must be a valid IPv4 address'),
      (INV, "endpoints[0].addresses[1]",
       'Invalid value: "127.0.0.2": may not be in the loopback range (127.0.0.0/8, ::1/128)')]),
    ("v6-slice", {"addressType": "IPv6", "endpoints": [{"addresses": ["10.0.0.1"]}]},
     [(INV, "endpoints[0].addresses[0]", 'Invalid value: "10.0.0.1": must be a valid IPv6 address')]),
    ("fqdn", {"addressType": "FQDN", "endpoints": [{"addresses": ["example"]}, {"addresses": ["Ex.com"]}]},
     [(INV, "endpoints[0].addresses[0]",
       'Invalid value: "example": should be a domain with at least two segments separated by dots'),
      (INV, "endpoints[1].addresses[0]", f'Invalid value: "Ex.com": {SUBDOMAIN_RULE}')]),
    ("endpoint-fields", {"endpoints": [{"addresses": ["10.1.1.1"], "nodeName": "N", "hostname": "a.b",
                                        "hints": {"forZones": [{"name": "z"}, {"name": "z"}]}}]},
     [(INV, "endpoints[0].nodeName", f'Invalid value: "N": {SUBDOMAIN_RULE}'),
      (INV, "endpoints[0].hostname", 'Invalid value: "a.b": must not contain dots'),
      (DUP, "endpoints[0].hints.forZones[1].name", 'Duplicate value: "z"')]),
    ("too-many-hints", {"endpoints": [{"addresses": ["10.1.1.1"],
                                       "hints": {"forZones": [{"name": f"z{i}"} for i in range(9)]}}]},
     [(TOO_MANY, "endpoints[0].hints.forZones", "Too many: 9: must have at most 8 items")]),
    ("ports", {"ports": [{"name": "http", "protocol": "ICMP"}, {"name": "http"}, {"name": "-x", "protocol": ""}]},
     [(NSUP, "ports[0].protocol", 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
      (DUP, "ports[1].name", 'Duplicate value: "http"'),
      (INV, "ports[2].name", f'Invalid value: "-x": {LABEL_RULE}'),
      (NSUP, "ports[2].protocol", 'Unsupported value: "": supported values: "SCTP", "TCP", "UDP"')]),
    ("too-many-endpoints", {"endpoints": [{"addresses": ["10.1.1.1"]}] * 1001},
     [(TOO_MANY, "endpoints", "Too many: 1001: must have at most 1000 items")]),
]


@pytest.mark.parametrize(("name", "fields", "expected"), SLICE_CASES, ids=[case[0] for case in SLICE_CASES])
async def test_invalid_endpoint_slices_are_refused(api: ResourceApp, name: str, fields: dict[str, Any],
                                                   expected: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", SLICES, endpoint_slice(name, **fields))
    assert answer.status == 422
    assert answer.json() == invalid(name, expected, kind="EndpointSlice.discovery.k8s.io") | {
        "details": {"name": name, "group": "discovery.k8s.io", "kind": "EndpointSlice",
                    "causes": invalid(name, expected)["details"]["causes"]}}
    assert (await api.request("GET", f"{SLICES}/{name}")).status == 404


async def test_slice_address_type_is_immutable_and_updates_bump_generation(api: ResourceApp) -> None:
    created = await api.request("POST", SLICES, endpoint_slice(endpoints=[{"addresses": ["10.1.2.3"]}]))
    body = created.json()
    body["endpoints"][0]["addresses"] = ["10.1.2.4"]
    updated = await api.request("PUT", f"{SLICES}/web-abc", body)
    assert updated.status == 200, updated.json()
    assert updated.json()["metadata"]["generation"] == 2
    changed = updated.json() | {"addressType": "FQDN", "endpoints": [{"addresses": ["a.example.com"]}]}
    answer = await api.request("PUT", f"{SLICES}/web-abc", changed)
    assert answer.status == 422
    assert answer.json()["message"] == ('EndpointSlice.discovery.k8s.io "web-abc" is invalid: addressType: '
                                        'Invalid value: "FQDN": field is immutable')
    stored = (await api.request("GET", f"{SLICES}/web-abc")).json()
    assert (stored["addressType"], stored["metadata"]["generation"]) == ("IPv4", 2)
