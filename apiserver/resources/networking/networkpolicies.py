"""NetworkPolicies (networking.k8s.io/v1): allowed traffic to and from selected pods."""
from __future__ import annotations

from apiserver.registry.columns import dig, format_label_selector
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("Pod-Selector", "string", description="The pods this policy applies to.",
           value=lambda obj, now: format_label_selector(dig(obj, "spec", "podSelector") or {})),
    AGE,
)

SPEC = ResourceSpec(
    group="networking.k8s.io", version="v1", kind="NetworkPolicy", plural="networkpolicies", namespaced=True,
    short_names=("netpol",), columns=COLUMNS,
)
