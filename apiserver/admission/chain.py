"""The admission chain: plugins by name, always in kube-apiserver's order, mutating ones first, then validating.

Plugins are registered by name in ADMISSION_PLUGINS (name → dotted path of a class taking a PluginContext),
like kube-apiserver's --enable-admission-plugins names. `enabled_plugin_names` turns the enable/disable flags
into the chain's names exactly as upstream's AdmissionOptions do: the default-on plugins plus the enabled ones,
minus the disabled ones, in ALL_ORDERED_PLUGINS order whatever the order of the flags. Plugins that read a
configuration (class attribute `configurable`) get their entry of `--admission-control-config-file` (config.py).
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence

from apiserver.admission.config import PREFIX, AdmissionConfigError, AdmissionConfiguration
from apiserver.admission.interface import AdmissionAttributes, MutatingPlugin, PluginContext, ValidatingPlugin
from apiserver.meta.errors import go_quote

logger = logging.getLogger(__name__)

_PLUGINS = "apiserver.admission.plugins"
ADMISSION_PLUGINS: Mapping[str, str] = {
    "NamespaceLifecycle": f"{_PLUGINS}.namespace_lifecycle.NamespaceLifecycle",
    "LimitRanger": f"{_PLUGINS}.limit_ranger.LimitRanger",
    "ServiceAccount": f"{_PLUGINS}.service_account.ServiceAccount",
    "NodeRestriction": f"{_PLUGINS}.node_restriction.NodeRestriction",
    "PodSecurity": "apiserver.admission.podsecurity.plugin.PodSecurity",
    "Priority": f"{_PLUGINS}.priority.Priority",
    "DefaultTolerationSeconds": f"{_PLUGINS}.default_toleration_seconds.DefaultTolerationSeconds",
    "DefaultStorageClass": f"{_PLUGINS}.default_storage_class.DefaultStorageClass",
    "PersistentVolumeClaimResize": f"{_PLUGINS}.persistent_volume_claim_resize.PersistentVolumeClaimResize",
    "RuntimeClass": f"{_PLUGINS}.runtime_class.RuntimeClass",
    "CertificateApproval": f"{_PLUGINS}.certificates.CertificateApproval",
    "CertificateSigning": f"{_PLUGINS}.certificates.CertificateSigning",
    "CertificateSubjectRestriction": f"{_PLUGINS}.certificate_subject_restriction.CertificateSubjectRestriction",
    "DefaultIngressClass": f"{_PLUGINS}.default_ingress_class.DefaultIngressClass",
    "MutatingAdmissionWebhook": f"{_PLUGINS}.webhooks_mutating.MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook": f"{_PLUGINS}.webhooks_validating.ValidatingAdmissionWebhook",
    "ValidatingAdmissionPolicy": f"{_PLUGINS}.validating_policy.ValidatingAdmissionPolicy",
    "ResourceQuota": f"{_PLUGINS}.resource_quota.ResourceQuota",
}

# kube-apiserver v1.32's AllOrderedPlugins (pkg/kubeapiserver/options/plugins.go): every name upstream knows.
ALL_ORDERED_PLUGINS: tuple[str, ...] = (
    "AlwaysAdmit", "NamespaceAutoProvision", "NamespaceLifecycle", "NamespaceExists",
    "LimitPodHardAntiAffinityTopology", "LimitRanger", "ServiceAccount", "NodeRestriction", "TaintNodesByCondition",
    "AlwaysPullImages", "ImagePolicyWebhook", "PodSecurity", "PodNodeSelector", "Priority",
    "DefaultTolerationSeconds", "PodTolerationRestriction", "EventRateLimit", "ExtendedResourceToleration",
    "DefaultStorageClass", "StorageObjectInUseProtection", "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize", "RuntimeClass", "CertificateApproval", "CertificateSigning",
    "ClusterTrustBundleAttest", "CertificateSubjectRestriction", "DefaultIngressClass", "DenyServiceExternalIPs",
    "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook", "ResourceQuota", "AlwaysDeny",
)
# Upstream's default-on set (DefaultOffAdmissionPlugins is everything else).
DEFAULT_ON_PLUGINS: frozenset[str] = frozenset({
    "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultStorageClass", "PersistentVolumeClaimResize",
    "DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota",
    "StorageObjectInUseProtection", "Priority", "TaintNodesByCondition", "RuntimeClass", "CertificateApproval",
    "CertificateSigning", "ClusterTrustBundleAttest", "CertificateSubjectRestriction", "DefaultIngressClass",
    "PodSecurity", "ValidatingAdmissionPolicy",
})
# The chain a server runs without admission flags: upstream's default-on plugins that exist here, in order.
DEFAULT_ENABLED_PLUGINS: tuple[str, ...] = tuple(
    name for name in ALL_ORDERED_PLUGINS if name in DEFAULT_ON_PLUGINS and name in ADMISSION_PLUGINS
)
# The chain of the in-memory endpoint tests: the plugins that need no other cluster objects (a pod needs no
# ServiceAccount there, and keeps the spec it was sent).
DEFAULT_PLUGINS: tuple[str, ...] = ("NamespaceLifecycle", "CertificateApproval", "CertificateSigning")


def admission_flag_problems(enable: Sequence[str], disable: Sequence[str]) -> list[str]:
    """Upstream's validation of --enable-admission-plugins / --disable-admission-plugins, word for word."""
    known = set(ALL_ORDERED_PLUGINS)
    problems = [f"enable-admission-plugins plugin {go_quote(name)} is unknown" for name in enable
                if name not in known]
    problems += [f"disable-admission-plugins plugin {go_quote(name)} is unknown" for name in disable
                 if name not in known]
    overlap = sorted(set(enable) & set(disable))
    if overlap:
        problems.append(f"[{' '.join(overlap)}] in enable-admission-plugins and disable-admission-plugins overlapped")
    return problems


