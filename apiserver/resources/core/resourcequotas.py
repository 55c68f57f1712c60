"""ResourceQuotas (core/v1): aggregate limits per namespace; the printer shows used/hard per resource.

Validation as upstream v1.32's ValidateResourceQuota for what users write: each `spec.hard` name is a quota
resource, each quantity non-negative (whole for countable resources); scopes and scopeSelector expressions
are known scopes that fit the quota's resources (quota_scopes.py); scopes are immutable. Status is cleared on
create and kept from the stored quota on spec writes, as upstream's strategy does.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import dig, mapping, text
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.podspec_resources import (
    STANDARD_QUOTA_RESOURCES,
    quantity_of,
    validate_resource_name,
    validate_resource_quantity,
)
from apiserver.resources.core.quota_scopes import validate_scope_selector, validate_scopes, validate_scopes_update


def quota_usage(obj: JSONObject, limits: bool) -> str:
    """`name: used/hard` for each hard limit, sorted by name, split into requests and `limits.*`."""
    hard, used = mapping(dig(obj, "status", "hard")), mapping(dig(obj, "status", "used"))
    entries = []
    for name in sorted(hard):
        if name.startswith("limits.") == limits:
            entries.append(f"{name}: {text(used.get(name)) or '0'}/{text(hard[name])}")
    return ", ".join(entries)


def _requests(obj: JSONObject, now: datetime) -> str:
    return quota_usage(obj, limits=False)


def _limits(obj: JSONObject, now: datetime) -> str:
    return quota_usage(obj, limits=True)


COLUMNS = (
    NAME,
    Column("Request", "string",
           description="Request represents a minimum amount of cpu/memory that a container may consume.",
           value=_requests),
    Column("Limit", "string",
           description="Limits control the maximum amount of cpu/memory that a container may use independent of "
                       "contention on the node.",
           value=_limits),
    AGE,
)

def validate_quota_resources(values: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for name in sorted(values):
        resource_path = path.key(name)
        errors.extend(validate_resource_name(name, resource_path))
        if "/" not in name and name not in STANDARD_QUOTA_RESOURCES and not name.startswith("requests.hugepages-"):
            errors.append(FieldError.invalid(resource_path, name, "must be a standard resource for quota"))
        quantity = quantity_of(values[name])
        if quantity is not None:
            errors.extend(validate_resource_quantity(name, quantity, resource_path))
    return errors


def validate_resource_quota(obj: Mapping[str, Any]) -> FieldErrors:
    spec = mapping(obj.get("spec"))
    errors = validate_quota_resources(mapping(spec.get("hard")), FieldPath("spec", "hard"))
    errors.extend(validate_scopes(spec, FieldPath("spec")))
    errors.extend(validate_scope_selector(spec, FieldPath("spec")))
    status = mapping(obj.get("status"))
    errors.extend(validate_quota_resources(mapping(status.get("hard")), FieldPath("status", "hard")))
    errors.extend(validate_quota_resources(mapping(status.get("used")), FieldPath("status", "used")))
    return errors


class ResourceQuotaStrategy(DefaultStrategy):
    """Resource names, quantities and scopes of quotas; status starts empty."""

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        obj.pop("status", None)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_resource_quota(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = validate_resource_quota(obj)
        errors.extend(validate_scopes_update(mapping(obj.get("spec")), mapping(old.get("spec"))))
        return errors


SPEC = ResourceSpec(
    group="", version="v1", kind="ResourceQuota", plural="resourcequotas", namespaced=True,
    short_names=("quota",), subresources=(Subresource("status", "ResourceQuota"),),
    strategy=ResourceQuotaStrategy(), columns=COLUMNS,
)
