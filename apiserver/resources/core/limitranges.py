"""LimitRanges (core/v1): per-namespace defaults and bounds for resource requests; no printer upstream.

The strategy follows upstream v1.32: a Container item gets its default limits from `max` and its default
requests from `default` then `min` (SetDefaults_LimitRangeItem); validation checks the limit types, resource
names and min <= defaultRequest <= default <= max with upstream's messages. Bad quantities are printed as Go's
`%#v` of a resource.Quantity, as upstream's field errors print them (goquantity.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.govalues import go_invalid
from apiserver.meta.quantity import Quantity
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_qualified_name
from apiserver.registry.columns import mapping, sequence, text
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.goquantity import go_quantity
from apiserver.resources.core.podspec_resources import (
    is_overcommit_allowed,
    quantity_of,
    validate_container_resource_name,
    validate_resource_name,
)

LIMIT_TYPES: Final = ("Container", "Pod", "PersistentVolumeClaim")
BOUNDS: Final = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
LIMITS_PATH: Final = FieldPath("spec", "limits")


def default_limit_item(item: MutableObject) -> None:
    """SetDefaults_LimitRangeItem: Container limits default to max, requests to default and then min."""
    if item.get("type") != "Container":
        return
    default = dict(mapping(item.get("default")))
    for name, value in mapping(item.get("max")).items():
        default.setdefault(name, value)
    request = dict(mapping(item.get("defaultRequest")))
    for source in (default, mapping(item.get("min"))):
        for name, value in source.items():
            request.setdefault(name, value)
    for key, values in (("default", default), ("defaultRequest", request)):
        if values:
            item[key] = values


def _validate_type(kind: str, path: FieldPath) -> FieldErrors:
    errors = [FieldError.invalid(path, kind, message) for message in is_qualified_name(kind)]
    if "/" not in kind and kind not in LIMIT_TYPES:
        errors.append(FieldError.invalid(path, kind, "must be a standard limit type or fully qualified"))
    return errors


def _bounds(item: Mapping[str, Any], path: FieldPath) -> tuple[dict[str, dict[str, Quantity]], FieldErrors]:
    kind = text(item.get("type"))
    name_rule = validate_container_resource_name if kind in ("Pod", "Container") else validate_resource_name
    errors: FieldErrors = []
    bounds: dict[str, dict[str, Quantity]] = {bound: {} for bound in BOUNDS}
    for bound in BOUNDS:
        values = mapping(item.get(bound))
        if kind == "Pod" and bound in ("default", "defaultRequest"):
            if values:
                errors.append(FieldError.forbidden(path.child(bound), "may not be specified when `type` is 'Pod'"))
            continue
        parsed: dict[str, Quantity] = {}
        for name in sorted(values):
            errors.extend(name_rule(name, path.child(bound).key(name)))
            quantity = quantity_of(values[name])
            if quantity is not None:
                parsed[name] = quantity
        bounds[bound] = parsed
    return bounds, errors


def _compare(name: str, bounds: dict[str, dict[str, Quantity]], item: Mapping[str, Any],
             path: FieldPath) -> FieldErrors:
    low, high = bounds["min"].get(name), bounds["max"].get(name)
    default, request = bounds["default"].get(name), bounds["defaultRequest"].get(name)
    ratio = bounds["maxLimitRequestRatio"].get(name)
    raw = {bound: mapping(item.get(bound)).get(name) for bound in BOUNDS}
    checks = (
        (low, high, "min", "min", f"min value {low} is greater than max value {high}"),
        (low, request, "defaultRequest", "defaultRequest",
         f"min value {low} is greater than default request value {request}"),
        (request, high, "defaultRequest", "defaultRequest",
         f"default request value {request} is greater than max value {high}"),
        (request, default, "defaultRequest", "defaultRequest",
         f"default request value {request} is greater than default limit value {default}"),
        (low, default, "default", "min", f"min value {low} is greater than default value {default}"),
        (default, high, "default", "max", f"default value {default} is greater than max value {high}"),
    )
    errors = [go_invalid(path.child(bound).key(name), go_quantity(raw[bad]), detail)
              for smaller, larger, bound, bad, detail in checks
              if smaller is not None and larger is not None and smaller.value > larger.value]
    if ratio is not None and ratio.value < 1:
        errors.append(go_invalid(path.child("maxLimitRequestRatio").key(name),
                                 go_quantity(raw["maxLimitRequestRatio"]), f"ratio {ratio} is less than 1"))
    if ratio is not None and low is not None and high is not None and low.value > 0:
        limit = high.value / low.value
        if ratio.value > limit:
            errors.append(go_invalid(path.child("maxLimitRequestRatio").key(name),
                                     go_quantity(raw["maxLimitRequestRatio"]),
                                     f"ratio {ratio} is greater than max/min = {float(limit):f}"))
    mismatched = default is not None and request is not None and default.value != request.value
    if not is_overcommit_allowed(name) and mismatched:
        errors.append(go_invalid(path.child("defaultRequest").key(name), go_quantity(raw["defaultRequest"]),
                                 f"default value {default} must equal to defaultRequest value {request} in {name}"))
    return errors


def validate_limit_range(obj: Mapping[str, Any]) -> FieldErrors:
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, item in enumerate(mapping(entry) for entry in sequence(mapping(obj.get("spec")).get("limits"))):
        path, kind = LIMITS_PATH.index(index), text(item.get("type"))
        errors.extend(_validate_type(kind, path.child("type")))
        if kind in seen:
            errors.append(FieldError.duplicate(path.child("type"), kind))
        seen.add(kind)
        bounds, found = _bounds(item, path)
        errors.extend(found)
        if kind == "PersistentVolumeClaim" and "storage" not in bounds["min"] and "storage" not in bounds["max"]:
            errors.append(FieldError.required(path.child("limits"), "either minimum or maximum storage value is "
                                                                    "required, but neither was provided"))
        for name in sorted(set().union(*bounds.values())):
            errors.extend(_compare(name, bounds, item, path))
    return errors


class LimitRangeStrategy(DefaultStrategy):
    """Container defaults and the bounds rules of LimitRanges."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        for item in sequence(mapping(obj.get("spec")).get("limits")):
            if isinstance(item, dict):
                default_limit_item(item)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        for item in sequence(mapping(obj.get("spec")).get("limits")):
            if isinstance(item, dict):
                default_limit_item(item)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        self.prepare_for_create(obj, ctx)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_limit_range(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_limit_range(obj)


SPEC = ResourceSpec(
    group="", version="v1", kind="LimitRange", plural="limitranges", namespaced=True, short_names=("limits",),
    strategy=LimitRangeStrategy(),
)
