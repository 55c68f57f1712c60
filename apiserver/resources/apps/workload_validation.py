"""Rules shared by the workload controllers' types (apps, batch, core ReplicationControllers).

Upstream keeps these in pkg/apis/apps/validation and apimachinery's metav1 validation: label selectors, the
template-matches-selector rule, int-or-percent fields, immutable fields. Bad values that upstream prints with
Go's `%#v` (a `map[string]string`, a `v1.LabelSelector`, an `intstr.IntOrString`) are printed the same way here,
so messages such as `spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable` match byte for byte.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.selectors import LabelSelector, SelectorError
from apiserver.meta.validation import (
    FIELD_IMMUTABLE_MESSAGE,
    FieldError,
    FieldErrors,
    FieldPath,
    is_valid_label_value,
    regex_message,
    validate_label_name,
    validate_labels,
)
from apiserver.resources.core.podspec import default_pod_template

MutableObject = dict[str, Any]

SELECTOR_MISMATCH: Final = "`selector` does not match template `labels`"
PERCENT_MESSAGE: Final = regex_message(
    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%")
_PERCENT: Final = re.compile(r"^[0-9]+%$")
RESTART_ALWAYS: Final = "Always"


class GoValueError(FieldError):
    """A field error whose bad value is already printed as Go's `%#v` would print it."""

    def error_body(self) -> str:
        body = f"{self.type.label}: {self.bad_value}"
        return f"{body}: {self.detail}" if self.detail else body


def go_invalid(path: FieldPath, rendered: str, detail: str) -> FieldError:
    """`Invalid value: <rendered>: <detail>` with `rendered` printed verbatim."""
    error = FieldError.invalid(path, None, detail)
    return GoValueError(error.type, error.field, rendered, detail)


def go_not_supported(path: FieldPath, rendered: str, valid: list[str]) -> FieldError:
    """`Unsupported value: <rendered>: supported values: ...` with `rendered` printed verbatim."""
    error = FieldError.not_supported(path, None, valid)
    return GoValueError(error.type, error.field, rendered, error.detail)


# --- Go's %#v of the values these rules print -------------------------------------------------------------

def go_string_map(labels: object) -> str:
    """`map[string]string{"a":"b", "c":"d"}` (keys sorted, as fmt prints maps); `(nil)` when absent."""
    if not isinstance(labels, Mapping):
        return "map[string]string(nil)"
    pairs = ", ".join(f"{go_quote(str(key))}:{go_quote(str(labels[key]))}" for key in sorted(labels))
    return f"map[string]string{{{pairs}}}"


def _go_strings(values: object) -> str:
    if not isinstance(values, list):
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(value)) for value in values) + "}"


def go_label_selector(selector: object) -> str:
    """A metav1.LabelSelector as `v1.LabelSelector{MatchLabels:..., MatchExpressions:...}`."""
    selector = selector if isinstance(selector, Mapping) else {}
    expressions = selector.get("matchExpressions")
    if isinstance(expressions, list):
        rendered = ", ".join(
            "v1.LabelSelectorRequirement{"
            f"Key:{go_quote(str(_get(item, 'key')))}, Operator:{go_quote(str(_get(item, 'operator')))}, "
            f"Values:{_go_strings(_get(item, 'values', None))}}}"
            for item in expressions
        )
        go_expressions = f"[]v1.LabelSelectorRequirement{{{rendered}}}"
    else:
        go_expressions = "[]v1.LabelSelectorRequirement(nil)"
    return (f"v1.LabelSelector{{MatchLabels:{go_string_map(selector.get('matchLabels'))}, "
            f"MatchExpressions:{go_expressions}}}")


def go_int_or_string(value: object) -> str:
    """An intstr.IntOrString (a value, not a pointer, so fmt prints its fields)."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"
    number = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return f'intstr.IntOrString{{Type:0, IntVal:{number}, StrVal:""}}'


def _get(item: object, key: str, default: object = "") -> Any:
    return item.get(key, default) if isinstance(item, Mapping) else default


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

def validate_label_selector(selector: object, path: FieldPath) -> FieldErrors:
    """metav1validation.ValidateLabelSelector with label values checked (AllowInvalidLabelValueInSelector off)."""
    if not isinstance(selector, Mapping):
        return []
    errors = validate_labels(dict(mapping_of(selector, "matchLabels")), path.child("matchLabels"))
    expressions = selector.get("matchExpressions")
    for index, expression in enumerate(expressions if isinstance(expressions, list) else []):
        errors += _requirement_errors(expression if isinstance(expression, Mapping) else {},
                                      path.child("matchExpressions").index(index))
    return errors


def _requirement_errors(requirement: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    operator = requirement.get("operator", "")
    values = requirement.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(FieldError.required(path.child("values"),
                                              "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(FieldError.forbidden(path.child("values"),
                                               "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    else:
        errors.append(FieldError.invalid(path.child("operator"), operator, "not a valid selector operator"))
    errors += validate_label_name(str(requirement.get("key", "")), path.child("key"))
    for index, value in enumerate(values if isinstance(values, list) else []):
        errors += [FieldError.invalid(path.child("values").index(index), value, message)
                   for message in is_valid_label_value(str(value))]
    return errors


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
    number = integer_of(value)
    if number is None or number >= 0:
        return []
    return [FieldError.invalid(path, number, "must be greater than or equal to 0")]


def percent_value(value: object) -> int | None:
    """The number of a valid `N%` string, None for anything else."""
    if isinstance(value, str) and _PERCENT.match(value):
        return int(value[:-1])
    return None


def int_or_percent_value(value: object) -> int:
    """getIntOrPercentValue: the percentage's number, the integer, or 0."""
    percent = percent_value(value)
    if percent is not None:
        return percent
    return integer_of(value) or 0


def positive_int_or_percent(value: object, path: FieldPath) -> FieldErrors:
    """ValidatePositiveIntOrPercent."""
    if isinstance(value, str):
        if percent_value(value) is None:
            return [go_invalid(path, go_int_or_string(value), PERCENT_MESSAGE)]
        return []
    return non_negative(value, path)


def not_more_than_100_percent(value: object, path: FieldPath) -> FieldErrors:
    percent = percent_value(value)
    if percent is None or percent <= 100:
        return []
    return [go_invalid(path, go_int_or_string(value), "must not be greater than 100%")]
