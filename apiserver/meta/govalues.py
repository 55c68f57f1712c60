"""Field errors whose bad value upstream prints with Go's `%#v` rather than as JSON, and those renderings.

Upstream's field.Invalid prints a struct, a map or an intstr.IntOrString with `%#v` (`map[string]string{"a":"b"}`,
`v1.LabelSelector{MatchLabels:..., MatchExpressions:...}`, `intstr.IntOrString{Type:1, IntVal:0, StrVal:"x"}`).
The renderings here produce that text, and GoValueError prints it verbatim, so such messages match byte for byte.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.meta.errors import go_quote
from apiserver.meta.validation import FieldError, FieldPath


@dataclass(frozen=True, slots=True)
class GoValueError(FieldError):
    """A field error whose bad value is already printed as Go's `%#v` would print it (a string, shown as is)."""

    def error_body(self) -> str:
        body = f"{self.type.label}: {self.bad_value}"
        return f"{body}: {self.detail}" if self.detail else body


def go_invalid(path: FieldPath, rendered: str, detail: str) -> FieldError:
    """`Invalid value: <rendered>: <detail>` with `rendered` printed verbatim."""
    return GoValueError.invalid(path, rendered, detail)


def go_not_supported(path: FieldPath, rendered: str, valid: Sequence[str]) -> FieldError:
    """`Unsupported value: <rendered>: supported values: ...` with `rendered` printed verbatim."""
    return GoValueError.not_supported(path, rendered, valid)


def go_string_map(labels: object) -> str:
    """`map[string]string{"a":"b", "c":"d"}` (keys sorted, as fmt prints maps); `(nil)` when absent."""
    if not isinstance(labels, Mapping):
        return "map[string]string(nil)"
    pairs = ", ".join(f"{go_quote(str(key))}:{go_quote(str(labels[key]))}" for key in sorted(labels))
    return f"map[string]string{{{pairs}}}"


def go_strings(values: object) -> str:
    """`[]string{"a", "b"}`; `[]string(nil)` when absent."""
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
            f"Values:{go_strings(_get(item, 'values', None))}}}"
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
