"""x-kubernetes-validations of CRD schemas: CEL compilation, result types, transition rules and cost, with
upstream v1.32's messages (the bad value is the rule as Go's %#v prints apiextensions.ValidationRule)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.resources.apiextensions.crd_support import CRDS, create, invalid, refused, with_schema
from tests.support.resource_app import ResourceApp, resource_app

SCHEMA = "spec.validation.openAPIV3Schema"
BUDGET_HINT = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and "
               "strings are declared)")


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def rule_value(rule: str, message_expression: str = "", optional: str = "(*bool)(nil)") -> str:
    return (f'apiextensions.ValidationRule{{Rule:"{rule}", Message:"", MessageExpression:"{message_expression}", '
            f'Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:"", OptionalOldSelf:{optional}}}')


def object_with(*rules: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties or {"a": {"type": "integer"}},
            "x-kubernetes-validations": list(rules)}


async def test_rule_that_does_not_compile(api: ResourceApp) -> None:
    await refused(api, "POST", CRDS, with_schema(object_with({"rule": "self.b == 1"})), invalid([
        ("FieldValueInvalid", f"{SCHEMA}.x-kubernetes-validations[0].rule",
         f"Invalid value: {rule_value('self.b == 1')}: compilation failed: ERROR: <input>:1:5: undefined field 'b'\n"
         " | self.b == 1\n | ....^")]))


async def test_rule_and_message_expression_result_types(api: ResourceApp) -> None:
    root = object_with({"rule": "self.a"}, {"rule": "self.a > 0", "messageExpression": "self.a"})
    await refused(api, "POST", CRDS, with_schema(root), invalid([
        ("FieldValueInvalid", f"{SCHEMA}.x-kubernetes-validations[0].rule",
         f"Invalid value: {rule_value('self.a')}: cel expression must evaluate to a bool"),
        ("FieldValueInvalid", f"{SCHEMA}.x-kubernetes-validations[1].messageExpression",
         f"Invalid value: {rule_value('self.a > 0', 'self.a')}: messageExpression must evaluate to a string")]))


async def test_old_self_inside_an_atomic_list_is_uncorrelatable(api: ResourceApp) -> None:
    item = {"type": "object", "properties": {"n": {"type": "string", "maxLength": 10}},
            "x-kubernetes-validations": [{"rule": "self.n == oldSelf.n"}]}
    root = {"type": "object", "properties": {"l": {"type": "array", "maxItems": 10, "items": item}}}
    await refused(api, "POST", CRDS, with_schema(root), invalid([
        ("FieldValueInvalid", f"{SCHEMA}.properties[l].items.x-kubernetes-validations[0].rule",
         'Invalid value: "self.n == oldSelf.n": oldSelf cannot be used on the uncorrelatable portion of the schema '
         f"within {SCHEMA}.properties[l]")]))


async def test_optional_old_self_needs_old_self(api: ResourceApp) -> None:
    root = object_with({"rule": "self.a > 0", "optionalOldSelf": True})
    await refused(api, "POST", CRDS, with_schema(root), invalid([
        ("FieldValueInvalid", f"{SCHEMA}.x-kubernetes-validations[0].optionalOldSelf",
         "Invalid value: true: may not be set if oldSelf is not used in rule")]))


async def test_quadratic_rule_over_an_unbounded_list_exceeds_the_cost_budget(api: ResourceApp) -> None:
    root = object_with({"rule": "self.l.all(x, self.l.all(y, x == y))"},
                       l={"type": "array", "items": {"type": "string"}})
    await refused(api, "POST", CRDS, with_schema(root), invalid([
        ("FieldValueForbidden", f"{SCHEMA}.x-kubernetes-validations[0].rule",
         f"Forbidden: estimated rule cost exceeds budget by factor of more than 100x {BUDGET_HINT}"),
        ("FieldValueForbidden", f"{SCHEMA}.x-kubernetes-validations[0].rule",
         "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"),
        ("FieldValueForbidden", SCHEMA, "Forbidden: x-kubernetes-validations estimated rule cost total for entire "
                                        f"OpenAPIv3 schema exceeds budget by factor of more than 100x {BUDGET_HINT}")]))


async def test_rules_under_unbounded_lists_count_every_possible_item(api: ResourceApp) -> None:
    # Upstream: an unbounded list of objects may hold 3 MiB / 3 bytes = 1048576 items, and comparing two strings
    # without maxLength is estimated at the request size: far over the per-rule budget.
    item = {"type": "object", "properties": {"n": {"type": "string"}, "m": {"type": "string"}},
            "x-kubernetes-validations": [{"rule": "self.n == self.m"}]}
    root = {"type": "object", "properties": {"l": {"type": "array", "items": item}}}
    rule = f"{SCHEMA}.properties[l].items.x-kubernetes-validations[0].rule"
    await refused(api, "POST", CRDS, with_schema(root), invalid([
        ("FieldValueForbidden", rule, f"Forbidden: estimated rule cost exceeds budget by factor of more than 100x "
                                      f"{BUDGET_HINT}"),
        ("FieldValueForbidden", rule,
         "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"),
        ("FieldValueForbidden", SCHEMA, "Forbidden: x-kubernetes-validations estimated rule cost total for entire "
                                        f"OpenAPIv3 schema exceeds budget by factor of more than 100x {BUDGET_HINT}")]))


async def test_simple_rules_under_unbounded_lists_fit_the_budget(api: ResourceApp) -> None:
    item = {"type": "object", "properties": {"n": {"type": "string"}},
            "x-kubernetes-validations": [{"rule": "self.n != 'forbidden'"}]}
    await create(api, with_schema({"type": "object", "properties": {"l": {"type": "array", "items": item}}}))


async def test_bounded_list_keeps_the_same_rule_within_budget(api: ResourceApp) -> None:
    root = object_with({"rule": "self.l.all(x, self.l.all(y, x == y))"},
                       l={"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}})
    await create(api, with_schema(root))


async def test_transition_rules_and_rules_under_map_lists_compile(api: ResourceApp) -> None:
    item = {"type": "object", "required": ["n"], "properties": {"n": {"type": "string"}, "v": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.v >= oldSelf.v", "message": "v may not go down"}]}
    root = object_with({"rule": "self.a >= oldSelf.a", "optionalOldSelf": False,
                        "messageExpression": "'a went down to ' + string(self.a)"},
                       a={"type": "integer"},
                       m={"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"],
                          "items": item})
    await create(api, with_schema(root))


async def test_rules_are_not_compiled_below_a_schema_error(api: ResourceApp) -> None:
    root = object_with({"rule": "self.b == 1"}, a={})
    await refused(api, "POST", CRDS, with_schema(root), invalid([
        ("FieldValueRequired", f"{SCHEMA}.properties[a].type",
         "Required value: must not be empty for specified object fields")]))


# A string's estimated size is 4 bytes per character of maxLength (upstream's worst case for UTF-8).
COSTLY_ITEM = {"type": "object", "properties": {"n": {"type": "string", "maxLength": 25},
                                                "m": {"type": "string", "maxLength": 25}},
               "x-kubernetes-validations": [{"rule": "self.n == self.m"}]}
COSTLY = {"type": "object", "properties": {"l": {"type": "array", "items": COSTLY_ITEM}}}


async def test_rule_slightly_over_budget_reports_the_exact_factor(api: ResourceApp) -> None:
    # 14 per item (string equality over 100 bytes) times 1048576 possible items.
    await refused(api, "POST", CRDS, with_schema(COSTLY), invalid([
        ("FieldValueForbidden", f"{SCHEMA}.properties[l].items.x-kubernetes-validations[0].rule",
         f"Forbidden: estimated rule cost exceeds budget by factor of 1.468006x {BUDGET_HINT}")]))


async def test_unchanged_schema_keeps_a_rule_over_budget_on_update(api: ResourceApp) -> None:
    """Ratcheting: the per-rule cost limit is not applied again to a version whose schema did not change."""
    created = await create(api, with_schema({"type": "object"}))
    stored = dict(created, spec={**created["spec"], "versions": [
        {**created["spec"]["versions"][0], "schema": {"openAPIV3Schema": COSTLY}}]})
    key = "/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com"
    await api.storage.update(key, orjson.dumps(stored), expected=int(created["metadata"]["resourceVersion"]))
    answer = await api.request("PATCH", f"{CRDS}/widgets.example.com", {"spec": {"names": {"shortNames": ["w"]}}},
                               headers={"content-type": "application/merge-patch+json"})
    assert answer.status == 200, answer.json()
    assert answer.json()["metadata"]["generation"] == 2
