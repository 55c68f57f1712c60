"""The Available condition's checks of a remote APIService, with kube-aggregator's reasons and messages, and
SetAPIServiceCondition's rules for lastTransitionTime."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.aggregation.apiservices import RemoteAPIService, remote_api_service
from apiserver.aggregation.availability import Verdict, service_verdict
from apiserver.controllers.apiservice_availability import available_condition

REMOTE = remote_api_service({
    "metadata": {"name": "v1alpha1.wardle.example.com"},
    "spec": {"group": "wardle.example.com", "version": "v1alpha1", "groupPriorityMinimum": 1000,
             "versionPriority": 15, "service": {"namespace": "wardle", "name": "api", "port": 8443}},
})
SERVICE = {"spec": {"type": "ClusterIP", "ports": [{"name": "https", "port": 8443}]}}
READY = {"subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"name": "https", "port": 443}]}]}


@pytest.mark.parametrize(("service", "endpoints", "expected"), [
    (None, None, Verdict("False", "ServiceNotFound", 'service/api in "wardle" is not present')),
    ({"spec": {"ports": [{"port": 443}]}}, READY,
     Verdict("False", "ServicePortError", 'service/api in "wardle" is not listening on port 8443')),
    (SERVICE, None, Verdict("False", "EndpointsNotFound", 'cannot find endpoints for service/api in "wardle"')),
    (SERVICE, {"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.5"}], "ports": [{"name": "https", "port": 443}]}]},
     Verdict("False", "MissingEndpoints",
             'endpoints for service/api in "wardle" have no addresses with port name "https"')),
    (SERVICE, {"subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"name": "http", "port": 80}]}]},
     Verdict("False", "MissingEndpoints",
             'endpoints for service/api in "wardle" have no addresses with port name "https"')),
    (SERVICE, READY, None),
    ({"spec": {"type": "ExternalName", "externalName": "api.example.com"}}, None, None),
], ids=["no-service", "wrong-port", "no-endpoints", "not-ready", "other-port-name", "passes", "not-cluster-ip"])
def test_service_checks(service: dict[str, Any] | None, endpoints: dict[str, Any] | None,
                        expected: Verdict | None) -> None:
    assert isinstance(REMOTE, RemoteAPIService)
    assert service_verdict(REMOTE, service, endpoints) == expected


def test_remote_api_service_defaults_and_decodes() -> None:
    remote = remote_api_service({"metadata": {"name": "v1.x.io"},
                                 "spec": {"group": "x.io", "version": "v1", "service": {"namespace": "n", "name": "s"},
                                          "caBundle": "UEVN"},
                                 "status": {"conditions": [{"type": "Available", "status": "True"}]}})
    assert remote is not None
    assert (remote.service_port, remote.ca_bundle, remote.available) == (443, b"PEM", True)
    assert remote.server_name == "s.n.svc"
    assert remote_api_service({"metadata": {"name": "v1.apps"}, "spec": {"group": "apps", "version": "v1"}}) is None


def test_transition_time_moves_only_with_the_status() -> None:
    old = [{"type": "Available", "status": "False", "lastTransitionTime": "2020-01-01T00:00:00Z",
            "reason": "MissingEndpoints", "message": "m"}]
    same_status = available_condition(old, Verdict("False", "FailedDiscoveryCheck", "probe failed"))
    assert same_status == [{"type": "Available", "status": "False", "lastTransitionTime": "2020-01-01T00:00:00Z",
                            "reason": "FailedDiscoveryCheck", "message": "probe failed"}]
    flipped = available_condition(old, Verdict("True", "Passed", "all checks passed"))
    assert flipped[0]["lastTransitionTime"] != "2020-01-01T00:00:00Z"
    assert (flipped[0]["status"], flipped[0]["reason"]) == ("True", "Passed")
    assert available_condition(same_status, Verdict("False", "FailedDiscoveryCheck", "probe failed")) == same_status