def enabled_plugin_names(enable: Sequence[str] = (), disable: Sequence[str] = ()) -> tuple[str, ...]:
    """The chain's plugin names for the flags, in upstream's order; names upstream knows but this server does
    not implement are left out (logged once at INFO)."""
    disabled = (set(ALL_ORDERED_PLUGINS) - DEFAULT_ON_PLUGINS | set(disable)) - set(enable)
    names = [name for name in ALL_ORDERED_PLUGINS if name not in disabled]
    missing = [name for name in names if name not in ADMISSION_PLUGINS]
    if missing:
        logger.info("admission_plugins_not_implemented", extra={"plugins": ",".join(missing)})
    return tuple(name for name in names if name in ADMISSION_PLUGINS)


class AdmissionChain:
    """Runs every mutating plugin, in order, then (on `validate`) every validating plugin, in order.

    A plugin that does not handle the operation is skipped; the first plugin to raise rejects the request.
    """

    def __init__(self, plugins: Sequence[object] = ()) -> None:
        self.plugins = tuple(plugins)
        self._mutating = tuple(plugin for plugin in self.plugins if hasattr(plugin, "admit"))
        self._validating = tuple(plugin for plugin in self.plugins if hasattr(plugin, "validate"))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(str(getattr(plugin, "name", type(plugin).__name__)) for plugin in self.plugins)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        """The mutating phase: may change `attributes.object`."""
        for plugin in self._mutating:
            mutating: MutatingPlugin = plugin  # type: ignore[assignment]
            if mutating.handles(attributes.operation):
                await mutating.admit(attributes)

    async def validate(self, attributes: AdmissionAttributes) -> None:
        """The validating phase: the object is final."""
        for plugin in self._validating:
            validating: ValidatingPlugin = plugin  # type: ignore[assignment]
            if validating.handles(attributes.operation):
                await validating.validate(attributes)


def build_admission_chain(names: Sequence[str], context: PluginContext,
                          configuration: AdmissionConfiguration | None = None) -> AdmissionChain:
    """The chain of the named plugins, in upstream's order whatever the order of `names`.

    Raises ValueError for a name that is not registered, AdmissionConfigError for a plugin configuration that
    the plugin refuses.
    """
    for name in names:
        if name not in ADMISSION_PLUGINS:
            raise ValueError(f"admission plugin {name!r} is not registered (known: {', '.join(ADMISSION_PLUGINS)})")
    rank = {name: index for index, name in enumerate(ALL_ORDERED_PLUGINS)}
    plugins: list[object] = []
    for name in sorted(dict.fromkeys(names), key=lambda name: rank.get(name, len(rank))):
        module_name, _, class_name = ADMISSION_PLUGINS[name].rpartition(".")
        plugin_class = getattr(importlib.import_module(module_name), class_name)
        plugins.append(_construct(name, plugin_class, context, configuration))
    return AdmissionChain(plugins)


def _construct(name: str, plugin_class: type, context: PluginContext,
               configuration: AdmissionConfiguration | None) -> object:
    own = configuration.for_plugin(name) if configuration is not None else None
    if own is None or not getattr(plugin_class, "configurable", False):
        return plugin_class(context)
    try:
        return plugin_class(context, configuration=own)
    except ValueError as error:
        raise AdmissionConfigError(f'{PREFIX}couldn\'t init admission plugin "{name}": {error}') from None
