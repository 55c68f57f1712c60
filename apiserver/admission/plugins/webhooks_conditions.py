"""Webhook matchConditions: CEL expressions over `object`, `oldObject`, `request` and `authorizer` that must
all be true for the webhook to be called.

Upstream's admission/plugin/webhook/matchconditions: any false condition skips the webhook, whatever errors
other conditions had; otherwise errors follow the failurePolicy (Ignore skips the webhook, Fail rejects the
request with Forbidden). Programs are compiled once per expression. Conditions that use the authorizer are
evaluated on a worker thread, since each authorization check waits for the server's (async) access review.
"""
from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from apiserver.admission.interface import AdmissionAttributes
from apiserver.admission.plugins.validating_policy_authz import RequestAuthorizer
from apiserver.admission.plugins.webhooks_source import Webhook
from apiserver.meta.errors import Forbidden
from apiserver.meta.objects import JSONDict

AccessReview = Callable[[object, Mapping[str, Any]], Awaitable[JSONDict]]


def compile_condition(expression: str) -> Any:
    """A matchCondition's program: `object`, `oldObject` and `request` as dyn, `authorizer` as the authorizer
    library's type. Raises apiserver.cel.CompileError."""
    cel = importlib.import_module("apiserver.cel")
    authz = importlib.import_module("apiserver.cel.authz")
    variables = {"object": cel.DYN, "oldObject": cel.DYN, "request": cel.DYN, "authorizer": authz.AUTHORIZER_TYPE}
    return cel.compile_expression(expression, variables)


class ConditionMatcher:
    """Evaluates the matchConditions of webhooks; holds the compiled programs."""

    def __init__(self, access_review: AccessReview | None = None) -> None:
        self._programs: dict[str, Any] = {}
        self._access_review = access_review

    async def matches(self, webhook: Webhook, attributes: AdmissionAttributes,
                      activation: Mapping[str, Any]) -> bool:
        """Whether to call the webhook. Raises Forbidden for errors under failurePolicy Fail."""
        expressions = [str(condition.get("expression", "")) for condition in webhook.match_conditions]
        values = {**activation, "authorizer": None}
        if self._access_review is not None and any("authorizer" in expression for expression in expressions):
            values["authorizer"] = RequestAuthorizer.for_request(self._access_review, attributes,
                                                                 asyncio.get_running_loop())
            matched, errors = await asyncio.to_thread(self._evaluate, expressions, values)
        else:
            matched, errors = self._evaluate(expressions, values)
        if not matched:
            return False
        if not errors:
            return True
        if webhook.failure_policy == "Ignore":
            return False
        reason = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        raise Forbidden(attributes.resource, attributes.name, reason, group=attributes.group)

    def _evaluate(self, expressions: list[str], values: Mapping[str, Any]) -> tuple[bool, list[str]]:
        """(False when a condition is false, the errors of the others)."""
        cel = importlib.import_module("apiserver.cel")
        errors: list[str] = []
        for expression in expressions:
            try:
                result = self._program(expression).evaluate(
                    values, cost_limit=cel.RUNTIME_CEL_COST_BUDGET_MATCH_CONDITIONS)
            except (cel.CompileError, cel.EvaluationError) as error:
                errors.append(f"expression '{expression}' resulted in error: {error}")
                continue
            if result is False:
                return False, []
            if result is not True:
                errors.append(f"expression '{expression}' resulted in error: no such overload")
        return True, errors

    def _program(self, expression: str) -> Any:
        program = self._programs.get(expression)
        if program is None:
            program = self._programs[expression] = compile_condition(expression)
        return program
