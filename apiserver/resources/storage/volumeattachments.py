"""VolumeAttachments (storage.k8s.io/v1): a request to attach a volume to a node, and its result."""
from __future__ import annotations

from apiserver.registry.columns import dig, text
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, Subresource

COLUMNS = (
    NAME,
    Column("Attacher", "string", "name", description="The driver that attaches the volume.",
           value=lambda obj, now: text(dig(obj, "spec", "attacher"))),
    Column("PV", "string", description="The persistent volume to attach.",
           value=lambda obj, now: text(dig(obj, "spec", "source", "persistentVolumeName"))),
    Column("Node", "string", description="The node to attach the volume to.",
           value=lambda obj, now: text(dig(obj, "spec", "nodeName"))),
    Column("Attached", "boolean", description="Whether the volume is attached.",
           value=lambda obj, now: dig(obj, "status", "attached") is True),
    AGE,
)

SPEC = ResourceSpec(
    group="storage.k8s.io", version="v1", kind="VolumeAttachment", plural="volumeattachments", namespaced=False,
    subresources=(Subresource("status", "VolumeAttachment"),), columns=COLUMNS,
)
