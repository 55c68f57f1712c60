"""ServiceAccounts (core/v1): identities for workloads; `token` issues a bound TokenRequest."""
from __future__ import annotations

from apiserver.registry.columns import sequence
from apiserver.registry.spec import AGE, CREATE_ONLY, NAME, Column, ResourceSpec, Subresource

COLUMNS = (
    NAME,
    Column("Secrets", "string", description="Number of secrets listed for this service account.",
           value=lambda obj, now: len(sequence(obj.get("secrets")))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ServiceAccount", plural="serviceaccounts", namespaced=True,
    short_names=("sa",),
    subresources=(
        Subresource("token", "TokenRequest", group="authentication.k8s.io", version="v1", verbs=CREATE_ONLY),
    ),
    columns=COLUMNS,
)
