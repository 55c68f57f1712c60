"""ResourceQuota's plugin configuration: `limitedResources` (ResourceQuotaConfiguration).

Each entry names a group-resource whose consumption is limited by default: creating such an object that uses a
resource name containing one of `matchContains` needs a quota covering that name (`insufficient quota to consume:
...`), and an object in one of `matchScopes` needs a quota with a scope of that name (`insufficient quota to
match these scopes: ...`, an error upstream does not wrap, so a 500). Accepted kinds are upstream's:
`apiserver.config.k8s.io/v1` ResourceQuotaConfiguration and the older `resourcequota.admission.k8s.io/v1beta1`
Configuration.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from apiserver.meta.objects import JSONDict
from apiserver.meta.validation import FieldError, FieldPath, aggregate_messages

KINDS: Final = {("apiserver.config.k8s.io/v1", "ResourceQuotaConfiguration"),
                ("resourcequota.admission.k8s.io/v1beta1", "Configuration"),
                ("resourcequota.admission.k8s.io/v1alpha1", "Configuration")}


class QuotaConfigError(ValueError):
    """The plugin cannot start with this configuration."""


@dataclass(frozen=True, slots=True)
class LimitedResource:
    api_group: str
    resource: str
    match_contains: tuple[str, ...] = ()
    match_scopes: tuple[JSONDict, ...] = ()


def limited_resources(configuration: Mapping[str, Any] | None) -> tuple[LimitedResource, ...]:
    """The configured limited resources (none without configuration). Raises QuotaConfigError."""
    if configuration is None:
        return ()
    api_version, kind = str(configuration.get("apiVersion") or ""), str(configuration.get("kind") or "")
    if (api_version, kind) not in KINDS:
        raise QuotaConfigError(f'no kind "{kind}" is registered for version "{api_version}"')
    found: list[LimitedResource] = []
    errors: list[FieldError] = []
    for index, entry in enumerate(configuration.get("limitedResources") or ()):
        entry = entry if isinstance(entry, Mapping) else {}
        if not entry.get("resource"):
            errors.append(FieldError.required(FieldPath("limitedResources").index(index).child("resource")))
        found.append(LimitedResource(
            str(entry.get("apiGroup") or ""), str(entry.get("resource") or ""),
            tuple(str(value) for value in entry.get("matchContains") or ()),
            tuple(scope for scope in entry.get("matchScopes") or () if isinstance(scope, dict))))
    if errors:
        raise QuotaConfigError(aggregate_messages(str(error) for error in errors))
    return tuple(found)


def limited_by_default(usage: Mapping[str, Any], limited: tuple[LimitedResource, ...]) -> set[str]:
    """The positively used resource names that contain one of the limited `matchContains` strings."""
    return {name for entry in limited for name, amount in usage.items()
            if getattr(amount, "value", amount) > 0 and any(part in name for part in entry.match_contains)}


def go_scope_requirements(scopes: list[JSONDict]) -> str:
    """`%v` of []ScopedResourceSelectorRequirement: `[{PriorityClass In [high]}]`."""
    rendered = [f"{{{scope.get('scopeName') or ''} {scope.get('operator') or ''} "
                f"[{' '.join(str(value) for value in scope.get('values') or ())}]}}" for scope in scopes]
    return "[" + " ".join(rendered) + "]"
