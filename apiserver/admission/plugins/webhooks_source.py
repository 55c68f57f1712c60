"""Where admission webhooks come from: the Mutating/ValidatingWebhookConfiguration objects in the watch cache.

Upstream's configuration managers (k8s.io/apiserver/pkg/admission/configuration): every webhook of every
configuration, configurations sorted by name, webhooks in their order, each with a uid
`<configuration>/<webhook>/<index>` that reinvocation tracks. Parsed selectors are kept per configuration
resourceVersion, so a configuration is re-read only when it changes; a new configuration is effective as soon
as the watch cache has it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.admission.interface import PluginContext
from apiserver.meta.errors import ApiError
from apiserver.meta.objects import JSONDict
from apiserver.meta.selectors import LabelSelector
from apiserver.webhookclient import ClientConfig

GROUP = "admissionregistration.k8s.io"
DEFAULT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Webhook:
    """One webhook of a configuration, as stored (the configuration's strategy applied the defaults)."""

    uid: str
    configuration: str
    spec: Mapping[str, Any]
    namespace_selector: LabelSelector | None
    object_selector: LabelSelector | None
    selector_error: str = ""

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def failure_policy(self) -> str:
        return str(self.spec.get("failurePolicy") or "Fail")

    @property
    def match_policy(self) -> str:
        return str(self.spec.get("matchPolicy") or "Equivalent")

    @property
    def side_effects(self) -> str | None:
        value = self.spec.get("sideEffects")
        return str(value) if value else None

    @property
    def reinvocation_policy(self) -> str:
        return str(self.spec.get("reinvocationPolicy") or "Never")

    @property
    def timeout_seconds(self) -> int:
        value = self.spec.get("timeoutSeconds")
        return int(value) if isinstance(value, int) and value > 0 else DEFAULT_TIMEOUT_SECONDS

    @property
    def rules(self) -> Sequence[Mapping[str, Any]]:
        rules: Sequence[Mapping[str, Any]] = self.spec.get("rules") or ()
        return rules

    @property
    def match_conditions(self) -> Sequence[Mapping[str, Any]]:
        conditions: Sequence[Mapping[str, Any]] = self.spec.get("matchConditions") or ()
        return conditions

    @property
    def review_versions(self) -> Sequence[str]:
        versions: Sequence[str] = self.spec.get("admissionReviewVersions") or ()
        return versions

    def client_config(self) -> ClientConfig:
        return ClientConfig.from_dict(self.spec.get("clientConfig") or {}, timeout_seconds=self.timeout_seconds)


class WebhookSource:
    """The webhooks of one configuration resource (`mutatingwebhookconfigurations` or the validating one)."""

    def __init__(self, context: PluginContext, plural: str) -> None:
        self._context = context
        self._configurations = context.objects(GROUP, "v1", plural)
        self._parsed: dict[str, tuple[str, tuple[Webhook, ...]]] = {}

    def is_ready(self) -> bool:
        return self._context.is_ready()

    async def webhooks(self) -> list[Webhook]:
        """Every webhook, configurations sorted by name."""
        configurations = sorted(await self._configurations.list(""), key=_name)
        parsed: dict[str, tuple[str, tuple[Webhook, ...]]] = {}
        webhooks: list[Webhook] = []
        for configuration in configurations:
            name = _name(configuration)
            version = str(configuration.get("metadata", {}).get("resourceVersion", ""))
            cached = self._parsed.get(name)
            if cached is None or cached[0] != version or not version:
                cached = (version, _webhooks_of(name, configuration))
            parsed[name] = cached
            webhooks.extend(cached[1])
        self._parsed = parsed
        return webhooks


def _name(configuration: JSONDict) -> str:
    return str(configuration.get("metadata", {}).get("name", ""))


def _webhooks_of(name: str, configuration: JSONDict) -> tuple[Webhook, ...]:
    return tuple(_webhook(name, index, spec) for index, spec in enumerate(configuration.get("webhooks") or ())
                 if isinstance(spec, Mapping))


def _webhook(configuration: str, index: int, spec: Mapping[str, Any]) -> Webhook:
    error = ""
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    try:
        namespace_selector = LabelSelector.from_label_selector(spec.get("namespaceSelector") or {})
        object_selector = LabelSelector.from_label_selector(spec.get("objectSelector") or {})
    except ApiError as problem:
        namespace_selector = object_selector = None
        error = problem.message
    return Webhook(uid=f"{configuration}/{spec.get('name', '')}/{index}", configuration=configuration, spec=spec,
                   namespace_selector=namespace_selector, object_selector=object_selector, selector_error=error)
