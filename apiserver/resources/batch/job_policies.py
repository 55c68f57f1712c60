"""Job spec rules beyond counts and the template: podFailurePolicy, successPolicy, managedBy and the limits of
Indexed jobs with a per-index backoff limit (upstream v1.32 pkg/apis/batch/validation: validatePodFailurePolicy,
validateSuccessPolicy, IsDomainPrefixedPath and validateJobSpec's Indexed limits).

Bad values upstream prints as Go `[]int32` are printed the same way; a whole successPolicy (a Go struct with
pointers) is printed as compact JSON, as the rest of the project prints objects.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.govalues import go_invalid
from apiserver.meta.validation import (
    OMIT_VALUE,
    FieldError,
    FieldErrors,
    FieldErrorType,
    FieldPath,
    is_dns1123_subdomain,
    is_qualified_name,
    regex_message,
)
from apiserver.resources.apps import workload_validation as rules

INDEXED: Final = "Indexed"
MAX_PARALLELISM_INDEXED: Final = 100_000
MAX_FAILED_INDEXES: Final = 100_000
COMPLETIONS_SOFT_LIMIT: Final = 100_000
PARALLELISM_LIMIT_HIGH_COMPLETIONS: Final = 10_000
MAX_FAILED_INDEXES_HIGH_COMPLETIONS: Final = 10_000
MAX_FAILURE_POLICY_RULES: Final = 20
MAX_EXIT_CODE_VALUES: Final = 255
MAX_CONDITION_PATTERNS: Final = 20
MAX_MANAGED_BY_LENGTH: Final = 63
MAX_SUCCEEDED_INDEXES_LENGTH: Final = 64 * 1024
MAX_SUCCESS_POLICY_RULES: Final = 20

ACTIONS: Final = ("Count", "FailIndex", "FailJob", "Ignore")
OPERATORS: Final = ("In", "NotIn")
CONDITION_STATUSES: Final = ("False", "True", "Unknown")
_HTTP_PATH_FORMAT: Final = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH: Final = re.compile(_HTTP_PATH_FORMAT)
_GO_INT: Final = re.compile(r"[+-]?[0-9]+")
_HIGH_COMPLETIONS: Final = (f"when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per "
                            "index")


def _go_list(values: list[str]) -> str:
    """Go's `%q` of a []string: `["a" "b"]`."""
    return "[" + " ".join(go_quote(value) for value in values) + "]"


def go_int32s(values: object) -> str:
    """Go's `%#v` of a []int32: `[]int32{1, 2}`, `[]int32{}` or `[]int32(nil)`."""
    if not isinstance(values, list):
        return "[]int32(nil)"
    return "[]int32{" + ", ".join(str(value) for value in values) + "}"


def _omitted(path: FieldPath, detail: str) -> FieldError:
    return FieldError(FieldErrorType.INVALID, str(path), OMIT_VALUE, detail)


