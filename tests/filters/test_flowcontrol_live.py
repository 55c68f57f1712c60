"""API Priority and Fairness in a live server: the bootstrap configuration, the PF headers, and a saturated level
answering 429 while exempt traffic goes on."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

FLOWCONTROL = "/apis/flowcontrol.apiserver.k8s.io/v1"
FLOW_SCHEMAS = {
    "exempt": ("exempt", 1), "probes": ("exempt", 2), "system-leader-election": ("leader-election", 100),
    "endpoint-controller": ("workload-high", 150), "workload-leader-election": ("leader-election", 200),
    "system-node-high": ("node-high", 400), "system-nodes": ("system", 500),
    "kube-controller-manager": ("workload-high", 800), "kube-scheduler": ("workload-high", 800),
    "kube-system-service-accounts": ("workload-high", 900), "service-accounts": ("workload-low", 9000),
    "global-default": ("global-default", 9900), "catch-all": ("catch-all", 10000),
}
PRIORITY_LEVELS = {"catch-all", "exempt", "global-default", "leader-election", "node-high", "system", "workload-high",
                   "workload-low"}
SLOW_REQUESTS = 12


@pytest.fixture(scope="module", params=["sqlite", "etcd3"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp(f"apf-{request.param}") / "data"
    if request.param == "etcd3":
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=request.getfixturevalue("etcd").url,
                                extra_args=["--etcd-prefix", f"/apf-{uuid.uuid4().hex[:8]}"])
    else:
        process = ServerProcess(data_dir)
    with process:
        yield process


def admin(server: ServerProcess, method: str, path: str, body: object = None,
          headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    payload = None if body is None else json.dumps(body).encode()
    return server.request(method, path, client_cert=True, body=payload, timeout=timeout,
                          headers={"Content-Type": "application/json", **(headers or {})})


def items(server: ServerProcess, plural: str) -> dict[str, dict[str, object]]:
    status, _, body = admin(server, "GET", f"{FLOWCONTROL}/{plural}")
    assert status == 200, body
    return {item["metadata"]["name"]: item for item in json.loads(body)["items"]}


def wait_for_objects(server: ServerProcess, plural: str, count: int) -> dict[str, dict[str, object]]:
    deadline = time.monotonic() + 20
    while len(found := items(server, plural)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_the_bootstrap_configuration_is_stored_with_upstream_names(server: ServerProcess) -> None:
    schemas = wait_for_objects(server, "flowschemas", len(FLOW_SCHEMAS))
    levels = wait_for_objects(server, "prioritylevelconfigurations", len(PRIORITY_LEVELS))
    assert {name: (item["spec"]["priorityLevelConfiguration"]["name"], item["spec"]["matchingPrecedence"])  # type: ignore[index]
            for name, item in schemas.items()} == FLOW_SCHEMAS
    assert set(levels) == PRIORITY_LEVELS
    for item in [*schemas.values(), *levels.values()]:
        assert item["metadata"]["annotations"] == {"apf.kubernetes.io/autoupdate-spec": "true"}  # type: ignore[index]


def test_every_bootstrap_schema_is_marked_not_dangling(server: ServerProcess) -> None:
    wait_for_objects(server, "flowschemas", len(FLOW_SCHEMAS))
    deadline = time.monotonic() + 20
    while True:
        schemas = items(server, "flowschemas")
        conditions = {name: (item.get("status") or {}).get("conditions") for name, item in schemas.items()}  # type: ignore[union-attr]
        if all(conditions.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    probes = conditions["probes"][0]  # type: ignore[index]
    assert (probes["type"], probes["status"], probes["reason"], probes["message"]) == (
        "Dangling", "False", "Found",
        'This FlowSchema references the PriorityLevelConfiguration object named "exempt" and it exists')
    assert {condition[0]["status"] for condition in conditions.values()} == {"False"}  # type: ignore[index]


def test_a_probe_is_classified_exempt_through_the_probes_schema(server: ServerProcess) -> None:
    schemas = wait_for_objects(server, "flowschemas", len(FLOW_SCHEMAS))
    levels = wait_for_objects(server, "prioritylevelconfigurations", len(PRIORITY_LEVELS))
    status, headers, body = server.request("GET", "/readyz")
    assert (status, body) == (200, b"ok")
    assert headers["x-kubernetes-pf-flowschema-uid"] == schemas["probes"]["metadata"]["uid"]  # type: ignore[index]
    assert headers["x-kubernetes-pf-prioritylevel-uid"] == levels["exempt"]["metadata"]["uid"]  # type: ignore[index]


def _tiny_level_for(server: ServerProcess, user: str) -> tuple[str, str]:
    level = {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
             "metadata": {"name": "tiny"}, "spec": {"type": "Limited", "limited": {
                 "nominalConcurrencyShares": 1, "limitResponse": {"type": "Reject"}}}}
    schema = {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "tiny"},
              "spec": {"priorityLevelConfiguration": {"name": "tiny"}, "matchingPrecedence": 10,
                       "rules": [{"subjects": [{"kind": "User", "user": {"name": user}}],
                                  "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                     "namespaces": ["*"], "clusterScope": True}]}]}}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": f"{user}-admin"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}
    uids = []
    for path, obj in ((f"{FLOWCONTROL}/prioritylevelconfigurations", level), (f"{FLOWCONTROL}/flowschemas", schema),
                      ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)):
        status, _, body = admin(server, "POST", path, obj)
        assert status == 201, body
        uids.append(json.loads(body)["metadata"]["uid"])
    return uids[1], uids[0]


def test_a_saturated_level_answers_429_while_exempt_traffic_passes(server: ServerProcess) -> None:
    schema_uid, level_uid = _tiny_level_for(server, "slow-bob")
    as_bob = {"Impersonate-User": "slow-bob"}
    deadline = time.monotonic() + 10
    while admin(server, "GET", "/api/v1/namespaces/default/configmaps", headers=as_bob)[1].get(
            "x-kubernetes-pf-flowschema-uid") != schema_uid:  # the watch cache has the new schema
        assert time.monotonic() < deadline
        time.sleep(0.1)
    body = admin(server, "GET", "/api/v1/namespaces/default/configmaps")[2]
    revision = int(json.loads(body)["metadata"]["resourceVersion"])
    # A list at a revision far ahead waits for the cache (up to 3 s, then 504): each holds a seat meanwhile.
    slow_path = (f"/api/v1/namespaces/default/configmaps?resourceVersion={revision + 100_000}"
                 "&resourceVersionMatch=NotOlderThan")
    with ThreadPoolExecutor(SLOW_REQUESTS) as pool:
        pending = [pool.submit(admin, server, "GET", slow_path, headers=as_bob) for _ in range(SLOW_REQUESTS)]
        time.sleep(0.5)  # every slow request has its seat or its 429 by now; the seats stay taken for seconds
        started = time.monotonic()
        assert server.request("GET", "/readyz")[0] == 200
        assert admin(server, "GET", "/api/v1/namespaces/default")[0] == 200
        assert time.monotonic() - started < 1.0
        assert not all(future.done() for future in pending)
        answers = [future.result() for future in pending]
    statuses = sorted(status for status, _, _ in answers)
    assert set(statuses) == {429, 504}, statuses
    rejected = next((headers, body) for status, headers, body in answers if status == 429)
    assert rejected[1] == b"Too many requests, please try again later.\n"
    assert rejected[0]["retry-after"] == "1"
    assert (rejected[0]["x-kubernetes-pf-flowschema-uid"], rejected[0]["x-kubernetes-pf-prioritylevel-uid"]) == (
        schema_uid, level_uid)
