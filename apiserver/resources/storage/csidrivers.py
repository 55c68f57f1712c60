"""CSIDrivers (storage.k8s.io/v1): how Kubernetes talks to an installed CSI driver."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, UNSET, dig, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec


def _flag(field: str, default: bool) -> Column:
    def cell(obj: JSONObject, now: datetime) -> bool:
        value = dig(obj, "spec", field)
        return value if isinstance(value, bool) else default

    title = field[0].upper() + field[1:]
    return Column(title, "boolean", description=f"The driver's {field} setting.", value=cell)


def _token_requests(obj: JSONObject, now: datetime) -> str:
    requests = dig(obj, "spec", "tokenRequests")
    if requests is None:
        return UNSET
    return ",".join(text(dig(request, "audience")) for request in sequence(requests))


COLUMNS = (
    NAME,
    _flag("attachRequired", True),
    _flag("podInfoOnMount", False),
    _flag("storageCapacity", False),
    Column("TokenRequests", "string", description="Audiences of the service account tokens the driver receives.",
           value=_token_requests),
    _flag("requiresRepublish", False),
    Column("Modes", "string", description="The volume lifecycle modes the driver supports.",
           value=lambda obj, now: ",".join(map(text, sequence(dig(obj, "spec", "volumeLifecycleModes")))) or NONE),
    AGE,
)

SPEC = ResourceSpec(
    group="storage.k8s.io", version="v1", kind="CSIDriver", plural="csidrivers", namespaced=False, columns=COLUMNS,
)
