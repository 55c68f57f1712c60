"""The APIService strategy: v1 defaults and kube-aggregator v1.32's validation (apis/apiregistration/validation).

- Defaults (SetDefaults_ServiceReference): `spec.service.port` 443.
- Create and update: the name must be `<version>.<group>` (`v1.` for the core group), the group a DNS-1123
  subdomain (empty only for `v1`), the version a DNS-1035 label, `groupPriorityMinimum` in 1..20000 and
  `versionPriority` in 1..1000 (upstream says "less than" but allows the bound); a local APIService (no
  `service`) may carry neither `caBundle` nor `insecureSkipTLSVerify`; a remote one needs the service's
  namespace and name, a valid port, and not both `caBundle` and `insecureSkipTLSVerify`.
- Status: every condition status is True, False or Unknown.
- Status is dropped on create and kept from the stored object on update (the status subresource writes it).
"""
from __future__ import annotations

import base64
import binascii

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1035_label,
    is_dns1123_subdomain,
    name_is_path_segment,
)
from apiserver.registry.strategy import DefaultStrategy, MutableObject, RequestContext
from apiserver.registry.traits import ResourceTraits

DEFAULT_SERVICE_PORT = 443
MAX_GROUP_PRIORITY = 20000
MAX_VERSION_PRIORITY = 1000
CONDITION_STATUSES = ("True", "False", "Unknown")
SPEC_PATH = FieldPath("spec")


def api_service_name(group: str, version: str) -> str:
    """The only name an APIService for `group`/`version` may have (`v1.` for the core group)."""
    return f"{version}.{group}"


def ca_bundle_length(spec: dict[str, object]) -> int:
    """The decoded length of `spec.caBundle` (base64 on the wire); the encoded length when it does not decode."""
    encoded = spec.get("caBundle")
    if not isinstance(encoded, str) or not encoded:
        return 0
    try:
        return len(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return len(encoded)


def validate_api_service(obj: MutableObject) -> FieldErrors:
    """ValidateAPIService without the generic ObjectMeta checks (the store runs those)."""
    spec = obj.get("spec") or {}
    group, version = str(spec.get("group") or ""), str(spec.get("version") or "")
    errors: FieldErrors = []
    name = str((obj.get("metadata") or {}).get("name") or "")
    required_name = api_service_name(group, version)
    if name and not name_is_path_segment(name) and name != required_name:
        errors.append(FieldError.invalid(FieldPath("metadata", "name"), name,
                                         f'must be `spec.version+"."+spec.group`: "{required_name}"'))
    if not group and version != "v1":
        errors.append(FieldError.required(SPEC_PATH.child("group"),
                                          "only v1 may have an empty group and it better be legacy kube"))
    if group:
        errors += [FieldError.invalid(SPEC_PATH.child("group"), group, text) for text in is_dns1123_subdomain(group)]
    errors += [FieldError.invalid(SPEC_PATH.child("version"), version, text) for text in is_dns1035_label(version)]
    errors += _priority_errors(spec)
    return errors + _service_errors(spec)


def _priority_errors(spec: dict[str, object]) -> FieldErrors:
    errors: FieldErrors = []
    for field, maximum in (("groupPriorityMinimum", MAX_GROUP_PRIORITY), ("versionPriority", MAX_VERSION_PRIORITY)):
        value = spec.get(field) or 0
        if not isinstance(value, int) or value <= 0 or value > maximum:
            message = f"must be positive and less than {maximum}"
            errors.append(FieldError.invalid(SPEC_PATH.child(field), value, message))
    return errors


def _service_errors(spec: dict[str, object]) -> FieldErrors:
    errors: FieldErrors = []
    service = spec.get("service")
    bundle_length = ca_bundle_length(spec)
    skip_verify = spec.get("insecureSkipTLSVerify") is True
    if not isinstance(service, dict):
        if bundle_length:
            errors.append(FieldError.invalid(SPEC_PATH.child("caBundle"), f"{bundle_length} bytes",
                                             "local APIServices may not have a caBundle"))
        if skip_verify:
            errors.append(FieldError.invalid(SPEC_PATH.child("insecureSkipTLSVerify"), True,
                                             "local APIServices may not have insecureSkipTLSVerify"))
        return errors
    path = SPEC_PATH.child("service")
    if not service.get("namespace"):
        errors.append(FieldError.required(path.child("namespace")))
    if not service.get("name"):
        errors.append(FieldError.required(path.child("name")))
    port = service.get("port", DEFAULT_SERVICE_PORT)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append(FieldError.invalid(path.child("port"), port,
                                         "port is not valid: must be between 1 and 65535, inclusive"))
    if skip_verify and bundle_length:
        errors.append(FieldError.invalid(SPEC_PATH.child("insecureSkipTLSVerify"), True,
                                         "may not be true if caBundle is present"))
    return errors


def validate_api_service_status(obj: MutableObject) -> FieldErrors:
    """ValidateAPIServiceStatus: condition statuses are True, False or Unknown."""
    errors: FieldErrors = []
    conditions = (obj.get("status") or {}).get("conditions") or []
    path = FieldPath("status", "conditions")
    for index, condition in enumerate(conditions):
        status = (condition or {}).get("status", "")
        if status not in CONDITION_STATUSES:
            errors.append(FieldError.not_supported(path.index(index).child("status"), status, CONDITION_STATUSES))
    return errors


class APIServiceStrategy(DefaultStrategy):
    """kube-aggregator's apiServiceStrategy and its status strategy."""

    traits: ResourceTraits | None = ResourceTraits(
        name_validator=name_is_path_segment, allow_unconditional_update=False, tracks_generation=False)

    def default(self, obj: MutableObject) -> None:
        service = (obj.get("spec") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", DEFAULT_SERVICE_PORT)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_api_service(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        # Upstream validates the spec on updates and the conditions on status updates; each kind of update
        # keeps the other half from the stored (valid) object, so both checks can run on either.
        return [*validate_api_service(obj), *validate_api_service_status(obj)]
