"""ServiceAccounts (core/v1): identities for workloads; `token` issues a bound TokenRequest.

The strategy keeps only the name of each `secrets` reference (upstream's cleanSecretReferences); names follow
the generic DNS-1123 subdomain rule of the store.
"""
from __future__ import annotations

from apiserver.registry.columns import sequence
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, CREATE_ONLY, NAME, Column, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject


def clean_secret_references(obj: MutableObject) -> None:
    """Each entry of `secrets` keeps its name only."""
    secrets = obj.get("secrets")
    if isinstance(secrets, list):
        obj["secrets"] = [{"name": entry["name"]} if isinstance(entry, dict) and entry.get("name") else {}
                          for entry in secrets]


class ServiceAccountStrategy(DefaultStrategy):
    """Secret references reduced to names on create and update."""

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        clean_secret_references(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        clean_secret_references(obj)


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
    strategy=ServiceAccountStrategy(),
    columns=COLUMNS,
)
