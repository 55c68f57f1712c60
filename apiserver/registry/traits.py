"""ResourceTraits: the per-type constants upstream's strategies answer with, for every built-in resource.

Upstream spreads these over one strategy per type (AllowCreateOnUpdate, AllowUnconditionalUpdate,
ReturnDeletedObject, the name validator handed to ValidateObjectMeta, whether PrepareForCreate sets
metadata.generation). Here they are one table keyed by the resource as errors name it (`deployments.apps`), so
the generic store reproduces them without a strategy class per type. A strategy with `traits` set (custom
resources, later type-specific strategies) overrides its table entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from apiserver.meta.validation import (
    NameValidator,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    name_is_path_segment,
)


@dataclass(frozen=True, slots=True)
class ResourceTraits:
    """What the store needs to know about a type beyond its spec.

    `name_validator`: the rule for metadata.name (and generateName) on create.
    `allow_create_on_update`: a PUT to a missing object creates it.
    `allow_unconditional_update`: a PUT without metadata.resourceVersion overwrites whatever is stored.
    `return_deleted_object`: a delete answers with the object, not a Success Status.
    `tracks_generation`: metadata.generation starts at 1 and counts changes outside metadata and status; None
    means "when the resource has a status subresource".
    `keeps_status_on_create`: a create may set status although the resource has a status subresource (nodes).
    """

    name_validator: NameValidator = name_is_dns_subdomain
    allow_create_on_update: bool = False
    allow_unconditional_update: bool = True
    return_deleted_object: bool = False
    tracks_generation: bool | None = None
    keeps_status_on_create: bool = False


DEFAULT_TRAITS: Final = ResourceTraits()

_RBAC = ResourceTraits(name_validator=name_is_path_segment, allow_create_on_update=True)
_CREATE_ON_UPDATE = ResourceTraits(allow_create_on_update=True)
_RETURNS_OBJECT = ResourceTraits(return_deleted_object=True)
_NO_GENERATION = ResourceTraits(tracks_generation=False)
_GENERATION = ResourceTraits(tracks_generation=True)

# Upstream v1.32 (pkg/registry/**/strategy.go and storage.go, pkg/apis/**/validation). Entries not listed use
# DEFAULT_TRAITS: DNS-1123 subdomain names, no create on update, unconditional updates allowed, a Success Status
# on delete, generation tracked exactly when there is a status subresource.
BUILTIN_TRAITS: Final[dict[str, ResourceTraits]] = {
    "namespaces": ResourceTraits(name_validator=name_is_dns_label, return_deleted_object=True,
                                 tracks_generation=False),
    "services": ResourceTraits(name_validator=name_is_dns1035_label, allow_create_on_update=True,
                               return_deleted_object=True, tracks_generation=False),
    "pods": ResourceTraits(return_deleted_object=True, tracks_generation=False),
    "serviceaccounts": _RETURNS_OBJECT,
    "persistentvolumes": ResourceTraits(return_deleted_object=True, tracks_generation=False),
    "persistentvolumeclaims": ResourceTraits(return_deleted_object=True, tracks_generation=False),
    "resourcequotas": ResourceTraits(return_deleted_object=True, tracks_generation=False),
    "nodes": ResourceTraits(tracks_generation=False, keeps_status_on_create=True),
    "events": _CREATE_ON_UPDATE,
    "events.events.k8s.io": _CREATE_ON_UPDATE,
    "endpoints": _CREATE_ON_UPDATE,
    "limitranges": _CREATE_ON_UPDATE,
    "leases.coordination.k8s.io": _CREATE_ON_UPDATE,
    "roles.rbac.authorization.k8s.io": _RBAC,
    "rolebindings.rbac.authorization.k8s.io": _RBAC,
    "clusterroles.rbac.authorization.k8s.io": _RBAC,
    "clusterrolebindings.rbac.authorization.k8s.io": _RBAC,
    # "We don't care what you call your certificate requests": only the generic path-segment rule applies.
    "certificatesigningrequests.certificates.k8s.io": ResourceTraits(name_validator=name_is_path_segment,
                                                                     tracks_generation=False),
    "storageclasses.storage.k8s.io": _RETURNS_OBJECT,
    "volumeattachments.storage.k8s.io": _NO_GENERATION,
    "apiservices.apiregistration.k8s.io": ResourceTraits(allow_unconditional_update=False, tracks_generation=False),
    "customresourcedefinitions.apiextensions.k8s.io": ResourceTraits(allow_unconditional_update=False,
                                                                      tracks_generation=True),
    # Types without a status subresource whose strategies still set and bump metadata.generation.
    "networkpolicies.networking.k8s.io": _GENERATION,
    "ingressclasses.networking.k8s.io": _GENERATION,
    "endpointslices.discovery.k8s.io": _GENERATION,
    "podtemplates": _GENERATION,
    "mutatingwebhookconfigurations.admissionregistration.k8s.io": _GENERATION,
    "validatingwebhookconfigurations.admissionregistration.k8s.io": _GENERATION,
    "validatingadmissionpolicybindings.admissionregistration.k8s.io": _GENERATION,
}


def builtin_traits(group_resource: str) -> ResourceTraits:
    """The table entry of a built-in resource (`pods`, `deployments.apps`), or the defaults."""
    return BUILTIN_TRAITS.get(group_resource, DEFAULT_TRAITS)
