"""Rules shared by the workload controllers' types (apps, batch, core ReplicationControllers).

Upstream keeps these in pkg/apis/apps/validation: required non-empty selectors, the template-matches-selector
rule, restartPolicy Always, immutable selectors, non-negative counts, pod template defaults. Bad values that
upstream prints with Go's `%#v` are printed the same way (`meta.govalues`), so messages such as
`spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable` match byte for byte. Label selector
validation is `meta.selector_validation`, int-or-percent fields `meta.intorstring`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.govalues import go_invalid, go_label_selector, go_string_map
from apiserver.meta.selector_validation import validate_label_selector
from apiserver.meta.selectors import LabelSelector, SelectorError
from apiserver.meta.validation import FIELD_IMMUTABLE_MESSAGE, FieldError, FieldErrors, FieldPath
from apiserver.meta.validation import non_negative as validate_non_negative
from apiserver.resources.core.podspec import default_pod_template

MutableObject = dict[str, Any]

SELECTOR_MISMATCH: Final = "`selector` does not match template `labels`"
RESTART_ALWAYS: Final = "Always"


# --- Accessors ----------------------------------------------------------------------------------------------

def child(obj: MutableObject, key: str) -> MutableObject:
    """`obj[key]` as a dict, created (or replaced when not a dict)."""
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


def mapping_of(obj: object, *path: str) -> Mapping[str, Any]:
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def integer_of(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def set_default(obj: MutableObject, key: str, value: object) -> None:
    """Go's `if x == nil { x = value }` for a JSON field: absent or null gets the default."""
    if obj.get(key) is None:
        obj[key] = value


def default_template(template: object) -> None:
    """The pod template's defaults; restartPolicy is Always when unset (SetDefaults_PodSpec)."""
    if not isinstance(template, dict):
        return
    default_pod_template(template)
    set_default(child(template, "spec"), "restartPolicy", RESTART_ALWAYS)


# --- Label selectors ----------------------------------------------------------------------------------------

def selector_of(selector: object) -> LabelSelector | None:
    """LabelSelectorAsSelector: None when it cannot be converted (an unknown operator, a bad requirement)."""
    try:
        return LabelSelector.from_label_selector(selector if isinstance(selector, Mapping) else None)
    except SelectorError:
        return None


def is_empty_selector(selector: object) -> bool:
    """A selector object with neither matchLabels nor matchExpressions."""
    return not mapping_of(selector, "matchLabels") and not (
        isinstance(selector, Mapping) and selector.get("matchExpressions"))


def required_selector(selector: object, path: FieldPath, kind: str) -> FieldErrors:
    """A required, strictly valid, non-empty selector (`empty selector is invalid for <kind>`)."""
    if selector is None:
        return [FieldError.required(path)]
    errors = validate_label_selector(selector, path)
    if is_empty_selector(selector):
        errors.append(go_invalid(path, go_label_selector(selector), f"empty selector is invalid for {kind}"))
    return errors


def template_labels_match(selector: LabelSelector, template: object, path: FieldPath) -> FieldErrors:
    """The selector (unless it selects everything) must match the template's labels."""
    labels = mapping_of(template, "metadata", "labels")
    if selector.is_empty() or selector.matches({str(key): str(value) for key, value in labels.items()}):
        return []
    raw = mapping_of(template, "metadata").get("labels")
    return [go_invalid(path.child("metadata", "labels"), go_string_map(raw), SELECTOR_MISMATCH)]


def always_restart(template: object, path: FieldPath, kind: str) -> FieldErrors:
    """restartPolicy must be Always; activeDeadlineSeconds is not supported (ValidatePodTemplateSpecForReplicaSet)."""
    spec = mapping_of(template, "spec")
    errors: FieldErrors = []
    policy = spec.get("restartPolicy", "")
    if policy != RESTART_ALWAYS:
        errors.append(FieldError.not_supported(path.child("spec", "restartPolicy"), policy, [RESTART_ALWAYS]))
    if spec.get("activeDeadlineSeconds") is not None:
        errors.append(FieldError.forbidden(path.child("spec", "activeDeadlineSeconds"),
                                           f"activeDeadlineSeconds in {kind} is not Supported"))
    return errors


def immutable_selector(new: object, old: object, path: FieldPath) -> FieldErrors:
    """ValidateImmutableField for a *metav1.LabelSelector."""
    if new == old:
        return []
    rendered = "null" if new is None else go_label_selector(new)
    return [go_invalid(path, rendered, FIELD_IMMUTABLE_MESSAGE)]


# --- Numbers ------------------------------------------------------------------------------------------------

def non_negative(value: object, path: FieldPath) -> FieldErrors:
    """ValidateNonnegativeField for an optional integer field (anything else is left to the schema)."""
    return validate_non_negative(integer_of(value), path)
