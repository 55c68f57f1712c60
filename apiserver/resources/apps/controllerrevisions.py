"""ControllerRevisions (apps/v1): immutable snapshots of a StatefulSet's or DaemonSet's template."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, dig, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec


def controller_of(obj: JSONObject, now: datetime | None = None) -> str:
    """The controlling owner as `kind.group/name` (lowercased kind), `<none>` without one."""
    for owner in map(mapping, sequence(dig(obj, "metadata", "ownerReferences"))):
        if owner.get("controller") is True:
            group = text(owner.get("apiVersion")).rpartition("/")[0]
            kind = text(owner.get("kind"))
            qualified = f"{kind}.{group}" if group else kind
            return f"{qualified.lower()}/{text(owner.get('name'))}" if kind else text(owner.get("name"))
    return NONE


COLUMNS = (
    NAME,
    Column("Controller", "string", description="Controller of the object", value=controller_of),
    Column("Revision", "string", description="The revision this object represents.",
           value=lambda obj, now: integer(obj.get("revision"))),
    AGE,
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="ControllerRevision", plural="controllerrevisions", namespaced=True,
    columns=COLUMNS,
)
