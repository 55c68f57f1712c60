"""CRD conversion settings: strategy, webhook client config (URL or service) and ConversionReview versions.

Upstream v1.32's validateCustomResourceConversion and k8s.io/apiserver's webhook URL/service rules
(pkg/util/webhook/validation.go), on the internal (flattened) conversion settings.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1035_label, is_dns1123_subdomain

from .crd_validation_model import mapping, sequence, text

STRATEGIES: Final = ("None", "Webhook")
ACCEPTED_REVIEW_VERSIONS: Final = ("v1", "v1beta1")
URL_FORM: Final = "; desired format: https://host[/path]"
NOT_WEBHOOK: Final = "should not be set when strategy is not set to Webhook"


def validate_enum(value: str, accepted: tuple[str, ...], path: FieldPath) -> FieldErrors:
    """validateEnumStrings with required=true."""
    if not value:
        return [FieldError.required(path)]
    return [] if value in accepted else [FieldError.not_supported(path, value, accepted)]


def has_accepted_review_version_or_empty(versions: object) -> bool:
    listed = sequence(versions)
    return not listed or any(version in ACCEPTED_REVIEW_VERSIONS for version in listed)


def validate_review_versions(versions: object, require_recognized: bool, path: FieldPath) -> FieldErrors:
    listed = sequence(versions)
    if not listed:
        return [FieldError.required(path)]
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, version in enumerate(listed):
        if version in seen:
            errors.append(FieldError.invalid(path.index(index), version, "duplicate version"))
            continue
        seen.add(version)
        errors += [FieldError.invalid(path.index(index), version, problem)
                   for problem in is_dns1035_label(text(version))]
    if require_recognized and not any(version in ACCEPTED_REVIEW_VERSIONS for version in listed):
        errors.append(FieldError.invalid(path, listed, "must include at least one of v1, v1beta1"))
    return errors


def validate_webhook_url(url: str, path: FieldPath) -> FieldErrors:
    """ValidateWebhookURL with https forced."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError as error:
        return [FieldError.required(path, f"url must be a valid URL: {error}{URL_FORM}")]
    errors: FieldErrors = []
    if parts.scheme != "https":
        errors.append(FieldError.invalid(path, parts.scheme, "'https' is the only allowed URL scheme" + URL_FORM))
    user, at, host = netloc.rpartition("@")
    if not host:
        errors.append(FieldError.invalid(path, host, "host must be specified" + URL_FORM))
    if at:
        errors.append(FieldError.invalid(path, user, "user information is not permitted in the URL"))
    if parts.fragment:
        errors.append(FieldError.invalid(path, parts.fragment, "fragments are not permitted in the URL"))
    if parts.query:
        errors.append(FieldError.invalid(path, parts.query, "query parameters are not permitted in the URL"))
    return errors


def validate_webhook_service(service: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateWebhookService: name, namespace, port 1-65535 and a path of DNS-1123 subdomain segments."""
    errors: FieldErrors = []
    if not text(service.get("name")):
        errors.append(FieldError.required(path.child("name"), "service name is required"))
    if not text(service.get("namespace")):
        errors.append(FieldError.required(path.child("namespace"), "service namespace is required"))
    port = service.get("port", 443)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append(FieldError.invalid(path.child("port"), port,
                                         "port is not valid: must be between 1 and 65535, inclusive"))
    url_path = service.get("path")
    if not isinstance(url_path, str) or url_path in ("", "/"):
        return errors
    child = path.child("path")
    if url_path == "//":
        return [*errors, FieldError.invalid(child, url_path, "segment[0] may not be empty")]
    if not url_path.startswith("/"):
        errors.append(FieldError.invalid(child, url_path, "must start with a '/'"))
    checked = url_path[1:]
    checked = checked[:-1] if checked.endswith("/") else checked
    for index, step in enumerate(checked.split("/")):
        if not step:
            errors.append(FieldError.invalid(child, url_path, f"segment[{index}] may not be empty"))
            continue
        errors += [FieldError.invalid(child, url_path, f"segment[{index}]: {problem}")
                   for problem in is_dns1123_subdomain(step)]
    return errors


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
            url, service = client_config.get("url"), client_config.get("service")
            if (url is None) == (service is None):
                errors.append(FieldError.required(config_path, "exactly one of url or service is required"))
            elif url is not None:
                errors += validate_webhook_url(text(url), config_path.child("url"))
            else:
                errors += validate_webhook_service(mapping(service), config_path.child("service"))
        errors += validate_review_versions(conversion.get("conversionReviewVersions"), require_recognized,
                                           path.child("conversionReviewVersions"))
        return errors
    if client_config is not None:
        errors.append(FieldError.forbidden(path.child("webhookClientConfig"), NOT_WEBHOOK))
    if sequence(conversion.get("conversionReviewVersions")):
        errors.append(FieldError.forbidden(path.child("conversionReviewVersions"), NOT_WEBHOOK))
    return errors
