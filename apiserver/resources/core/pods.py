"""Pods (core/v1): the unit of scheduling, with upstream's STATUS/READY/RESTARTS summary for `kubectl get`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apiserver.registry.columns import (
    NONE,
    condition,
    dig,
    human_duration,
    integer,
    mapping,
    parse_time,
    sequence,
    text,
)
from apiserver.registry.spec import (
    AGE,
    CONNECT_VERBS,
    CREATE_ONLY,
    GET_ONLY,
    NAME,
    PROXY_VERBS,
    Column,
    JSONObject,
    ResourceSpec,
    SelectableField,
    Subresource,
)
from apiserver.resources.core.pod_strategy import PodStrategy

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
NODE_LOST = "NodeLost"  # upstream's NodeUnreachablePodReason


@dataclass(frozen=True, slots=True)
class PodSummary:
    """The aggregate state kubectl shows for a pod: READY as ready/total, STATUS, RESTARTS."""

    ready: int
    total: int
    status: str
    restarts: int
    last_restart: datetime | None

    def restarts_text(self, now: datetime) -> str:
        """`3`, or `3 (5m ago)` when the last restart time is known."""
        if self.restarts and self.last_restart is not None:
            return f"{self.restarts} ({human_duration(now - self.last_restart)} ago)"
        return str(self.restarts)


@dataclass(slots=True)
class _Tally:
    ready: int = 0
    restarts: int = 0
    last_restart: datetime | None = None

    def count_restarts(self, status: Mapping[str, Any]) -> None:
        self.restarts += integer(status.get("restartCount"))
        finished = parse_time(dig(status, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.last_restart is None or finished > self.last_restart):
            self.last_restart = finished


def is_restartable_init_container(container: object) -> bool:
    """A sidecar: an init container with restartPolicy Always."""
    return bool(dig(container, "restartPolicy") == "Always")


def summarize_pod(pod: JSONObject) -> PodSummary:
    """The READY/STATUS/RESTARTS summary, following upstream's printPod rule by rule.

    The order matters: init containers decide first (Init:N/M, Init:<reason>), then regular containers from
    last to first, then deletion (Terminating, or Unknown for a pod on a lost node).
    """
    spec, status = mapping(pod.get("spec")), mapping(pod.get("status"))
    phase = text(status.get("phase"))
    reason = text(status.get("reason")) or phase
    for entry in sequence(status.get("conditions")):
        if dig(entry, "type") == "PodScheduled" and dig(entry, "reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_containers = sequence(spec.get("initContainers"))
    total = len(sequence(spec.get("containers"))) + sum(map(is_restartable_init_container, init_containers))
    all_init, sidecars = _Tally(), _Tally()
    init_reason = _scan_init_containers(status, init_containers, all_init, sidecars)
    reason = init_reason or reason
    tally = all_init
    if init_reason is None or _is_condition_true(pod, "Initialized"):
        # Once initialised, only sidecar restarts count among the init containers.
        tally = _Tally(ready=all_init.ready, restarts=sidecars.restarts, last_restart=sidecars.last_restart)
        reason = _scan_containers(pod, tally, reason)
    if dig(pod, "metadata", "deletionTimestamp") is not None:
        if text(status.get("reason")) == NODE_LOST:
            reason = "Unknown"
        elif phase not in TERMINAL_PHASES:
            reason = "Terminating"
    return PodSummary(tally.ready, total, reason, tally.restarts, tally.last_restart)


def _scan_init_containers(
    status: Mapping[str, Any], init_containers: Sequence[Any], all_init: _Tally, sidecars: _Tally
) -> str | None:
    """Count init restarts; return the Init:… reason of the first init container still in the way, if any."""
    init_specs = {text(dig(container, "name")): container for container in init_containers}
    statuses = sequence(status.get("initContainerStatuses"))
    for index, container in enumerate(mapping(entry) for entry in statuses):
        all_init.count_restarts(container)
        restartable = is_restartable_init_container(init_specs.get(text(container.get("name"))))
        if restartable:
            sidecars.count_restarts(container)
        state = mapping(container.get("state"))
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if isinstance(terminated, Mapping) and integer(terminated.get("exitCode")) == 0:
            continue
        if restartable and container.get("started") is True:
            all_init.ready += 1 if container.get("ready") is True else 0
            continue
        if isinstance(terminated, Mapping):
            return "Init:" + _terminated_reason(terminated)
        waiting_reason = text(dig(waiting, "reason"))
        if isinstance(waiting, Mapping) and waiting_reason and waiting_reason != "PodInitializing":
            return "Init:" + waiting_reason
        return f"Init:{index}/{len(init_containers)}"
    return None


def _scan_containers(pod: JSONObject, tally: _Tally, reason: str) -> str:
    has_running = False
    for container in reversed([mapping(entry) for entry in sequence(dig(pod, "status", "containerStatuses"))]):
        tally.count_restarts(container)
        state = mapping(container.get("state"))
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if isinstance(waiting, Mapping) and text(waiting.get("reason")):
            reason = text(waiting.get("reason"))
        elif isinstance(terminated, Mapping):
            reason = _terminated_reason(terminated)
        elif container.get("ready") is True and isinstance(state.get("running"), Mapping):
            has_running = True
            tally.ready += 1
    if reason == "Completed" and has_running:
        reason = "Running" if _is_condition_true(pod, "Ready") else "NotReady"
    return reason


def _terminated_reason(terminated: Mapping[str, Any]) -> str:
    if reason := text(terminated.get("reason")):
        return reason
    if signal := integer(terminated.get("signal")):
        return f"Signal:{signal}"
    return f"ExitCode:{integer(terminated.get('exitCode'))}"


def _is_condition_true(pod: JSONObject, condition_type: str) -> bool:
    found = condition(pod, condition_type)
    return found is not None and found.get("status") == "True"


def pod_ip(pod: JSONObject) -> str:
    """The first pod IP ("" when none), as upstream's printers and field selectors use it."""
    ips = sequence(dig(pod, "status", "podIPs"))
    if ips:
        return text(dig(ips[0], "ip"))
    return text(dig(pod, "status", "podIP"))


