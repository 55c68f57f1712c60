"""Mutating/ValidatingWebhookConfiguration: v1 defaults and validation (the configurations' strategy).

Upstream v1.32 pkg/apis/admissionregistration/v1/defaults.go and validation/validation.go. Defaults: failurePolicy
Fail, matchPolicy Equivalent, empty namespace and object selectors, timeoutSeconds 10, reinvocationPolicy Never
(mutating), rule scope `*`, service port 443. Validation: fully-qualified unique webhook names, rules, side
effects None/NoneOnDryRun, timeouts of 1-30 s, selectors, the client config, AdmissionReview versions and
matchConditions. An update keeps what the stored configuration already had (duplicate names, unrecognised
review versions, selector values that are invalid today), as upstream's ratcheting options do.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apiserver.meta.selector_validation import has_invalid_label_value_in_selector, validate_label_selector
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1123_subdomain
from apiserver.registry.strategy import DefaultStrategy, MutableObject, RequestContext
from apiserver.resources.admissionregistration.matching_rules import (
    FAILURE_POLICIES,
    MATCH_POLICIES,
    validate_rule_with_operations,
)
from apiserver.resources.admissionregistration.webhook_validation_client import (
    has_recognized_review_version,
    validate_client_config,
    validate_review_versions,
)
from apiserver.resources.admissionregistration.webhook_validation_rules import validate_match_conditions

SIDE_EFFECT_CLASSES = ("None", "NoneOnDryRun")
REINVOCATION_POLICIES = ("IfNeeded", "Never")
# The Go field order of MutatingWebhook / ValidatingWebhook, RuleWithOperations and ServiceReference.
_WEBHOOK_ORDER = ("name", "clientConfig", "rules", "failurePolicy", "matchPolicy", "namespaceSelector",
                  "objectSelector", "sideEffects", "timeoutSeconds", "admissionReviewVersions", "reinvocationPolicy",
                  "matchConditions")
_RULE_ORDER = ("operations", "apiGroups", "apiVersions", "resources", "scope")


@dataclass(frozen=True, slots=True)
class _Options:
    require_recognized_versions: bool = True
    require_unique_names: bool = True
    allow_invalid_label_values: bool = False


def default_webhook(webhook: dict[str, Any], *, mutating: bool) -> None:
    """SetDefaults_MutatingWebhook / SetDefaults_ValidatingWebhook, with rules and service references."""
    webhook.setdefault("failurePolicy", "Fail")
    webhook.setdefault("matchPolicy", "Equivalent")
    webhook.setdefault("namespaceSelector", {})
    webhook.setdefault("objectSelector", {})
    webhook.setdefault("timeoutSeconds", 10)
    if mutating:
        webhook.setdefault("reinvocationPolicy", "Never")
    for rule in webhook.get("rules") or ():
        if isinstance(rule, dict):
            rule.setdefault("scope", "*")
            _reorder(rule, _RULE_ORDER)
    service = (webhook.get("clientConfig") or {}).get("service")
    if isinstance(service, dict):
        service.setdefault("port", 443)
    _reorder(webhook, _WEBHOOK_ORDER)


def _reorder(obj: dict[str, Any], order: tuple[str, ...]) -> None:
    known = [(key, obj[key]) for key in order if key in obj]
    rest = [(key, value) for key, value in obj.items() if key not in order]
    obj.clear()
    obj.update([*known, *rest])


def _webhooks(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    webhooks = obj.get("webhooks")
    return [webhook for webhook in webhooks if isinstance(webhook, Mapping)] if isinstance(webhooks, list) else []


class WebhookConfigurationStrategy(DefaultStrategy):
    def __init__(self, *, mutating: bool) -> None:
        self.mutating = mutating

    def default(self, obj: MutableObject) -> None:
        for webhook in obj.get("webhooks") or ():
            if isinstance(webhook, dict):
                default_webhook(webhook, mutating=self.mutating)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        self.default(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        self.default(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return self._validate(obj, _Options())

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        old_webhooks = _webhooks(old)
        names = [str(webhook.get("name") or "") for webhook in old_webhooks]
        options = _Options(
            require_recognized_versions=all(has_recognized_review_version(webhook.get("admissionReviewVersions"))
                                           for webhook in old_webhooks),
            require_unique_names=len(set(names)) == len(names),
            allow_invalid_label_values=any(
                has_invalid_label_value_in_selector(webhook.get(key))
                for webhook in old_webhooks for key in ("namespaceSelector", "objectSelector")),
        )
        return self._validate(obj, options)

    def _validate(self, obj: Mapping[str, Any], options: _Options) -> FieldErrors:
        errors: FieldErrors = []
        names: set[str] = set()
        for index, webhook in enumerate(_webhooks(obj)):
            path = FieldPath("webhooks").index(index)
            errors.extend(self._validate_webhook(webhook, path, options))
            errors.extend(validate_review_versions(webhook.get("admissionReviewVersions"),
                                                   path.child("admissionReviewVersions"),
                                                   require_recognized=options.require_recognized_versions))
            name = str(webhook.get("name") or "")
            if options.require_unique_names and name:
                if name in names:
                    errors.append(FieldError.duplicate(path.child("name"), name))
                names.add(name)
        return errors

    def _validate_webhook(self, webhook: Mapping[str, Any], path: FieldPath, options: _Options) -> FieldErrors:
        errors = fully_qualified_name_errors(str(webhook.get("name") or ""), path.child("name"))
        for index, rule in enumerate(webhook.get("rules") or ()):
            if isinstance(rule, Mapping):
                errors.extend(validate_rule_with_operations(rule, path.child("rules").index(index)))
        errors.extend(_enum_errors(webhook, "failurePolicy", FAILURE_POLICIES, path))
        errors.extend(_enum_errors(webhook, "matchPolicy", MATCH_POLICIES, path))
        side_effects = webhook.get("sideEffects")
        if side_effects is None:
            errors.append(FieldError.required(path.child("sideEffects"),
                                              f"must specify one of {', '.join(SIDE_EFFECT_CLASSES)}"))
        else:
            errors.extend(_enum_errors(webhook, "sideEffects", SIDE_EFFECT_CLASSES, path))
        timeout = webhook.get("timeoutSeconds")
        if timeout is not None and (not isinstance(timeout, int) or not 1 <= timeout <= 30):
            errors.append(FieldError.invalid(path.child("timeoutSeconds"), timeout,
                                             "the timeout value must be between 1 and 30 seconds"))
        for key in ("namespaceSelector", "objectSelector"):
            errors.extend(validate_label_selector(webhook.get(key), path.child(key),
                                                  allow_invalid_label_values=options.allow_invalid_label_values))
        if self.mutating:
            errors.extend(_enum_errors(webhook, "reinvocationPolicy", REINVOCATION_POLICIES, path))
        errors.extend(validate_client_config(webhook.get("clientConfig"), path.child("clientConfig")))
        errors.extend(validate_match_conditions(webhook.get("matchConditions"), path.child("matchConditions")))
        return errors


def _enum_errors(webhook: Mapping[str, Any], key: str, supported: tuple[str, ...], path: FieldPath) -> FieldErrors:
    value = webhook.get(key)
    if value is None or value in supported:
        return []
    return [FieldError.not_supported(path.child(key), value, supported)]


def fully_qualified_name_errors(name: str, path: FieldPath) -> FieldErrors:
    """utilvalidation.IsFullyQualifiedName."""
    if not name:
        return [FieldError.required(path)]
    name = name.removesuffix(".")
    problems = is_dns1123_subdomain(name)
    if problems:
        return [FieldError.invalid(path, name, ",".join(problems))]
    if len(name.split(".")) < 3:
        return [FieldError.invalid(path, name, "should be a domain with at least three segments separated by dots")]
    return []


MUTATING_STRATEGY = WebhookConfigurationStrategy(mutating=True)
VALIDATING_STRATEGY = WebhookConfigurationStrategy(mutating=False)
