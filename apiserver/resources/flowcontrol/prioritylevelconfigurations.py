"""PriorityLevelConfigurations (flowcontrol.apiserver.k8s.io/v1): concurrency shares and queuing per level."""
from __future__ import annotations

from apiserver.registry.columns import NONE, dig, integer, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource


def _limited(obj: JSONObject, *path: str) -> int | str:
    # Exempt levels have no limits: upstream prints <none> for every limit column then.
    limited = dig(obj, "spec", "limited")
    if limited is None:
        return NONE
    value = dig(limited, *path)
    if path[0] == "limitResponse" and dig(limited, "limitResponse", "queuing") is None:
        return NONE
    return integer(value)


def _limit_column(title: str, description: str, *path: str) -> Column:
    return Column(title, "string", description=description, value=lambda obj, now: _limited(obj, *path))


COLUMNS = (
    NAME,
    Column("Type", "string", description="Whether the level is Exempt or Limited.",
           value=lambda obj, now: text(dig(obj, "spec", "type"))),
    _limit_column("NominalConcurrencyShares", "This level's share of the server's concurrency limit.",
                  "nominalConcurrencyShares"),
    _limit_column("Queues", "The number of queues for this level.", "limitResponse", "queuing", "queues"),
    _limit_column("HandSize", "The number of queues a flow is shuffled among.",
                  "limitResponse", "queuing", "handSize"),
    _limit_column("QueueLengthLimit", "The maximum number of requests waiting in one queue.",
                  "limitResponse", "queuing", "queueLengthLimit"),
    AGE,
)

SPEC = ResourceSpec(
    group="flowcontrol.apiserver.k8s.io", version="v1", kind="PriorityLevelConfiguration",
    plural="prioritylevelconfigurations", namespaced=False,
    subresources=(Subresource("status", "PriorityLevelConfiguration"),), columns=COLUMNS,
)
