"""APIServices (apiregistration.k8s.io/v1): stored group-qualified, as the aggregator's own storage does."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import condition, dig, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.resources.apiregistration.apiservice_validation import APIServiceStrategy


def service(obj: JSONObject, now: datetime | None = None) -> str:
    """`namespace/name` of the backing service, or `Local` for a group served by this server."""
    reference = dig(obj, "spec", "service")
    if reference is None:
        return "Local"
    return f"{text(dig(reference, 'namespace'))}/{text(dig(reference, 'name'))}"


def available(obj: JSONObject, now: datetime | None = None) -> str:
    """`True`, `False (Reason)`, or `Unknown` before the availability controller has looked."""
    found = condition(obj, "Available")
    if found is None:
        return "Unknown"
    status, reason = text(found.get("status")), text(found.get("reason"))
    return f"{status} ({reason})" if status != "True" and reason else status


COLUMNS = (
    NAME,
    Column("Service", "string", description="The reference to the service that hosts this API endpoint.",
           value=service),
    Column("Available", "string", description="Whether this service is available.", value=available),
    AGE,
)

SPEC = ResourceSpec(
    group="apiregistration.k8s.io", version="v1", kind="APIService", plural="apiservices", namespaced=False,
    categories=("api-extensions",), subresources=(Subresource("status", "APIService"),), columns=COLUMNS,
    storage_path="apiregistration.k8s.io/apiservices", strategy=APIServiceStrategy(),
)
