"""CRD conversion settings: strategy, webhook client config (URL or service) and ConversionReview versions.

Upstream v1.32's validateCustomResourceConversion, on the internal (flattened) conversion settings; the client
config and review version rules are the admission webhooks' (`webhook_validation_client`), as upstream shares
k8s.io/apiserver's pkg/util/webhook/validation.go.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.resources.admissionregistration.webhook_validation_client import (
    has_recognized_review_version,
    validate_client_config,
    validate_review_versions,
)

from .crd_validation_model import sequence, text

STRATEGIES: Final = ("None", "Webhook")
NOT_WEBHOOK: Final = "should not be set when strategy is not set to Webhook"


def validate_enum(value: str, accepted: tuple[str, ...], path: FieldPath) -> FieldErrors:
    """validateEnumStrings with required=true."""
    if not value:
        return [FieldError.required(path)]
    return [] if value in accepted else [FieldError.not_supported(path, value, accepted)]


def has_accepted_review_version_or_empty(versions: object) -> bool:
    return not sequence(versions) or has_recognized_review_version(versions)


def validate_conversion(conversion: Mapping[str, Any] | None, require_recognized: bool,
                        path: FieldPath) -> FieldErrors:
    """validateCustomResourceConversion on the internal conversion (webhookClientConfig flattened)."""
    if conversion is None:
        return []
    strategy = text(conversion.get("strategy"))
    errors = validate_enum(strategy, STRATEGIES, path.child("strategy"))
    client_config = conversion.get("webhookClientConfig")
    if strategy == "Webhook":
        config_path = path.child("webhookClientConfig")
        if not isinstance(client_config, dict):
            errors.append(FieldError.required(config_path, "required when strategy is set to Webhook"))
        else:
            errors += validate_client_config(client_config, config_path)
        errors += validate_review_versions(conversion.get("conversionReviewVersions"),
                                           path.child("conversionReviewVersions"),
                                           require_recognized=require_recognized, required_detail="")
        return errors
    if client_config is not None:
        errors.append(FieldError.forbidden(path.child("webhookClientConfig"), NOT_WEBHOOK))
    if sequence(conversion.get("conversionReviewVersions")):
        errors.append(FieldError.forbidden(path.child("conversionReviewVersions"), NOT_WEBHOOK))
    return errors
