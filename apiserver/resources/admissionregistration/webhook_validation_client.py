"""How the API server calls a webhook: its clientConfig (exactly one of url and service, each with upstream's
rules) and the review versions (AdmissionReview, ConversionReview) it speaks.

Upstream v1.32 k8s.io/apiserver/pkg/util/webhook/validation.go (ValidateWebhookURL, ValidateWebhookService) and
pkg/apis/admissionregistration/validation's validateAdmissionReviewVersions, which apiextensions' conversion
review versions follow; used by admission webhooks and CRD conversion webhooks alike.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1035_label, is_dns1123_subdomain

ACCEPTED_REVIEW_VERSIONS: Final = ("v1", "v1beta1")
_FORM: Final = "; desired format: https://host[/path]"
_REQUIRED_REVIEW_VERSION: Final = f"must specify one of {', '.join(ACCEPTED_REVIEW_VERSIONS)}"


def validate_client_config(client_config: object, path: FieldPath) -> FieldErrors:
    config: Mapping[str, Any] = client_config if isinstance(client_config, Mapping) else {}
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        return [FieldError.required(path, "exactly one of url or service is required")]
    if url is not None:
        return validate_webhook_url(path.child("url"), str(url), force_https=True)
    service = service if isinstance(service, Mapping) else {}
    return validate_webhook_service(path.child("service"), str(service.get("namespace") or ""),
                                    str(service.get("name") or ""), service.get("path"), service.get("port", 443))


def validate_webhook_url(path: FieldPath, url: str, *, force_https: bool) -> FieldErrors:
    try:
        parts = urlsplit(url)
    except ValueError as error:
        return [FieldError.required(path, f"url must be a valid URL: {error}{_FORM}")]
    errors: FieldErrors = []
    if force_https and parts.scheme != "https":
        errors.append(FieldError.invalid(path, parts.scheme, "'https' is the only allowed URL scheme" + _FORM))
    host = parts.netloc.rpartition("@")[2]
    if not host:
        errors.append(FieldError.invalid(path, host, "host must be specified" + _FORM))
    if "@" in parts.netloc:
        errors.append(FieldError.invalid(path, parts.netloc.rpartition("@")[0],
                                         "user information is not permitted in the URL"))
    if parts.fragment:
        errors.append(FieldError.invalid(path, parts.fragment, "fragments are not permitted in the URL"))
    if parts.query:
        errors.append(FieldError.invalid(path, parts.query, "query parameters are not permitted in the URL"))
    return errors


def validate_webhook_service(path: FieldPath, namespace: str, name: str, url_path: object,
                             port: object) -> FieldErrors:
    errors: FieldErrors = []
    if not name:
        errors.append(FieldError.required(path.child("name"), "service name is required"))
    if not namespace:
        errors.append(FieldError.required(path.child("namespace"), "service namespace is required"))
    if not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append(FieldError.invalid(path.child("port"), port,
                                         "port is not valid: must be between 1 and 65535, inclusive"))
    if not isinstance(url_path, str) or url_path in ("", "/"):
        return errors
    return [*errors, *_path_errors(path.child("path"), url_path)]


def _path_errors(path: FieldPath, url_path: str) -> FieldErrors:
    if url_path == "//":
        return [FieldError.invalid(path, url_path, "segment[0] may not be empty")]
    errors: FieldErrors = []
    if not url_path.startswith("/"):
        errors.append(FieldError.invalid(path, url_path, "must start with a '/'"))
    to_check = url_path[1:]
    if to_check.endswith("/"):
        to_check = to_check[:-1]
    for index, step in enumerate(to_check.split("/")):
        if not step:
            errors.append(FieldError.invalid(path, url_path, f"segment[{index}] may not be empty"))
            continue
        errors.extend(FieldError.invalid(path, url_path, f"segment[{index}]: {failure}")
                      for failure in is_dns1123_subdomain(step))
    return errors


def validate_review_versions(value: object, path: FieldPath, *, require_recognized: bool,
                             required_detail: str = _REQUIRED_REVIEW_VERSION) -> FieldErrors:
    """validateAdmissionReviewVersions / validateConversionReviewVersions: at least one, no duplicates, DNS-1035
    labels, and (when `require_recognized`) one this server speaks. Upstream words the missing list differently
    for the two: CRD conversion passes `required_detail=""`."""
    versions = [str(item) for item in value] if isinstance(value, list) else []
    if not versions:
        return [FieldError.required(path, required_detail)]
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, version in enumerate(versions):
        if version in seen:
            errors.append(FieldError.invalid(path.index(index), version, "duplicate version"))
            continue
        seen.add(version)
        errors.extend(FieldError.invalid(path.index(index), version, message) for message in is_dns1035_label(version))
    if require_recognized and not seen & set(ACCEPTED_REVIEW_VERSIONS):
        errors.append(FieldError.invalid(path, versions,
                                         f"must include at least one of {', '.join(ACCEPTED_REVIEW_VERSIONS)}"))
    return errors


def has_recognized_review_version(versions: object) -> bool:
    """Whether a list of review versions names one this server speaks."""
    return isinstance(versions, list) and any(str(version) in ACCEPTED_REVIEW_VERSIONS for version in versions)
