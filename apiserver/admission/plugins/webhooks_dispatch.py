"""What both webhook plugins share: the client, the configuration source, matching with matchConditions, and
one call of one webhook with upstream's error handling (failurePolicy, denials, warnings, audit annotations).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import orjson

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.plugins.webhooks_conditions import ConditionMatcher
from apiserver.admission.plugins.webhooks_matching import Invocation, invocation_for, is_exempt
from apiserver.admission.plugins.webhooks_metrics import (
    APISERVER_INTERNAL_ERROR,
    CALLING_WEBHOOK_ERROR,
    NO_ERROR,
    webhook_metrics,
)
from apiserver.admission.plugins.webhooks_request import (
    CallError,
    ReviewResult,
    build_review,
    check_dry_run,
    denial,
    review_version,
    verify_response,
    versioned_object,
)
from apiserver.admission.plugins.webhooks_source import Webhook, WebhookSource
from apiserver.meta.errors import ApiError, InternalError
from apiserver.meta.objects import JSONDict
from apiserver.registry.catalog import ResourceCatalog
from apiserver.webhookclient import ServiceResolver, WebhookCallError, WebhookClient

logger = logging.getLogger(__name__)

_OPERATIONS = frozenset({Operation.CREATE, Operation.UPDATE, Operation.DELETE, Operation.CONNECT})


class WebhookDispatcher:
    """The webhooks of one configuration resource and how to call them."""

    def __init__(self, context: PluginContext, plural: str, *, mutating: bool) -> None:
        self._context = context
        self.source = WebhookSource(context, plural)
        self.mutating = mutating
        resolver = ServiceResolver(context.objects("", "v1", "services"), context.objects("", "v1", "endpoints"),
                                   endpoint_routing=getattr(context, "webhook_endpoint_routing", True))
        self.client = getattr(context, "webhook_client", None) or WebhookClient(resolver)
        self.conditions = ConditionMatcher(getattr(context, "access_review", None))

    @staticmethod
    def handles(operation: Operation) -> bool:
        return operation in _OPERATIONS

    async def webhooks_for(self, attributes: AdmissionAttributes) -> list[Webhook]:
        """The configured webhooks, or none for exempt requests; Forbidden while the source has not synced."""
        if is_exempt(attributes):
            return []
        webhooks = await self.source.webhooks()
        if webhooks and not self.source.is_ready():
            raise forbidden(attributes, "not yet ready to handle request")
        return webhooks

    def catalog(self) -> ResourceCatalog | None:
        current = getattr(self._context, "current_catalog", None)
        catalog: ResourceCatalog | None = current() if current is not None else None
        return catalog

    async def invocation(self, webhook: Webhook, attributes: AdmissionAttributes) -> Invocation | None:
        """ShouldCallHook: selectors, rules, then matchConditions on the versioned request."""
        invocation = await invocation_for(webhook, attributes, self._context, self.catalog())
        if invocation is None or not webhook.match_conditions:
            return invocation
        obj = versioned_object(attributes.object, invocation, attributes)
        old = versioned_object(attributes.old_object, invocation, attributes)
        _, review = build_review(invocation, attributes, "v1", obj=obj, old=old, uid_factory=lambda: "")
        activation = {"object": obj, "oldObject": old, "request": review["request"]}
        return invocation if await self.conditions.matches(webhook, attributes, activation) else None

    async def call(self, invocation: Invocation, attributes: AdmissionAttributes, *, obj: JSONDict | None,
                   old: JSONDict | None) -> ReviewResult:
        """One call. Raises CallError (failurePolicy applies), a denial, or BadRequest for dry-run."""
        webhook = invocation.webhook
        check_dry_run(webhook.name, webhook.side_effects, attributes)
        version = review_version(webhook.review_versions)
        if version is None:
            raise CallError(webhook.name, "could not create admission objects: webhook does not accept known "
                                          "AdmissionReview versions")
        uid, review = build_review(invocation, attributes, version, obj=obj, old=old)
        try:
            answer = await self.client.post_json(webhook.client_config(), review,
                                                 timeout_seconds=webhook.timeout_seconds)
        except WebhookCallError as error:
            if error.resolving:
                raise CallError(webhook.name, f"could not get REST client: {error}",
                                code=500 if self.mutating else 400) from None
            code = error.status_code or (503 if self.mutating else 400)
            raise CallError(webhook.name, f"failed to call webhook: {error}", code=code) from None
        try:
            result = verify_response(answer, uid, mutating=self.mutating, version=version)
        except ValueError as error:
            raise CallError(webhook.name, f"received invalid webhook response: {error}", code=503) from None
        for key, value in result.audit_annotations.items():
            attributes.annotate(f"{webhook.name}/{key}", str(value))
        for warning in result.warnings:
            attributes.add_warning(warning)
        if not result.allowed:
            raise denial(webhook.name, result.status)
        return result


def observe(invocation: Invocation, attributes: AdmissionAttributes, *, mutating: bool, started: float,
            error: BaseException | None) -> None:
    """One call in the webhook metrics, with upstream's codes: 200, a call error's status (rejected unless the
    failurePolicy is Ignore), a denial's code, 0 for the server's own errors. A rejecting call also counts in
    the rejection counter with its error type (the dispatchers of admission/plugin/webhook/{mutating,validating})."""
    error_type: str | None = None
    if error is None:
        rejected, code = False, 200
    elif isinstance(error, CallError):
        rejected, code = invocation.webhook.failure_policy != "Ignore", error.code
        error_type = CALLING_WEBHOOK_ERROR if rejected else None
    elif isinstance(error, ApiError) and getattr(error, "from_webhook", False):
        rejected, code, error_type = True, error.code, NO_ERROR
    else:
        rejected, code, error_type = True, 0, APISERVER_INTERNAL_ERROR
    metrics = webhook_metrics()
    name, kind, operation = invocation.webhook.name, "admit" if mutating else "validating", str(attributes.operation)
    metrics.observe(name=name, kind=kind, operation=operation, rejected=rejected, code=code,
                    seconds=time.monotonic() - started)
    if error_type is not None:
        metrics.observe_rejection(name=name, kind=kind, operation=operation, error_type=error_type, code=code)


def fail_or_ignore(error: CallError, webhook: Webhook, attributes: AdmissionAttributes, failed_open_key: str, *,
                   mutating: bool) -> None:
    """failurePolicy: Ignore records `failed-open` (annotation and fail-open counter) and goes on; Fail rejects
    with an InternalError."""
    if webhook.failure_policy == "Ignore":
        logger.warning("webhook_failed_open", extra={"webhook": webhook.name, "error": str(error)})
        webhook_metrics().observe_fail_open(name=webhook.name, kind="admit" if mutating else "validating")
        attributes.annotate(failed_open_key, webhook.name)
        return
    logger.warning("webhook_failed_closed", extra={"webhook": webhook.name, "error": str(error)})
    raise InternalError(str(error)) from None


def compact_json(value: Mapping[str, Any]) -> str:
    """encoding/json's compact form (the audit annotation values)."""
    return orjson.dumps(value).decode()
