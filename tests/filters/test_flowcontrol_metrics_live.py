"""API Priority and Fairness and admission webhook counters on a live server's `/metrics`.

One SQLite server: what is counted does not depend on the storage backend.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.server import ServerProcess
from tests.support.webhook_server import WebhookServer, deny

pytestmark = pytest.mark.slow

FLOWCONTROL = "/apis/flowcontrol.apiserver.k8s.io/v1"
SERVICE_ACCOUNT = "system:serviceaccount:default:metrics-reader"
SLOW_REQUESTS = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(Path(tmp_path_factory.mktemp("apf-metrics")) / "data") as process:
        yield process


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def admin(server: ServerProcess, method: str, path: str, body: object = None,
          headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    payload = None if body is None else json.dumps(body).encode()
    return server.request(method, path, client_cert=True, body=payload, timeout=timeout,
                          headers={"Content-Type": "application/json", **(headers or {})})


def create(server: ServerProcess, path: str, obj: dict[str, object]) -> str:
    """Create `obj`; its uid."""
    status, _, body = admin(server, "POST", path, obj)
    assert status == 201, body
    return str(json.loads(body)["metadata"]["uid"])


def level_uid_of(server: ServerProcess, path: str, headers: dict[str, str]) -> str | None:
    """The priority level a GET of `path` was classified to, by uid."""
    return admin(server, "GET", path, headers=headers)[1].get("x-kubernetes-pf-prioritylevel-uid")


def stored_uid(server: ServerProcess, path: str) -> str | None:
    status, _, body = admin(server, "GET", path)
    return str(json.loads(body)["metadata"]["uid"]) if status == 200 else None


def scrape(server: ServerProcess) -> dict[str, float]:
    """Every sample of `/metrics` by its series text (labels sorted, as exposed)."""
    status, _, body = admin(server, "GET", "/metrics")
    assert status == 200
    samples = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series] = float(value)
    return samples


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def flow(name: str, level: str, schema: str, **labels: str) -> str:
    every = {"flow_schema": schema, "priority_level": level, **labels}
    return name + "{" + ",".join(f'{key}="{value}"' for key, value in sorted(every.items())) + "}"


def test_exempt_and_service_account_requests_are_counted_as_dispatched(server: ServerProcess) -> None:
    exempt = flow("apiserver_flowcontrol_dispatched_requests_total", "exempt", "exempt")
    accounts = flow("apiserver_flowcontrol_dispatched_requests_total", "workload-low", "service-accounts")
    create(server, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "metrics-reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "metrics-reader", "namespace": "default"}]})
    as_account = {"Impersonate-User": SERVICE_ACCOUNT}
    # The suggested configuration is stored, then reaches the filter through the watch caches, after start-up.
    eventually(lambda: (uid := stored_uid(server, f"{FLOWCONTROL}/prioritylevelconfigurations/workload-low"))
               is not None and level_uid_of(server, "/api/v1/namespaces/default/configmaps", as_account) == uid,
               timeout=30)
    before = scrape(server)
    for _ in range(3):
        assert admin(server, "GET", "/api/v1/namespaces/default/configmaps", headers=as_account)[0] == 200
    after = scrape(server)
    assert after[accounts] - before.get(accounts, 0.0) == 3.0
    assert after[exempt] > before.get(exempt, 0.0)  # the scrapes themselves are the admin's
    waited = flow("apiserver_flowcontrol_request_wait_duration_seconds_count", "workload-low", "service-accounts",
                  execute="true")
    assert after[waited] - before.get(waited, 0.0) == 3.0
    assert after[flow("apiserver_flowcontrol_current_executing_requests", "workload-low", "service-accounts")] == 0
    assert after['apiserver_flowcontrol_nominal_limit_seats{priority_level="workload-low"}'] >= 1


def _tiny_level(server: ServerProcess, user: str) -> str:
    """A Reject level of one seat for `user`; its uid."""
    uid = create(server, f"{FLOWCONTROL}/prioritylevelconfigurations", {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
        "metadata": {"name": "tiny"}, "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 1, "limitResponse": {"type": "Reject"}}}})
    create(server, f"{FLOWCONTROL}/flowschemas", {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "tiny"},
        "spec": {"priorityLevelConfiguration": {"name": "tiny"}, "matchingPrecedence": 10,
                 "rules": [{"subjects": [{"kind": "User", "user": {"name": user}}],
                            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                               "namespaces": ["*"], "clusterScope": True}]}]}})
    create(server, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{user}-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    return uid


def test_a_saturated_level_counts_its_rejections(server: ServerProcess) -> None:
    level_uid = _tiny_level(server, "slow-carol")
    as_carol = {"Impersonate-User": "slow-carol"}
    rejected = flow("apiserver_flowcontrol_rejected_requests_total", "tiny", "tiny", reason="concurrency-limit")
    eventually(lambda: level_uid_of(server, "/api/v1/namespaces/default/configmaps", as_carol) == level_uid)
    revision = int(json.loads(admin(server, "GET", "/api/v1/namespaces/default/configmaps")[2])["metadata"][
        "resourceVersion"])
    # A list at a revision far ahead waits for the cache (up to 3 s, then 504), holding the level's one seat.
    slow_path = (f"/api/v1/namespaces/default/configmaps?resourceVersion={revision + 100_000}"
                 "&resourceVersionMatch=NotOlderThan")
    with ThreadPoolExecutor(SLOW_REQUESTS) as pool:
        pending = [pool.submit(admin, server, "GET", slow_path, headers=as_carol) for _ in range(SLOW_REQUESTS)]
        statuses = sorted(future.result()[0] for future in pending)
    assert statuses == [429] * (SLOW_REQUESTS - 1) + [504], statuses
    samples = scrape(server)
    assert samples[rejected] == SLOW_REQUESTS - 1
    assert samples[flow("apiserver_flowcontrol_request_wait_duration_seconds_count", "tiny", "tiny",
                        execute="false")] == SLOW_REQUESTS - 1
    assert samples[flow("apiserver_flowcontrol_current_executing_seats", "tiny", "tiny")] == 0
    assert samples['apiserver_flowcontrol_nominal_limit_seats{priority_level="tiny"}'] == 1


def test_a_webhook_denial_and_a_webhook_failing_open_are_counted(server: ServerProcess,
                                                                 hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("not here", 403)
    create(server, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": "webhook-metrics"}})

    def entry(name: str, url: str, policy: str) -> dict[str, object]:
        return {"name": name, "clientConfig": {"url": url, "caBundle": hooks.ca_bundle}, "failurePolicy": policy,
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["configmaps"]}],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "webhook-metrics"}},
                "sideEffects": "None", "admissionReviewVersions": ["v1"]}

    create(server, "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "metrics"},
        "webhooks": [entry("deny.example.com", hooks.url("/deny"), "Fail"),
                     entry("down.example.com", "https://127.0.0.1:1/down", "Ignore")]})
    path = "/api/v1/namespaces/webhook-metrics/configmaps"
    attempts = iter(range(1000))

    def denied() -> bool:
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{next(attempts)}"}}
        status = admin(server, "POST", path, config_map)[0]
        assert status in (201, 403)
        return status == 403

    eventually(denied)
    samples = scrape(server)
    assert samples['apiserver_admission_webhook_rejection_count{error_type="no_error",name="deny.example.com",'
                   'operation="CREATE",rejection_code="403",type="validating"}'] == 1
    assert samples['apiserver_admission_webhook_fail_open_count{name="down.example.com",type="validating"}'] == 1
    assert not any(series.startswith('apiserver_admission_webhook_rejection_count{')
                   and 'name="down.example.com"' in series for series in samples)


def test_the_debug_dumps_are_served_to_the_admin_only(server: ServerProcess) -> None:
    as_account = {"Impersonate-User": SERVICE_ACCOUNT}
    for dump, header in (("dump_priority_levels", "PriorityLevelName, ActiveQueues, IsIdle, IsQuiescing,"),
                         ("dump_queues", "PriorityLevelName, Index,  PendingRequests, ExecutingRequests,")):
        path = f"/debug/api_priority_and_fairness/{dump}"
        status, headers, body = admin(server, "GET", path)
        assert (status, headers["content-type"]) == (200, "text/plain; charset=utf-8")
        assert body.decode().startswith(header)
        status, _, body = admin(server, "GET", path, headers=as_account)
        assert status == 403
        assert json.loads(body)["message"] == (
            f'forbidden: User "{SERVICE_ACCOUNT}" cannot get path "{path}"')

    def level_names() -> set[str]:
        levels = admin(server, "GET", "/debug/api_priority_and_fairness/dump_priority_levels")[2].decode()
        return {line.split(",")[0] for line in levels.splitlines()[1:]}

    eventually(lambda: {"catch-all", "exempt", "global-default", "workload-low"} <= level_names(), timeout=30)
