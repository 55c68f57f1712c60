"""PodSpec and PodTemplateSpec: defaults and validation shared by pods and every workload template.

Contract (used by core/pods.py and by apps/, batch/, core/replicationcontrollers.py, core/podtemplates.py):
- `default_pod_spec(spec)` fills upstream v1.32's defaults into a PodSpec in place (SetDefaults_PodSpec,
  container defaults, imagePullPolicy from the image tag, ...).
- `default_pod_template(template)` does the same for a PodTemplateSpec (`{"metadata":…, "spec":…}`).
- `validate_pod_spec(spec, path)` returns the FieldErrors of a PodSpec at `path` (e.g. FieldPath("spec")).
- `validate_pod_template(template, path)` returns the FieldErrors of a PodTemplateSpec at `path` (labels and
  annotations of its metadata, then its spec), e.g. FieldPath("spec", "template").

The rules of the parts live beside this module: podspec_defaults (defaults), podspec_containers,
podspec_volumes, podspec_resources and podspec_fields (validation). This module holds the pod-level fields, in
upstream's ValidatePodSpec order: volumes, containers, init containers, restartPolicy, dnsPolicy, nodeSelector,
dnsConfig, serviceAccountName, nodeName, activeDeadlineSeconds, hostname, subdomain, tolerations,
priorityClassName, preemptionPolicy.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_label_value,
    validate_annotations,
    validate_label_name,
    validate_labels,
)
from apiserver.resources.core.podspec_containers import validate_containers, validate_init_containers
from apiserver.resources.core.podspec_defaults import default_pod_spec_fields
from apiserver.resources.core.podspec_dns import validate_dns_config, validate_host_aliases
from apiserver.resources.core.podspec_fields import (
    MAX_INT32,
    inclusive_range_message,
    items,
    mapping,
    number,
    text,
)
from apiserver.resources.core.podspec_misc import validate_overhead, validate_pod_annotations
from apiserver.resources.core.podspec_scheduling import (
    validate_affinity,
    validate_readiness_gates,
    validate_scheduling_gates,
    validate_topology_spread_constraints,
)
from apiserver.resources.core.podspec_security import (
    validate_container_security_contexts,
    validate_host_network_ports,
    validate_host_users,
    validate_pod_security_context,
)
from apiserver.resources.core.podspec_volumes import validate_volumes
from apiserver.resources.core.podspec_windows import validate_os, validate_windows_host_process

MutableObject = dict[str, Any]

RESTART_POLICIES: Final = ("Always", "OnFailure", "Never")
DNS_POLICIES: Final = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TAINT_EFFECTS: Final = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS: Final = ("Equal", "Exists")
PREEMPTION_POLICIES: Final = ("PreemptLowerPriority", "Never")


def default_pod_spec(spec: MutableObject) -> None:
    """Fill upstream's PodSpec defaults in place (what a template's spec gets; pods get a little more)."""
    default_pod_spec_fields(spec)


def default_pod_template(template: MutableObject) -> None:
    """Fill upstream's defaults of a PodTemplateSpec in place.

    Its spec and metadata are Go structs, never omitted: an absent spec is defaulted like an empty one, and the
    metadata carries `creationTimestamp: null` as upstream's encoder writes a zero time.
    """
    metadata = template.get("metadata")
    if metadata is None:
        metadata = template["metadata"] = {}
    if isinstance(metadata, dict) and "creationTimestamp" not in metadata:
        metadata["creationTimestamp"] = None
    spec = template.get("spec")
    if spec is None:
        spec = template["spec"] = {}
    if isinstance(spec, dict):
        default_pod_spec(spec)


def _enum(value: object, path: FieldPath, allowed: tuple[str, ...]) -> FieldErrors:
    if not value:
        return [FieldError.required(path)]
    if value not in allowed:
        return [FieldError.not_supported(path, value, allowed)]
    return []


def _dns_label(value: str, path: FieldPath) -> FieldErrors:
    return [FieldError.invalid(path, value, message) for message in is_dns1123_label(value)]


def _dns_subdomain(value: str, path: FieldPath) -> FieldErrors:
    return [FieldError.invalid(path, value, message) for message in is_dns1123_subdomain(value)]


def validate_tolerations(tolerations: list[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    """ValidateTolerations."""
    errors: FieldErrors = []
    for index, toleration in enumerate(tolerations):
        entry = path.index(index)
        key, operator, value = text(toleration.get("key")), text(toleration.get("operator")), toleration.get("value")
        effect = text(toleration.get("effect"))
        if key:
            errors.extend(validate_label_name(key, entry.child("key")))
        if not key and operator != "Exists":
            errors.append(FieldError.invalid(entry.child("operator"), operator,
                                             'operator must be Exists when `key` is empty, which means "match all '
                                             'values and all keys"'))
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(FieldError.invalid(entry.child("effect"), effect,
                                             "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if operator in ("Equal", ""):
            messages = is_valid_label_value(text(value))
            if messages:
                errors.append(FieldError.invalid(entry.child("operator"), text(value), ";".join(messages)))
        elif operator == "Exists":
            if text(value):
                errors.append(FieldError.invalid(entry.child("operator"), dict(toleration),
                                                 "value must be empty when `operator` is 'Exists'"))
        else:
            errors.append(FieldError.not_supported(entry.child("operator"), operator, TOLERATION_OPERATORS))
        if effect and effect not in TAINT_EFFECTS:
            errors.append(FieldError.not_supported(entry.child("effect"), effect, TAINT_EFFECTS))
    return errors


def _validate_scalars(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if account := text(spec.get("serviceAccountName")):
        errors.extend(_dns_subdomain(account, path.child("serviceAccountName")))
    if node := text(spec.get("nodeName")):
        errors.extend(_dns_subdomain(node, path.child("nodeName")))
    deadline = number(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errors.append(FieldError.invalid(path.child("activeDeadlineSeconds"), deadline,
                                         inclusive_range_message(1, MAX_INT32)))
    for key in ("hostname", "subdomain"):
        if value := text(spec.get(key)):
            errors.extend(_dns_label(value, path.child(key)))
    errors.extend(validate_tolerations(items(spec.get("tolerations")), path.child("tolerations")))
    errors.extend(validate_host_aliases(spec, path.child("hostAliases")))
    if priority_class := text(spec.get("priorityClassName")):
        errors.extend(_dns_subdomain(priority_class, path.child("priorityClassName")))
    preemption = spec.get("preemptionPolicy")
    if preemption is not None and preemption not in PREEMPTION_POLICIES:
        errors.append(FieldError.not_supported(path.child("preemptionPolicy"), preemption, PREEMPTION_POLICIES))
    errors.extend(validate_os(spec, path))
    return errors


def validate_pod_spec(spec: MutableObject, path: FieldPath) -> FieldErrors:
    """The field errors of a (defaulted) PodSpec at `path`, in upstream's order."""
    volumes, errors = validate_volumes(items(spec.get("volumes")), path.child("volumes"))
    containers = items(spec.get("containers"))
    errors.extend(validate_containers(containers, volumes, path.child("containers")))
    errors.extend(validate_init_containers(items(spec.get("initContainers")), containers, volumes,
                                           path.child("initContainers")))
    # Upstream checks each container's securityContext inside the container's own rules.
    errors.extend(validate_container_security_contexts(spec, path))
    errors.extend(validate_host_network_ports(spec, path))
    errors.extend(_enum(spec.get("restartPolicy"), path.child("restartPolicy"), RESTART_POLICIES))
    errors.extend(_enum(spec.get("dnsPolicy"), path.child("dnsPolicy"), DNS_POLICIES))
    errors.extend(validate_labels(mapping(spec.get("nodeSelector")), path.child("nodeSelector")))
    errors.extend(validate_pod_security_context(spec, path))
    errors.extend(validate_affinity(spec, path.child("affinity")))
    errors.extend(validate_dns_config(spec, path.child("dnsConfig")))
    errors.extend(validate_readiness_gates(spec, path.child("readinessGates")))
    errors.extend(validate_scheduling_gates(spec, path.child("schedulingGates")))
    errors.extend(validate_topology_spread_constraints(spec, path.child("topologySpreadConstraints")))
    errors.extend(validate_windows_host_process(spec, path))
    errors.extend(validate_host_users(spec, path))
    errors.extend(_validate_scalars(spec, path))
    errors.extend(validate_overhead(spec, path))
    return errors


def validate_pod_template(template: MutableObject, path: FieldPath) -> FieldErrors:
    """ValidatePodTemplateSpec: labels and annotations at `<path>.labels` / `.annotations`, then the spec."""
    metadata = mapping(template.get("metadata"))
    errors = validate_labels(mapping(metadata.get("labels")), path.child("labels"))
    errors.extend(validate_annotations(mapping(metadata.get("annotations")), path.child("annotations")))
    spec = template.get("spec")
    errors.extend(validate_pod_annotations(mapping(metadata.get("annotations")), mapping(spec),
                                           path.child("annotations")))
    errors.extend(validate_pod_spec(spec if isinstance(spec, dict) else {}, path.child("spec")))
    if items(mapping(spec).get("ephemeralContainers")):
        errors.append(FieldError.forbidden(path.child("spec", "ephemeralContainers"),
                                           "ephemeral containers not allowed in pod template"))
    return errors
