"""Which webhooks a request calls: rules, matchPolicy, namespaceSelector, objectSelector and the exemptions.

Upstream's k8s.io/apiserver/pkg/admission/plugin/webhook/{generic/webhook.go,predicates}: a webhook is skipped
when a selector does not match; otherwise the rules decide, first exactly, then (matchPolicy Equivalent) for
every other served version of the same stored resource, in which case the webhook is sent the object in the
version its rule names. Selector errors are only reported for webhooks whose rules match.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apiserver.admission.interface import AdmissionAttributes, PluginContext
from apiserver.admission.plugins.rule_matching import (
    is_namespace_request,
    labels_of,
    object_selector_matches,
    rule_matches,
)
from apiserver.admission.plugins.webhooks_source import GROUP, Webhook
from apiserver.meta.errors import ApiError, InternalError, NotFound
from apiserver.meta.selectors import LabelSelector
from apiserver.registry.catalog import ResourceCatalog

# rules.IsExemptAdmissionConfigurationResource: admission configuration is never sent to webhooks, so a broken
# webhook can always be removed.
EXEMPT_KINDS = frozenset({
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
})


@dataclass(frozen=True, slots=True)
class Invocation:
    """A webhook to call, with the resource and kind the request is sent to it as."""

    webhook: Webhook
    group: str
    version: str
    resource: str
    subresource: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class CatalogSource(Protocol):
    def current_catalog(self) -> ResourceCatalog | None:
        """The served resources, or None when unknown."""
        ...


def is_exempt(attributes: AdmissionAttributes) -> bool:
    return attributes.group == GROUP and attributes.kind in EXEMPT_KINDS


def _rules_invocation(webhook: Webhook, attributes: AdmissionAttributes,
                      catalog: ResourceCatalog | None) -> Invocation | None:
    for rule in webhook.rules:
        if rule_matches(rule, attributes, attributes.group, attributes.version, attributes.resource):
            return Invocation(webhook, attributes.group, attributes.version, attributes.resource,
                              attributes.subresource, attributes.kind)
    if webhook.match_policy != "Equivalent" or catalog is None:
        return None
    spec = catalog.lookup(attributes.group, attributes.version, attributes.resource)
    if spec is None:
        return None
    equivalents = [other for other in catalog.sharing_storage(spec) if other.resource_key != spec.resource_key]
    for rule in webhook.rules:
        for other in equivalents:
            if rule_matches(rule, attributes, other.group, other.version, other.plural):
                kind = attributes.kind if attributes.subresource else other.kind
                return Invocation(webhook, other.group, other.version, other.plural, attributes.subresource, kind)
    return None


async def namespace_selector_matches(selector: LabelSelector, attributes: AdmissionAttributes,
                                     context: PluginContext) -> bool:
    """namespace.Matcher: cluster-scoped objects always match (except namespaces themselves, which match on
    their own labels); raises NotFound when the namespace does not exist."""
    is_namespace = is_namespace_request(attributes)
    if not attributes.namespace and not is_namespace:
        return True
    if selector.is_empty():
        return True
    if is_namespace and not attributes.subresource and attributes.object is not None:
        return selector.matches(labels_of(attributes.object))
    name = attributes.namespace or attributes.name
    namespace = await context.namespaces.get(name)
    if namespace is None:
        namespace = await context.live_namespaces.get(name)
    if namespace is None:
        raise NotFound("namespaces", name)
    return selector.matches(labels_of(namespace))


async def invocation_for(webhook: Webhook, attributes: AdmissionAttributes, context: PluginContext,
                         catalog: ResourceCatalog | None) -> Invocation | None:
    """generic.Webhook.ShouldCallHook without the matchConditions: the invocation, None to skip the webhook.

    Raises the selector's error (InternalError, or NotFound for a missing namespace) only when the rules match.
    """
    pending: ApiError | None = None
    if webhook.namespace_selector is None or webhook.object_selector is None:
        pending = InternalError(webhook.selector_error)
    else:
        try:
            if not await namespace_selector_matches(webhook.namespace_selector, attributes, context):
                return None
        except ApiError as error:
            pending = error
        if not object_selector_matches(webhook.object_selector, attributes):
            return None
    invocation = _rules_invocation(webhook, attributes, catalog)
    if invocation is None:
        return None
    if pending is not None:
        raise pending
    return invocation
