"""IngressClasses (networking.k8s.io/v1): which controller implements an Ingress."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, dig, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec


def parameters(obj: JSONObject, now: datetime | None = None) -> str:
    """`Kind.apiGroup/name` of the parameters reference, `<none>` without one."""
    reference = dig(obj, "spec", "parameters")
    if reference is None:
        return NONE
    kind = text(dig(reference, "kind"))
    group = dig(reference, "apiGroup")
    qualified = f"{kind}.{text(group)}" if group is not None else kind
    return f"{qualified}/{text(dig(reference, 'name'))}"


COLUMNS = (
    NAME,
    Column("Controller", "string", description="Controller that is responsible for handling this class",
           value=lambda obj, now: text(dig(obj, "spec", "controller"))),
    Column("Parameters", "string", description="A reference to a resource with additional parameters",
           value=parameters),
    AGE,
)

SPEC = ResourceSpec(
    group="networking.k8s.io", version="v1", kind="IngressClass", plural="ingressclasses", namespaced=False,
    columns=COLUMNS,
)
