"""ValidatingAdmissionWebhook: webhooks that may only accept or reject, all called at once.

Upstream's admission/plugin/webhook/validating/dispatcher.go: the matching webhooks are called in parallel on
the final object; failures under failurePolicy Ignore are recorded as `failed-open.validating.webhook.
admission.k8s.io/round_0_index_<i>` audit annotations; the first error in webhook order rejects the request.
"""
from __future__ import annotations

import asyncio
import time

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.plugins.webhooks_dispatch import WebhookDispatcher, fail_or_ignore, observe
from apiserver.admission.plugins.webhooks_matching import Invocation
from apiserver.admission.plugins.webhooks_request import CallError, versioned_object
from apiserver.meta.errors import ApiError

FAILED_OPEN_PREFIX = "failed-open.validating.webhook.admission.k8s.io/"


class ValidatingAdmissionWebhook:
    name = "ValidatingAdmissionWebhook"

    def __init__(self, context: PluginContext) -> None:
        self._dispatcher = WebhookDispatcher(context, "validatingwebhookconfigurations", mutating=False)

    def handles(self, operation: Operation) -> bool:
        return self._dispatcher.handles(operation)

    async def validate(self, attributes: AdmissionAttributes) -> None:
        webhooks = await self._dispatcher.webhooks_for(attributes)
        invocations: list[tuple[int, Invocation]] = []
        for index, webhook in enumerate(webhooks):
            invocation = await self._dispatcher.invocation(webhook, attributes)
            if invocation is not None:
                invocations.append((index, invocation))
        if not invocations:
            return
        outcomes = await asyncio.gather(*(self._call(index, invocation, attributes)
                                          for index, invocation in invocations))
        for outcome in outcomes:
            if outcome is not None:
                raise outcome

    async def _call(self, index: int, invocation: Invocation, attributes: AdmissionAttributes) -> ApiError | None:
        started = time.monotonic()
        try:
            await self._dispatcher.call(
                invocation, attributes, obj=versioned_object(attributes.object, invocation, attributes),
                old=versioned_object(attributes.old_object, invocation, attributes))
        except CallError as error:
            observe(invocation, attributes, mutating=False, started=started, error=error)
            try:
                fail_or_ignore(error, invocation.webhook, attributes, f"{FAILED_OPEN_PREFIX}round_0_index_{index}",
                               mutating=False)
            except ApiError as rejection:
                return rejection
            return None
        except ApiError as rejection:
            observe(invocation, attributes, mutating=False, started=started, error=rejection)
            return rejection
        observe(invocation, attributes, mutating=False, started=started, error=None)
        return None