def _readiness_gates(pod: JSONObject, now: datetime) -> str:
    gates = sequence(dig(pod, "spec", "readinessGates"))
    if not gates:
        return NONE
    satisfied = 0
    for gate in gates:
        found = condition(pod, text(dig(gate, "conditionType")))
        satisfied += 1 if found is not None and found.get("status") == "True" else 0
    return f"{satisfied}/{len(gates)}"


def _ready_cell(pod: JSONObject, now: datetime) -> str:
    summary = summarize_pod(pod)
    return f"{summary.ready}/{summary.total}"


def _or_none(value: str) -> str:
    return value or NONE


COLUMNS = (
    NAME,
    Column("Ready", "string", description="The aggregate readiness state of this pod for accepting traffic.",
           value=_ready_cell),
    Column("Status", "string", description="The aggregate status of the containers in this pod.",
           value=lambda pod, now: summarize_pod(pod).status),
    Column("Restarts", "string",
           description="The number of times the containers in this pod have been restarted and when the last "
                       "container in this pod has restarted.",
           value=lambda pod, now: summarize_pod(pod).restarts_text(now)),
    AGE,
    Column("IP", "string", priority=1, description="The IP address allocated to the pod.",
           value=lambda pod, now: _or_none(pod_ip(pod))),
    Column("Node", "string", priority=1, description="The node the pod is bound to.",
           value=lambda pod, now: _or_none(text(dig(pod, "spec", "nodeName")))),
    Column("Nominated Node", "string", priority=1, description="The node the scheduler nominated for preemption.",
           value=lambda pod, now: _or_none(text(dig(pod, "status", "nominatedNodeName")))),
    Column("Readiness Gates", "string", priority=1, description="Readiness gates that are satisfied, of all.",
           value=_readiness_gates),
)

SELECTABLE_FIELDS = (
    SelectableField("spec.nodeName", lambda pod: text(dig(pod, "spec", "nodeName"))),
    SelectableField("spec.restartPolicy", lambda pod: text(dig(pod, "spec", "restartPolicy"))),
    SelectableField("spec.schedulerName", lambda pod: text(dig(pod, "spec", "schedulerName"))),
    SelectableField("spec.serviceAccountName", lambda pod: text(dig(pod, "spec", "serviceAccountName"))),
    SelectableField("spec.hostNetwork", lambda pod: "true" if dig(pod, "spec", "hostNetwork") is True else "false"),
    SelectableField("status.phase", lambda pod: text(dig(pod, "status", "phase"))),
    SelectableField("status.podIP", pod_ip),
    SelectableField("status.nominatedNodeName", lambda pod: text(dig(pod, "status", "nominatedNodeName"))),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Pod", plural="pods", namespaced=True,
    short_names=("po",), categories=("all",),
    subresources=(
        Subresource("attach", "PodAttachOptions", verbs=CONNECT_VERBS, connect=True),
        Subresource("binding", "Binding", verbs=CREATE_ONLY),
        Subresource("ephemeralcontainers", "Pod"),
        Subresource("eviction", "Eviction", group="policy", version="v1", verbs=CREATE_ONLY),
        Subresource("exec", "PodExecOptions", verbs=CONNECT_VERBS, connect=True),
        Subresource("log", "Pod", verbs=GET_ONLY),
        Subresource("portforward", "PodPortForwardOptions", verbs=CONNECT_VERBS, connect=True),
        Subresource("proxy", "PodProxyOptions", verbs=PROXY_VERBS, connect=True),
        Subresource("status", "Pod"),
    ),
    strategy=PodStrategy(),
    columns=COLUMNS,
    selectable_fields=SELECTABLE_FIELDS,
)
