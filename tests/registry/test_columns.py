"""Table cells as kube-apiserver v1.32 renders them (kubectl prints the cells verbatim).

Expected values follow upstream's printers and duration helpers: pkg/printers/internalversion/printers.go
(printPod, printService, printDeployment, printJob, …) with the cases of printers_test.go, and
k8s.io/apimachinery/pkg/util/duration (HumanDuration, ShortHumanDuration) with duration_test.go.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apiserver.registry.columns import (
    format_label_selector,
    human_duration,
    label_selector_string,
    short_human_duration,
    since,
)
from apiserver.registry.spec import AGE, ResourceSpec
from apiserver.resources.apps.deployments import SPEC as DEPLOYMENTS
from apiserver.resources.apps.deployments import ready
from apiserver.resources.autoscaling.horizontalpodautoscalers import SPECS as HPAS
from apiserver.resources.batch.jobs import completions, duration, job_status
from apiserver.resources.core.endpoints import format_endpoints
from apiserver.resources.core.events import SPEC as EVENTS
from apiserver.resources.core.nodes import node_roles, node_status
from apiserver.resources.core.pods import SPEC as PODS
from apiserver.resources.core.pods import summarize_pod
from apiserver.resources.core.services import SPEC as SERVICES
from apiserver.resources.core.services import cluster_ip, external_ip, ports
from apiserver.resources.events.events import SPEC as NEW_EVENTS
from apiserver.resources.networking.ingresses import hosts

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(spec: ResourceSpec, obj: dict[str, Any]) -> dict[str, Any]:
    return {column.name: column.value(obj, NOW) for column in spec.table_columns}


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=-1), "0s"),  # up to a second of clock skew reads as now
        (timedelta(seconds=-1.9), "0s"),
        (timedelta(seconds=-2), "<invalid>"),
        (timedelta(seconds=70), "70s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(seconds=120), "2m"),
        (timedelta(seconds=190), "3m10s"),
        (timedelta(minutes=9, seconds=59), "9m59s"),
        (timedelta(minutes=10, seconds=30), "10m"),
        (timedelta(minutes=70), "70m"),
        (timedelta(minutes=179), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=3, minutes=5), "3h5m"),
        (timedelta(hours=7, minutes=59), "7h59m"),
        (timedelta(hours=8, minutes=30), "8h"),
        (timedelta(hours=47), "47h"),
        (timedelta(hours=49), "2d1h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(days=8, hours=2), "8d"),
        (timedelta(days=367), "367d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=730, hours=25), "2y1d"),
        (timedelta(days=365 * 8, hours=2), "8y"),
    ],
    ids=str,
)
def test_human_duration(delta: timedelta, expected: str) -> None:
    assert human_duration(delta) == expected


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=-1), "0s"),
        (timedelta(seconds=-2), "<invalid>"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=60), "1m"),
        (timedelta(minutes=59, seconds=59), "59m"),
        (timedelta(hours=23, minutes=59), "23h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=364), "364d"),
        (timedelta(days=365 * 2 + 10), "2y"),
    ],
    ids=str,
)
def test_short_human_duration(delta: timedelta, expected: str) -> None:
    assert short_human_duration(delta) == expected


def test_age_of_an_object_without_creation_timestamp_is_unknown() -> None:
    assert AGE.value({"metadata": {}}, NOW) == "<unknown>"
    assert AGE.value({"metadata": {"creationTimestamp": ago(minutes=5)}}, NOW) == "5m"
    assert since("2025-06-01T11:59:59.123456Z", NOW) == "0s"


def running(ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {"name": "c", "ready": ready, "restartCount": restarts, "state": {"running": {}}}


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"name": "c", "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def terminated(reason: str = "", exit_code: int = 0, signal: int = 0, restarts: int = 0) -> dict[str, Any]:
    state = {"exitCode": exit_code, **({"reason": reason} if reason else {}), **({"signal": signal} if signal else {})}
    return {"name": "c", "ready": False, "restartCount": restarts, "state": {"terminated": state}}


def pod(
    containers: int = 1,
    statuses: list[dict[str, Any]] | None = None,
    phase: str = "Running",
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    deleting: bool = False,
    reason: str = "",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "p", "creationTimestamp": ago(hours=1)}
    if deleting:
        metadata["deletionTimestamp"] = ago(seconds=10)
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses or [], "conditions": conditions or []}
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if reason:
        status["reason"] = reason
    spec = {"containers": [{"name": f"c{i}"} for i in range(containers)], "initContainers": init or []}
    return {"metadata": metadata, "spec": spec, "status": status}


READY_TRUE = [{"type": "Ready", "status": "True"}]
INITIALIZED = [{"type": "Initialized", "status": "True"}]
SIDECAR = {"name": "sidecar", "restartPolicy": "Always"}
PLAIN_INIT = {"name": "setup"}


@pytest.mark.parametrize(
    ("obj", "ready_cell", "status_cell", "restarts_cell"),
    [
        (pod(2, [running(restarts=3), {"name": "b", "restartCount": 3, "state": {}}], phase="podPhase"),
         "1/2", "podPhase", "6"),
        (pod(1, [waiting("ContainerCreating")], phase="Pending"), "0/1", "ContainerCreating", "0"),
        (pod(1, [waiting("CrashLoopBackOff", restarts=4)]), "0/1", "CrashLoopBackOff", "4"),
        (pod(1, [terminated("OOMKilled", 137)]), "0/1", "OOMKilled", "0"),
        (pod(1, [terminated(exit_code=2)]), "0/1", "ExitCode:2", "0"),
        (pod(1, [terminated(exit_code=137, signal=9)]), "0/1", "Signal:9", "0"),
        (pod(1, [terminated("Completed")], phase="Succeeded"), "0/1", "Completed", "0"),
        (pod(2, [terminated("Completed"), running()], conditions=READY_TRUE), "1/2", "Running", "0"),
        (pod(2, [terminated("Completed"), running()]), "1/2", "NotReady", "0"),
        (pod(1, [], phase="Pending", init=[PLAIN_INIT, PLAIN_INIT],
             init_statuses=[{"name": "setup", "state": {"running": {}}}]), "0/1", "Init:0/2", "0"),
        (pod(1, [], phase="Pending", init=[PLAIN_INIT, PLAIN_INIT],
             init_statuses=[terminated("Completed") | {"name": "setup"}, {"name": "setup", "state": {}}]),
         "0/1", "Init:1/2", "0"),
        (pod(1, [], phase="Pending", init=[PLAIN_INIT],
             init_statuses=[waiting("CrashLoopBackOff", restarts=5) | {"name": "setup"}]),
         "0/1", "Init:CrashLoopBackOff", "5"),
        (pod(1, [], phase="Pending", init=[PLAIN_INIT],
             init_statuses=[waiting("PodInitializing") | {"name": "setup"}]), "0/1", "Init:0/1", "0"),
        (pod(1, [], phase="Failed", init=[PLAIN_INIT],
             init_statuses=[terminated(exit_code=1) | {"name": "setup"}]), "0/1", "Init:ExitCode:1", "0"),
        (pod(1, [], phase="Failed", init=[PLAIN_INIT],
             init_statuses=[terminated(exit_code=1, signal=15) | {"name": "setup"}]), "0/1", "Init:Signal:15", "0"),
        (pod(1, [], phase="Failed", init=[PLAIN_INIT],
             init_statuses=[terminated("Error", 1) | {"name": "setup"}]), "0/1", "Init:Error", "0"),
        (pod(1, [running()], init=[SIDECAR],
             init_statuses=[{"name": "sidecar", "started": True, "ready": True, "restartCount": 2,
                             "state": {"running": {}}}], conditions=INITIALIZED), "2/2", "Running", "2"),
        (pod(1, [], phase="Pending", init=[SIDECAR, PLAIN_INIT],
             init_statuses=[{"name": "sidecar", "started": True, "ready": False, "state": {"running": {}}},
                            {"name": "setup", "state": {"running": {}}}]), "0/2", "Init:1/2", "0"),
        (pod(1, [running()], deleting=True), "1/1", "Terminating", "0"),
        (pod(1, [terminated("Completed")], phase="Succeeded", deleting=True), "0/1", "Completed", "0"),
        (pod(1, [running()], deleting=True, reason="NodeLost"), "1/1", "Unknown", "0"),
        (pod(1, [], phase="Pending", reason="Evicted"), "0/1", "Evicted", "0"),
        (pod(1, [], phase="Pending",
             conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
         "0/1", "SchedulingGated", "0"),
    ],
    ids=[
        "ready-and-restarts-summed", "waiting-reason", "crashloop", "terminated-reason", "exit-code", "signal",
        "completed", "completed-but-running-and-ready", "completed-but-running-not-ready", "init-running",
        "init-second-of-two", "init-waiting-reason", "init-pod-initializing", "init-exit-code", "init-signal",
        "init-terminated-reason", "sidecar-counts-as-ready", "sidecar-not-started-blocks", "terminating",
        "terminal-pod-being-deleted", "node-lost", "pod-reason", "scheduling-gated",
    ],
)
def test_pod_ready_status_restarts(obj: dict[str, Any], ready_cell: str, status_cell: str, restarts_cell: str) -> None:
    row = cells(PODS, obj)
    assert (row["Ready"], row["Status"], row["Restarts"]) == (ready_cell, status_cell, restarts_cell)


def test_pod_restarts_show_when_the_last_restart_happened() -> None:
    restarted = running(restarts=3) | {"lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=5)}}}
    earlier = running(restarts=1) | {"lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(hours=2)}}}
    assert cells(PODS, pod(2, [earlier, restarted]))["Restarts"] == "4 (5m ago)"


def test_pod_init_restarts_count_only_while_initialising() -> None:
    init_status = waiting("CrashLoopBackOff", restarts=7) | {"name": "setup"}
    initialising = pod(1, [], phase="Pending", init=[PLAIN_INIT], init_statuses=[init_status])
    done = terminated("Completed", restarts=7) | {"name": "setup"}
    initialised = pod(1, [running(restarts=1)], init=[PLAIN_INIT], init_statuses=[done], conditions=INITIALIZED)
    assert summarize_pod(initialising).restarts == 7
    assert summarize_pod(initialised).restarts == 1


def test_pod_wide_cells() -> None:
    obj = pod(1, [running()]) | {"spec": {"containers": [{"name": "c"}], "nodeName": "node-1",
                                          "readinessGates": [{"conditionType": "example.com/ready"}]}}
    obj["status"]["podIPs"] = [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}]
    obj["status"]["conditions"] = [{"type": "example.com/ready", "status": "True"}]
    row = cells(PODS, obj)
    assert (row["IP"], row["Node"], row["Nominated Node"], row["Readiness Gates"]) == (
        "10.0.0.7", "node-1", "<none>", "1/1",
    )
    assert cells(PODS, pod())["IP"] == "<none>"
    assert cells(PODS, pod())["Readiness Gates"] == "<none>"
    assert cells(PODS, pod())["Age"] == "60m"


@pytest.mark.parametrize(
    ("status", "replicas", "expected"),
    [({"readyReplicas": 2}, 3, "2/3"), ({}, 1, "0/1"), ({"readyReplicas": 0}, 0, "0/0")],
    ids=["partly-ready", "no-status", "scaled-to-zero"],
)
def test_deployment_ready(status: dict[str, Any], replicas: int, expected: str) -> None:
    assert ready({"spec": {"replicas": replicas}, "status": status}) == expected


def test_deployment_row() -> None:
    deployment = {
        "metadata": {"name": "web", "creationTimestamp": ago(days=3)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"},
                                                      {"name": "log", "image": "busybox"}]}}},
        "status": {"readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 2},
    }
    assert list(cells(DEPLOYMENTS, deployment).values()) == [
        "web", "3/3", 3, 2, "3d", "nginx,log", "nginx:1.27,busybox", "app=web",
    ]


def service(service_type: str, **spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    return {"metadata": {"name": "s"}, "spec": {"type": service_type, **spec}, "status": status}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (service("ClusterIP"), "<none>"),
        (service("ClusterIP", externalIPs=["1.2.3.4", "5.6.7.8"]), "1.2.3.4,5.6.7.8"),
        (service("NodePort"), "<none>"),
        (service("LoadBalancer"), "<pending>"),
        (service("LoadBalancer", status={"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example"},
                                                                      {"ip": "2.2.2.2"}]}}),
         "2.2.2.2,9.9.9.9,lb.example"),
        (service("LoadBalancer", externalIPs=["1.2.3.4"], status={"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}}),
         "9.9.9.9,1.2.3.4"),
        (service("LoadBalancer", externalIPs=["1.2.3.4"]), "1.2.3.4"),
        (service("LoadBalancer", status={"loadBalancer": {"ingress": [{"hostname": "a-very-long-name.example.com"}]}}),
         "a-very-long-name.example.com"),
        (service("ExternalName", externalName="db.example.com"), "db.example.com"),
        (service("Mystery"), "<unknown>"),
    ],
    ids=["cluster-ip", "cluster-ip-external", "node-port", "lb-pending", "lb-sorted-unique", "lb-and-external",
         "lb-external-only", "lb-untruncated", "external-name", "unknown-type"],
)
def test_service_external_ip(obj: dict[str, Any], expected: str) -> None:
    assert external_ip(obj) == expected


@pytest.mark.parametrize(
    ("service_ports", "expected"),
    [
        ([], "<none>"),
        ([{"port": 80, "protocol": "TCP"}], "80/TCP"),
        ([{"port": 80}, {"port": 53, "protocol": "UDP"}], "80/TCP,53/UDP"),
        ([{"port": 80, "protocol": "TCP", "nodePort": 30080}], "80:30080/TCP"),
    ],
    ids=["none", "one", "several", "node-port"],
)
def test_service_ports(service_ports: list[dict[str, Any]], expected: str) -> None:
    assert ports(service("NodePort", ports=service_ports)) == expected


def test_service_row() -> None:
    obj = service("ClusterIP", clusterIPs=["10.96.0.1"], ports=[{"port": 443, "protocol": "TCP"}],
                  selector={"app": "api"})
    row = cells(SERVICES, obj)
    assert (row["Type"], row["Cluster-IP"], row["Port(s)"], row["Selector"]) == (
        "ClusterIP", "10.96.0.1", "443/TCP", "app=api",
    )
    assert cluster_ip(service("ExternalName")) == "<none>"
    assert cluster_ip(service("ClusterIP", clusterIPs=["None"])) == "None"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, "<none>"),
        ({}, "<none>"),
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                               {"key": "env", "operator": "NotIn", "values": ["dev"]},
                               {"key": "gpu", "operator": "Exists"},
                               {"key": "legacy", "operator": "DoesNotExist"}]},
         "env notin (dev),gpu,!legacy,tier in (api,web)"),
        ({"matchExpressions": [{"key": "a", "operator": "Near"}]}, "<error>"),
    ],
    ids=["nil", "empty", "labels-sorted", "expressions", "invalid"],
)
def test_format_label_selector(selector: dict[str, Any] | None, expected: str) -> None:
    assert format_label_selector(selector) == expected


def test_label_selector_string_of_an_empty_selector_is_empty() -> None:
    assert label_selector_string({}) == ""


@pytest.mark.parametrize(
    ("job", "expected_status", "expected_completions"),
    [
        ({"spec": {"completions": 3}, "status": {"succeeded": 1}}, "Running", "1/3"),
        ({"spec": {"parallelism": 4}, "status": {}}, "Running", "0/1 of 4"),
        ({"spec": {}, "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}},
         "Complete", "1/1"),
        ({"spec": {"completions": 1}, "status": {"conditions": [{"type": "Failed", "status": "True"}]}},
         "Failed", "0/1"),
        ({"metadata": {"deletionTimestamp": ago(seconds=1)}, "spec": {"completions": 1},
          "status": {"conditions": [{"type": "Suspended", "status": "True"}]}}, "Terminating", "0/1"),
        ({"spec": {"completions": 1}, "status": {"conditions": [{"type": "Suspended", "status": "True"}]}},
         "Suspended", "0/1"),
        ({"spec": {"completions": 1}, "status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}},
         "FailureTarget", "0/1"),
    ],
    ids=["running", "parallel", "complete", "failed", "terminating", "suspended", "failure-target"],
)
def test_job_status_and_completions(job: dict[str, Any], expected_status: str, expected_completions: str) -> None:
    assert (job_status(job), completions(job)) == (expected_status, expected_completions)


def test_job_duration() -> None:
    assert duration({"status": {}}, NOW) == ""
    assert duration({"status": {"startTime": ago(minutes=3)}}, NOW) == "3m"
    finished = {"status": {"startTime": ago(hours=1), "completionTime": ago(minutes=58, seconds=30)}}
    assert duration(finished, NOW) == "90s"


@pytest.mark.parametrize(
    ("subsets", "expected"),
    [
        ([], "<none>"),
        ([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}], "10.0.0.1:80"),
        ([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}], "10.0.0.1,10.0.0.2"),
        ([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}], "[fd00::1]:80"),
        ([{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 4)], "ports": [{"port": 80}, {"port": 443}]}],
         "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more..."),
        ([{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}], ""),
    ],
    ids=["none", "one", "headless", "ipv6", "more", "not-ready-only"],
)
def test_endpoints(subsets: list[dict[str, Any]], expected: str) -> None:
    assert format_endpoints({"subsets": subsets}) == expected


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "expected"),
    [
        ([{"type": "Ready", "status": "True"}], False, "Ready"),
        ([{"type": "Ready", "status": "Unknown"}], False, "NotReady"),
        ([], False, "Unknown"),
        ([{"type": "Ready", "status": "True"}], True, "Ready,SchedulingDisabled"),
    ],
    ids=["ready", "not-ready", "unknown", "cordoned"],
)
def test_node_status(conditions: list[dict[str, Any]], unschedulable: bool, expected: str) -> None:
    assert node_status({"spec": {"unschedulable": unschedulable}, "status": {"conditions": conditions}}) == expected


def test_node_roles() -> None:
    labels = {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "",
              "kubernetes.io/role": "worker", "node-role.kubernetes.io/etcd": "true"}
    assert node_roles({"metadata": {"labels": labels}}) == "control-plane,etcd,worker"
    assert node_roles({"metadata": {}}) == "<none>"


def test_ingress_hosts() -> None:
    rules = [{"host": "a"}, {}, {"host": "b"}, {"host": "c"}, {"host": "d"}]
    assert hosts({"spec": {"rules": rules}}) == "a,b,c + 2 more..."
    assert hosts({"spec": {"rules": [{}]}}) == "*"
    assert hosts({"spec": {"rules": [{"host": "a"}, {"host": "b"}, {"host": "c"}]}}) == "a,b,c"


def test_event_row_uses_series_and_singleton_count() -> None:
    event = {
        "metadata": {"name": "p.1"}, "type": "Warning", "reason": "BackOff", "message": " Back-off restarting \n",
        "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(hours=1), "lastTimestamp": ago(minutes=2), "count": 12,
    }
    assert list(cells(EVENTS, event).values()) == [
        "2m", "Warning", "BackOff", "pod/p", "spec.containers{c}", "kubelet, node-1", "Back-off restarting", "60m",
        12, "p.1",
    ]
    new_style = {"eventTime": "2025-06-01T11:59:00.000000Z", "reportingComponent": "scheduler",
                 "involvedObject": {"kind": "Node"}}
    row = cells(EVENTS, new_style)
    assert (row["Last Seen"], row["First Seen"], row["Count"], row["Object"], row["Source"]) == (
        "60s", "60s", 1, "node", "scheduler",
    )
    series = new_style | {"series": {"count": 4, "lastObservedTime": "2025-06-01T11:59:50.000000Z"}}
    assert (cells(EVENTS, series)["Last Seen"], cells(EVENTS, series)["Count"]) == ("10s", 4)


@pytest.mark.parametrize(
    ("spec_metrics", "status_metrics", "expected"),
    [
        ([], [], "cpu: <unknown>/80%"),
        ([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": 50}}}],
         [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 23}}}], "cpu: 23%/50%"),
        ([{"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                          "averageValue": "1Gi"}}}],
         [], "memory: <unknown>/1Gi"),
        ([{"type": "Pods", "pods": {"target": {"averageValue": "10"}}},
          {"type": "External", "external": {"target": {"value": "5"}}},
          {"type": "Object", "object": {"target": {"averageValue": "3"}}}],
         [{"type": "Pods", "pods": {"current": {"averageValue": "7"}}}],
         "7/10, <unknown>/5 + 1 more..."),
    ],
    ids=["defaulted-cpu", "utilization", "average-value", "more"],
)
def test_hpa_targets(spec_metrics: list[Any], status_metrics: list[Any], expected: str) -> None:
    hpa = {"spec": {"metrics": spec_metrics, "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                    "maxReplicas": 5},
           "status": {"currentMetrics": status_metrics, "currentReplicas": 2}}
    row = cells(HPAS[0], hpa)
    assert (row["Reference"], row["Targets"], row["MinPods"], row["MaxPods"], row["Replicas"]) == (
        "Deployment/web", expected, "<unset>", 5, 2,
    )


def test_hpa_v1_targets_read_the_cpu_percentage() -> None:
    hpa = {"spec": {"targetCPUUtilizationPercentage": 70, "minReplicas": 1},
           "status": {"currentCPUUtilizationPercentage": 12}}
    row = cells(HPAS[1], hpa)
    assert (row["Targets"], row["MinPods"]) == ("cpu: 12%/70%", "1")


def test_event_columns_read_either_served_form() -> None:
    core_form = {"apiVersion": "v1", "kind": "Event", "involvedObject": {"kind": "Pod", "name": "p"},
                 "message": "hello", "count": 3}
    new_form = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "regarding": {"kind": "Pod", "name": "p"},
                "note": "hello", "deprecatedCount": 3}
    for spec in (EVENTS, NEW_EVENTS):
        for form in (core_form, new_form):
            row = cells(spec, form)
            assert (row["Object"], row["Message"], row["Count"]) == ("pod/p", "hello", 3)
    selected = NEW_EVENTS.selectable_field("regarding.name")
    assert selected is not None
    assert (selected.value(core_form), selected.value(new_form)) == ("p", "p")


def test_hpa_columns_read_either_served_form() -> None:
    v1_form = {"spec": {"targetCPUUtilizationPercentage": 60}, "status": {"currentCPUUtilizationPercentage": 30}}
    v2_form = {"spec": {"metrics": [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]},
        "status": {"currentMetrics": [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": 30}}}]}}
    for spec in HPAS:
        assert cells(spec, v1_form)["Targets"] == cells(spec, v2_form)["Targets"] == "cpu: 30%/60%"
