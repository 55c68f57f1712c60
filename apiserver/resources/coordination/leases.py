"""Leases (coordination.k8s.io/v1): lightweight leader election and node heartbeats."""
from __future__ import annotations

from apiserver.registry.columns import dig, text
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("Holder", "string", description="The holder of the lease.",
           value=lambda obj, now: text(dig(obj, "spec", "holderIdentity"))),
    AGE,
)

SPEC = ResourceSpec(
    group="coordination.k8s.io", version="v1", kind="Lease", plural="leases", namespaced=True, columns=COLUMNS,
)
