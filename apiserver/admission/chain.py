"""The admission chain: plugins by name, in the order given, mutating ones first, then validating ones.

Plugins are registered by name in ADMISSION_PLUGINS (name → dotted path of a class taking a PluginContext),
like kube-apiserver's --enable-admission-plugins names; the order of a chain is the order of the names it is
built from (settings supply it once settings exist; DEFAULT_PLUGINS until then).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from apiserver.admission.interface import AdmissionAttributes, MutatingPlugin, PluginContext, ValidatingPlugin

ADMISSION_PLUGINS: Mapping[str, str] = {
    "NamespaceLifecycle": "apiserver.admission.plugins.namespace_lifecycle.NamespaceLifecycle",
    "CertificateApproval": "apiserver.admission.plugins.certificates.CertificateApproval",
    "CertificateSigning": "apiserver.admission.plugins.certificates.CertificateSigning",
}
# kube-apiserver's order (AllOrderedPlugins) among the plugins registered here.
DEFAULT_PLUGINS: tuple[str, ...] = ("NamespaceLifecycle", "CertificateApproval", "CertificateSigning")


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


def build_admission_chain(names: Sequence[str], context: PluginContext) -> AdmissionChain:
    """The chain of the named plugins, in that order. Raises ValueError for a name that is not registered."""
    plugins: list[object] = []
    for name in names:
        path = ADMISSION_PLUGINS.get(name)
        if path is None:
            raise ValueError(f"admission plugin {name!r} is not registered (known: {', '.join(ADMISSION_PLUGINS)})")
        module_name, _, class_name = path.rpartition(".")
        plugin_class = getattr(importlib.import_module(module_name), class_name)
        plugins.append(plugin_class(context))
    return AdmissionChain(plugins)
