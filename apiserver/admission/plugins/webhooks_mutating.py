"""MutatingAdmissionWebhook: webhooks that may change the object with a JSONPatch, called one after another.

Upstream's admission/plugin/webhook/mutating/dispatcher.go: each matching webhook sees the object as the
previous ones left it; a patch is applied to the object in the webhook's version, then unknown fields are
dropped and defaults applied (the decode into Go types). When a webhook changes the object, webhooks already
called with `reinvocationPolicy: IfNeeded` are called once more in a second round. Every call leaves audit
annotations: `mutation.webhook.admission.k8s.io/round_<r>_index_<i>` and, for a patch,
`patch.webhook.admission.k8s.io/round_<r>_index_<i>`.
"""
from __future__ import annotations

import time
from typing import Any

import jsonpatch  # type: ignore[import-untyped, unused-ignore]
import jsonpointer

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.plugins.webhooks_dispatch import WebhookDispatcher, compact_json, fail_or_ignore, observe
from apiserver.admission.plugins.webhooks_matching import Invocation
from apiserver.admission.plugins.webhooks_request import CallError, ReviewResult, versioned_object
from apiserver.admission.plugins.webhooks_source import Webhook
from apiserver.meta.errors import ApiError, InternalError
from apiserver.meta.objects import JSONDict
from apiserver.meta.patch_values import deep_copy
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.conversion import convert
from apiserver.registry.schema import TypeSchemas
from apiserver.registry.schema_normalize import prune_unknown_fields

PATCH_ANNOTATION_PREFIX = "patch.webhook.admission.k8s.io/"
MUTATION_ANNOTATION_PREFIX = "mutation.webhook.admission.k8s.io/"
FAILED_OPEN_PREFIX = "failed-open." + MUTATION_ANNOTATION_PREFIX


class MutatingAdmissionWebhook:
    name = "MutatingAdmissionWebhook"

    def __init__(self, context: PluginContext) -> None:
        self._dispatcher = WebhookDispatcher(context, "mutatingwebhookconfigurations", mutating=True)

    def handles(self, operation: Operation) -> bool:
        return self._dispatcher.handles(operation)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        webhooks = await self._dispatcher.webhooks_for(attributes)
        if not webhooks:
            return
        reinvocation = _Reinvocation()
        await self._round(0, webhooks, attributes, reinvocation)
        if reinvocation.pending:
            await self._round(1, webhooks, attributes, reinvocation)

    async def _round(self, round_number: int, webhooks: list[Webhook], attributes: AdmissionAttributes,
                     reinvocation: _Reinvocation) -> None:
        for index, webhook in enumerate(webhooks):
            if round_number == 1 and webhook.uid not in reinvocation.pending:
                continue
            invocation = await self._dispatcher.invocation(webhook, attributes)
            if invocation is None:
                continue
            changed = await self._call(invocation, attributes, round_number, index)
            if changed:
                reinvocation.object_changed()
            if webhook.reinvocation_policy == "IfNeeded":
                reinvocation.invoked.append(webhook.uid)

    async def _call(self, invocation: Invocation, attributes: AdmissionAttributes, round_number: int,
                    index: int) -> bool:
        webhook = invocation.webhook
        suffix = f"round_{round_number}_index_{index}"
        changed = False
        started = time.monotonic()
        failure: Exception | None = None
        try:
            obj = versioned_object(attributes.object, invocation, attributes)
            old = versioned_object(attributes.old_object, invocation, attributes)
            result = await self._dispatcher.call(invocation, attributes, obj=obj, old=old)
            changed = self._apply(result, invocation, attributes, obj, suffix)
        except CallError as error:
            failure = error
            fail_or_ignore(error, webhook, attributes, FAILED_OPEN_PREFIX + suffix, mutating=True)
        except ApiError as error:
            failure = error
            raise
        finally:
            observe(invocation, attributes, mutating=True, started=started, error=failure)
            attributes.annotate(MUTATION_ANNOTATION_PREFIX + suffix, compact_json(
                {"configuration": webhook.configuration, "webhook": webhook.name, "mutated": changed}))
        return changed

    def _apply(self, result: ReviewResult, invocation: Invocation, attributes: AdmissionAttributes,
               obj: JSONDict | None, suffix: str) -> bool:
        """Apply the webhook's patch to `attributes.object` in place; whether the object changed."""
        webhook = invocation.webhook
        if not result.patch:
            return False
        try:
            operations = jsonpatch.JsonPatch.from_string(result.patch.decode("utf-8", "replace"))
        except (jsonpatch.InvalidJsonPatch, ValueError) as error:
            raise CallError(webhook.name, f"received undecodable patch in webhook response: {error}") from None
        if not list(operations):
            return False
        if obj is None or attributes.object is None:
            raise InternalError(f'admission webhook "{webhook.name}" attempted to modify the object, which is not '
                                "supported for this operation")
        if result.patch_type != "JSONPatch":
            raise CallError(webhook.name, f'unsupported patch type "{result.patch_type}"')
        try:
            patched = operations.apply(deep_copy(obj))
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError,
                TypeError) as error:
            raise InternalError(str(error)) from None
        if not isinstance(patched, dict):
            raise InternalError("patched object is not an object")
        self._decode_as_go(patched, invocation)
        changed = patched != obj
        attributes.annotate(PATCH_ANNOTATION_PREFIX + suffix, compact_json({
            "configuration": webhook.configuration, "webhook": webhook.name, "patch": list(operations),
            "patchType": "JSONPatch"}))
        if patched.get("apiVersion") != obj.get("apiVersion") or invocation.version != attributes.version:
            request_version = f"{attributes.group}/{attributes.version}" if attributes.group else attributes.version
            patched = convert(patched, request_version)
        attributes.object.clear()
        attributes.object.update(patched)
        return changed

    def _decode_as_go(self, patched: JSONDict, invocation: Invocation) -> None:
        """What decoding the patched JSON into the Go type does: unknown fields vanish, defaults are set."""
        catalog: ResourceCatalog | None = self._dispatcher.catalog()
        spec = catalog.lookup(invocation.group, invocation.version, invocation.resource) if catalog else None
        schema: Any = getattr(spec, "schema", None) if spec is not None else None
        if schema is None:
            schema = TypeSchemas.builtin().for_kind(invocation.group, invocation.version, invocation.kind)
        if schema is not None:
            prune_unknown_fields(patched, schema)
        if spec is not None and spec.kind == invocation.kind:
            spec.strategy.default(patched)


class _Reinvocation:
    """Which IfNeeded webhooks ran, and which must run again because a later one changed the object."""

    def __init__(self) -> None:
        self.invoked: list[str] = []
        self.pending: set[str] = set()

    def object_changed(self) -> None:
        self.pending.update(self.invoked)
        self.invoked.clear()
