"""Nodes (core/v1): cluster-scoped; stored under upstream's historical `minions` prefix."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, UNKNOWN, dig, mapping, sequence, text
from apiserver.registry.spec import (
    AGE,
    NAME,
    PROXY_VERBS,
    Column,
    JSONObject,
    ResourceSpec,
    SelectableField,
    Subresource,
)

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
LEGACY_ROLE_LABEL = "kubernetes.io/role"


def node_status(node: JSONObject, now: datetime | None = None) -> str:
    """`Ready`, `NotReady` or `Unknown` from the Ready condition, plus `SchedulingDisabled` when cordoned."""
    states = []
    for entry in map(mapping, sequence(dig(node, "status", "conditions"))):
        if entry.get("type") == "Ready":
            states = ["Ready" if entry.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if dig(node, "spec", "unschedulable") is True:
        states.append("SchedulingDisabled")
    return ",".join(states)


def node_roles(node: JSONObject, now: datetime | None = None) -> str:
    """Roles from `node-role.kubernetes.io/<role>` labels and the legacy `kubernetes.io/role`, sorted."""
    roles = set()
    for key, value in mapping(dig(node, "metadata", "labels")).items():
        if key.startswith(ROLE_LABEL_PREFIX) and key[len(ROLE_LABEL_PREFIX):]:
            roles.add(key[len(ROLE_LABEL_PREFIX):])
        elif key == LEGACY_ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or NONE


def _address(node: JSONObject, address_type: str) -> str:
    for address in map(mapping, sequence(dig(node, "status", "addresses"))):
        if address.get("type") == address_type:
            return text(address.get("address"))
    return NONE


def _node_info(key: str) -> Column:
    names = {"osImage": "OS-Image", "kernelVersion": "Kernel-Version", "containerRuntimeVersion": "Container-Runtime"}
    return Column(names[key], "string", priority=1, description=f"The node's reported {key}.",
                  value=lambda node, now: text(dig(node, "status", "nodeInfo", key)) or UNKNOWN)


COLUMNS = (
    NAME,
    Column("Status", "string", description="The status of the node", value=node_status),
    Column("Roles", "string", description="The roles of the node", value=node_roles),
    AGE,
    Column("Version", "string", description="Kubelet version reported by the node.",
           value=lambda node, now: text(dig(node, "status", "nodeInfo", "kubeletVersion"))),
    Column("Internal-IP", "string", priority=1, description="The node's first InternalIP address.",
           value=lambda node, now: _address(node, "InternalIP")),
    Column("External-IP", "string", priority=1, description="The node's first ExternalIP address.",
           value=lambda node, now: _address(node, "ExternalIP")),
    _node_info("osImage"),
    _node_info("kernelVersion"),
    _node_info("containerRuntimeVersion"),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Node", plural="nodes", namespaced=False, short_names=("no",),
    subresources=(
        Subresource("proxy", "NodeProxyOptions", verbs=PROXY_VERBS, connect=True),
        Subresource("status", "Node"),
    ),
    columns=COLUMNS,
    selectable_fields=(
        SelectableField("spec.unschedulable",
                        lambda node: "true" if dig(node, "spec", "unschedulable") is True else "false"),
    ),
    storage_path="minions",
)