def _list_of(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


# --- managedBy and the Indexed limits -------------------------------------------------------------------------

def managed_by_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """IsDomainPrefixedPath (`acme.io/foo`) and at most 63 characters."""
    value = spec.get("managedBy")
    if value is None:
        return []
    value = str(value)
    errors: FieldErrors = []
    host, slash, rest = value.partition("/")
    if not value:
        errors.append(FieldError.required(path))
    elif not slash or not host or not rest:
        errors.append(FieldError.invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")'))
    else:
        errors += [FieldError.invalid(path, host, message) for message in is_dns1123_subdomain(host)]
        if not _HTTP_PATH.fullmatch(rest):
            errors.append(FieldError.invalid(path, rest, regex_message("Invalid path", _HTTP_PATH_FORMAT)))
    if len(value) > MAX_MANAGED_BY_LENGTH:
        errors.append(FieldError.too_long(path, MAX_MANAGED_BY_LENGTH))
    return errors


def indexed_limit_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """Indexed jobs: maxFailedIndexes within completions and 100000; above 100000 completions with a
    per-index backoff limit, maxFailedIndexes is required and it and parallelism are kept to 10000."""
    completions = rules.integer_of(spec.get("completions"))
    parallelism = rules.integer_of(spec.get("parallelism"))
    max_failed = rules.integer_of(spec.get("maxFailedIndexes"))
    errors: FieldErrors = []
    if completions is not None and max_failed is not None and max_failed > completions:
        errors.append(FieldError.invalid(path.child("maxFailedIndexes"), max_failed,
                                         "must be less than or equal to completions"))
    if max_failed is not None and max_failed > MAX_FAILED_INDEXES:
        errors.append(FieldError.invalid(path.child("maxFailedIndexes"), max_failed,
                                         f"must be less than or equal to {MAX_FAILED_INDEXES}"))
    if completions is None or completions <= COMPLETIONS_SOFT_LIMIT or spec.get("backoffLimitPerIndex") is None:
        return errors
    if spec.get("maxFailedIndexes") is None:
        errors.append(FieldError.required(path.child("maxFailedIndexes"),
                                          f"must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"))
    if parallelism is not None and parallelism > PARALLELISM_LIMIT_HIGH_COMPLETIONS:
        errors.append(FieldError.invalid(path.child("parallelism"), parallelism, "must be less than or equal to "
                                         f"{PARALLELISM_LIMIT_HIGH_COMPLETIONS} {_HIGH_COMPLETIONS}"))
    if max_failed is not None and max_failed > MAX_FAILED_INDEXES_HIGH_COMPLETIONS:
        errors.append(FieldError.invalid(path.child("maxFailedIndexes"), max_failed, "must be less than or equal to "
                                         f"{MAX_FAILED_INDEXES_HIGH_COMPLETIONS} {_HIGH_COMPLETIONS}"))
    return errors


# --- podFailurePolicy -----------------------------------------------------------------------------------------

def pod_failure_policy_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validatePodFailurePolicy: at most 20 rules, each with a known action and exactly one requirement."""
    policy = spec.get("podFailurePolicy")
    if policy is None:
        return []
    rules_path = path.child("rules")
    policy_rules = _list_of(rules.mapping_of(policy).get("rules"))
    errors: FieldErrors = []
    if len(policy_rules) > MAX_FAILURE_POLICY_RULES:
        errors.append(FieldError.too_many(rules_path, len(policy_rules), MAX_FAILURE_POLICY_RULES))
    pod_spec = rules.mapping_of(spec, "template", "spec")
    containers = {str(rules.mapping_of(container).get("name") or "")
                  for key in ("containers", "initContainers") for container in _list_of(pod_spec.get(key))}
    for index, rule in enumerate(policy_rules):
        errors += _failure_rule_errors(spec, rules.mapping_of(rule), rules_path.index(index), containers)
    return errors


def _failure_rule_errors(spec: Mapping[str, Any], rule: Mapping[str, Any], path: FieldPath,
                         containers: set[str]) -> FieldErrors:
    errors: FieldErrors = []
    action = rule.get("action") or ""
    action_path = path.child("action")
    if action == "":
        errors.append(FieldError.required(action_path, f"valid values: {_go_list(list(ACTIONS))}"))
    elif action == "FailIndex":
        if spec.get("backoffLimitPerIndex") is None:
            errors.append(FieldError.invalid(action_path, action, "requires the backoffLimitPerIndex to be set"))
    elif action not in ACTIONS:
        errors.append(FieldError.not_supported(action_path, action, list(ACTIONS)))
    on_exit_codes = rule.get("onExitCodes")
    conditions = _list_of(rule.get("onPodConditions"))
    if on_exit_codes is not None:
        errors += _exit_codes_errors(rules.mapping_of(on_exit_codes), path.child("onExitCodes"), containers)
    if conditions:
        errors += _condition_errors(conditions, path.child("onPodConditions"))
    if on_exit_codes is not None and conditions:
        errors.append(_omitted(path, "specifying both OnExitCodes and OnPodConditions is not supported"))
    if on_exit_codes is None and not conditions:
        errors.append(_omitted(path, "specifying one of OnExitCodes and OnPodConditions is required"))
    return errors


def _condition_errors(conditions: list[Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if len(conditions) > MAX_CONDITION_PATTERNS:
        errors.append(FieldError.too_many(path, len(conditions), MAX_CONDITION_PATTERNS))
    for index, pattern in enumerate(conditions):
        pattern = rules.mapping_of(pattern)
        pattern_path = path.index(index)
        condition_type = str(pattern.get("type") or "")
        errors += [FieldError.invalid(pattern_path.child("type"), condition_type, message)
                   for message in is_qualified_name(condition_type)]
        status = pattern.get("status") or ""
        if status == "":
            errors.append(FieldError.required(pattern_path.child("status"),
                                              f"valid values: {_go_list(list(CONDITION_STATUSES))}"))
        elif status not in CONDITION_STATUSES:
            errors.append(FieldError.not_supported(pattern_path.child("status"), status, list(CONDITION_STATUSES)))
    return errors


def _exit_codes_errors(requirement: Mapping[str, Any], path: FieldPath, containers: set[str]) -> FieldErrors:
    errors: FieldErrors = []
    operator = requirement.get("operator") or ""
    if operator == "":
        errors.append(FieldError.required(path.child("operator"), f"valid values: {_go_list(list(OPERATORS))}"))
    elif operator not in OPERATORS:
        errors.append(FieldError.not_supported(path.child("operator"), operator, list(OPERATORS)))
    container = requirement.get("containerName")
    if container is not None and container not in containers:
        errors.append(FieldError.invalid(path.child("containerName"), container,
                                         "must be one of the container or initContainer names in the pod template"))
    values_path = path.child("values")
    raw = requirement.get("values")
    values = _list_of(raw)
    if not values:
        errors.append(go_invalid(values_path, go_int32s(raw), "at least one value is required"))
    elif len(values) > MAX_EXIT_CODE_VALUES:
        errors.append(FieldError.too_many(values_path, len(values), MAX_EXIT_CODE_VALUES))
    seen: set[Any] = set()
    ordered = True
    for index, value in enumerate(values):
        if operator == "In" and value == 0:
            errors.append(FieldError.invalid(values_path.index(index), value, "must not be 0 for the In operator"))
        if value in seen:
            errors.append(FieldError.duplicate(values_path.index(index), value))
        seen.add(value)
        if index > 0 and isinstance(value, int) and isinstance(values[index - 1], int) and values[index - 1] > value:
            ordered = False
    if not ordered:
        errors.append(go_invalid(values_path, go_int32s(values), "must be ordered"))
    return errors


# --- successPolicy --------------------------------------------------------------------------------------------

def success_policy_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """Indexed jobs only; 1 to 20 rules, each with succeededIndexes and/or succeededCount within completions."""
    policy = spec.get("successPolicy")
    if policy is None:
        return []
    if spec.get("completionMode") != INDEXED:
        return [FieldError.invalid(path, policy, "requires indexed completion mode")]
    rules_path = path.child("rules")
    policy_rules = _list_of(rules.mapping_of(policy).get("rules"))
    errors: FieldErrors = []
    if not policy_rules:
        errors.append(FieldError.required(rules_path,
                                          "at least one rules must be specified when the successPolicy is specified"))
    if len(policy_rules) > MAX_SUCCESS_POLICY_RULES:
        errors.append(FieldError.too_many(rules_path, len(policy_rules), MAX_SUCCESS_POLICY_RULES))
    completions = rules.integer_of(spec.get("completions"))
    for index, rule in enumerate(policy_rules):
        errors += _success_rule_errors(rules.mapping_of(rule), completions, rules_path.index(index))
    return errors


def _success_rule_errors(rule: Mapping[str, Any], completions: int | None, path: FieldPath) -> FieldErrors:
    indexes, count = rule.get("succeededIndexes"), rule.get("succeededCount")
    errors: FieldErrors = []
    if indexes is None and count is None:
        errors.append(FieldError.required(path, "at least one of succeededCount or succeededIndexes must be specified"))
    if completions is None:
        return errors  # Required already (an Indexed job without completions)
    total = 0
    if indexes is not None:
        indexes = str(indexes)
        indexes_path = path.child("succeededIndexes")
        if len(indexes) > MAX_SUCCEEDED_INDEXES_LENGTH:
            errors.append(FieldError.too_long(indexes_path, MAX_SUCCEEDED_INDEXES_LENGTH))
        try:
            total = count_indexes(indexes, completions)
        except ValueError as error:
            errors.append(FieldError.invalid(indexes_path, indexes, f"error parsing succeededIndexes: {error}"))
    if count is not None:
        count_path = path.child("succeededCount")
        errors += rules.non_negative(count, count_path)
        if isinstance(count, int) and count > completions:
            errors.append(FieldError.invalid(count_path, count, f"must be less than or equal to {completions} "
                                             "(the number of specified completions)"))
        if indexes is not None and isinstance(count, int) and count > total:
            errors.append(FieldError.invalid(count_path, count, f"must be less than or equal to {total} (the "
                                             "number of indexes in the specified succeededIndexes field)"))
    return errors


def count_indexes(text: str, completions: int) -> int:
    """validateIndexesFormat: how many indexes `1,3-5` names; ValueError with upstream's message otherwise."""
    if not text:
        return 0
    total, last = 0, None
    for interval in text.split(","):
        first, final = _interval(interval, completions)
        if last is not None and last >= first:
            raise ValueError(f"non-increasing order, previous: {last}, current: {first}")
        total += final - first + 1
        last = final
    return total


def _interval(text: str, completions: int) -> tuple[int, int]:
    limits = text.split("-")
    if len(limits) > 2:
        raise ValueError(f"the fragment {go_quote(text)} violates the requirement that an index interval can have "
                         "at most two parts separated by '-'")
    first = _index(limits[0], completions)
    if len(limits) == 1:
        return first, first
    final = _index(limits[1], completions)
    if first >= final:
        raise ValueError(f"non-increasing order, previous: {first}, current: {final}")
    return first, final


def _index(text: str, completions: int) -> int:
    if not _GO_INT.fullmatch(text):
        raise ValueError(f"cannot convert string to integer for index: {go_quote(text)}")
    value = int(text)
    if value >= completions:
        raise ValueError(f"too large index: {go_quote(text)}")
    return value
