"""Two replicas on one etcd cluster behave as one API server: reads after writes, watches, bootstrap objects,
allocations, credentials and the `kubernetes` Endpoints agree whichever replica answers."""
from __future__ import annotations

import ssl
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.cluster.checks import converge, final_state, stream_problems
from tests.cluster.streams import Api, Watcher, Writer, configmaps, create_namespace
from tests.support.cluster import Cluster, poll
from tests.support.kubectl import Kubectl

FIRST, SECOND = "127.0.0.1", "127.0.0.2"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def _configmap(name: str, data: dict[str, str], rv: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if rv:
        metadata["resourceVersion"] = rv
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def test_a_write_through_one_replica_is_read_at_once_on_the_other(apis: dict[str, Api]) -> None:
    first, second = apis[FIRST], apis[SECOND]
    namespace = create_namespace(first)
    for index in range(8):
        name = f"rw-{index}"
        created = second.ok("POST", configmaps(namespace), _configmap(name, {"n": str(index)}))  # ns made on first
        read = first.ok("GET", configmaps(namespace, name))
        assert read["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        assert read["metadata"]["uid"] == created["metadata"]["uid"]
        updated = first.ok("PUT", configmaps(namespace, name),
                           _configmap(name, {"n": "updated"}, created["metadata"]["resourceVersion"]))
        assert second.ok("GET", configmaps(namespace, name))["data"] == {"n": "updated"}
        listed = second.ok("GET", configmaps(namespace))
        assert int(listed["metadata"]["resourceVersion"]) >= int(updated["metadata"]["resourceVersion"])
        assert {item["metadata"]["name"]: item["data"] for item in listed["items"] if item["metadata"]["name"] == name}\
            == {name: {"n": "updated"}}
        # A write on one replica with a resourceVersion only the other has answered is a precondition, not a guess.
        stale = second.call("PUT", configmaps(namespace, name),
                            _configmap(name, {"n": "stale"}, created["metadata"]["resourceVersion"]))
        assert (stale[0], stale[1].get("reason")) == (409, "Conflict")
        first.ok("DELETE", configmaps(namespace, name))
        status, answer = second.call("GET", configmaps(namespace, name))
        assert (status, answer.get("reason")) == (404, "NotFound")


def test_a_watch_on_one_replica_sees_the_other_replicas_writes_in_order(apis: dict[str, Api]) -> None:
    namespace = create_namespace(apis[FIRST])
    watcher = Watcher(apis[SECOND], namespace, "watch@second")
    watcher.start()
    writer = Writer(apis[FIRST], namespace, creates=16, pause=0)
    try:
        writer.run()  # in this thread: every write through the first replica
        final = final_state(apis[FIRST], namespace)
        problems = [*writer.errors, *converge([watcher], final), *stream_problems(watcher, writer)]
    finally:
        watcher.stop()
    assert problems == []
    assert watcher.timeline.event_rvs == [rv for _, rv in writer.history]  # every write, in the order written
    assert (watcher.resumes, watcher.relists) == (0, 0)


def _identities(api: Api, path: str) -> dict[str, str]:
    return {item["metadata"]["name"]: item["metadata"]["uid"] for item in api.ok("GET", path)["items"]}


def test_replicas_started_together_agree_on_bootstrap_objects(cluster: Cluster, apis: dict[str, Api]) -> None:
    views = []
    for host in (FIRST, SECOND):
        api = apis[host]
        services = api.ok("GET", "/api/v1/namespaces/default/services?fieldSelector=metadata.name=kubernetes")
        namespaces = _identities(api, "/api/v1/namespaces")
        assert set(SYSTEM_NAMESPACES) <= set(namespaces), namespaces
        views.append((
            [(item["metadata"]["uid"], item["spec"]["clusterIP"]) for item in services["items"]],
            {name: namespaces[name] for name in SYSTEM_NAMESPACES},
            _identities(api, "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
            _identities(api, "/apis/scheduling.k8s.io/v1/priorityclasses"),
        ))
    assert views[0] == views[1]
    service_view = views[0][0]
    assert len(service_view) == 1 and service_view[0][1] == "10.96.0.1", service_view
    assert {"cluster-admin", "system:discovery", "admin", "edit", "view"} <= set(views[0][2])
    assert {"system-cluster-critical", "system-node-critical"} == set(views[0][3])


def test_services_created_through_both_replicas_get_distinct_addresses_and_ports(apis: dict[str, Api]) -> None:
    namespace = create_namespace(apis[FIRST])

    def create(index: int) -> dict[str, Any]:
        api = apis[FIRST if index % 2 else SECOND]
        body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{index:02d}"},
                "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}}
        return api.ok("POST", f"/api/v1/namespaces/{namespace}/services", body)

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(create, range(50)))
    addresses = [service["spec"]["clusterIP"] for service in created]
    ports = [service["spec"]["ports"][0]["nodePort"] for service in created]
    assert len(set(addresses)) == 50 and "10.96.0.1" not in addresses, sorted(addresses)
    assert len(set(ports)) == 50, sorted(ports)
    stored = apis["lb"].ok("GET", f"/api/v1/namespaces/{namespace}/services")["items"]
    assert sorted(item["spec"]["clusterIP"] for item in stored) == sorted(addresses)


def test_a_service_account_token_issued_by_one_replica_verifies_on_the_other(cluster: Cluster,
                                                                            apis: dict[str, Api]) -> None:
    namespace = create_namespace(apis[FIRST])
    account = f"sa-{uuid.uuid4().hex[:6]}"
    apis[FIRST].ok("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}})
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    token = apis[FIRST].ok("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
                           request)["status"]["token"]
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    context = ssl.create_default_context(cafile=str(cluster.ca_file))  # no client certificate: the token alone
    with httpx.Client(base_url=cluster.replicas[1].url, verify=context) as anonymous:
        response = anonymous.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json=review,
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    user = response.json()["status"]["userInfo"]
    assert user["username"] == f"system:serviceaccount:{namespace}:{account}"


def _endpoint_addresses(api: Api) -> list[str]:
    endpoints = api.ok("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    return sorted(address["ip"] for subset in endpoints.get("subsets") or [] for address in subset["addresses"])


def test_the_kubernetes_endpoints_list_the_live_replicas(cluster: Cluster, apis: dict[str, Api]) -> None:
    both = sorted(replica.host for replica in cluster.replicas)
    poll(lambda: _endpoint_addresses(apis[FIRST]) == both, 25, "both replicas in the endpoints")
    second = cluster.replicas[1]
    assert second.stop() == 0  # a graceful stop drops its master lease and its address at once
    poll(lambda: _endpoint_addresses(apis[FIRST]) == [FIRST], 10, "the stopped replica out of the endpoints")
    cluster.start_replica(second)
    poll(lambda: _endpoint_addresses(apis[FIRST]) == both, 25, "the restarted replica back in the endpoints")


def test_kubectl_works_through_the_balancer(cluster: Cluster, tmp_path: Path) -> None:
    kubectl = Kubectl(cluster.kubeconfig, tmp_path)
    namespace = f"k-{uuid.uuid4().hex[:6]}"
    assert kubectl.run("create", "namespace", namespace).returncode == 0
    created = kubectl.run("-n", namespace, "create", "configmap", "via-lb", "--from-literal=k=v")
    assert created.returncode == 0, created.stderr
    read = kubectl.run("-n", namespace, "get", "configmap", "via-lb", "-o", "jsonpath={.data.k}")
    assert (read.returncode, read.stdout) == (0, "v"), read.stderr
    assert kubectl.run("get", "--raw", "/readyz").stdout == "ok"
