"""ListOptions and DeleteOptions as the store receives them: query and body decoding, upstream's validation."""
from __future__ import annotations

import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.context import DeleteOptions, ListOptions


def list_query(**params: str) -> dict[str, list[str]]:
    return {key: [value] for key, value in params.items()}


def test_list_options_decode_every_parameter() -> None:
    options = ListOptions.from_query(list_query(
        labelSelector="app=web", fieldSelector="metadata.name=a", limit="5", resourceVersion="10",
        resourceVersionMatch="NotOlderThan", timeoutSeconds="30"), watch=False)
    assert str(options.label_selector) == "app=web"
    assert str(options.field_selector) == "metadata.name=a"
    assert (options.limit, options.resource_version, options.resource_version_match) == (5, "10", "NotOlderThan")
    assert options.timeout_seconds == 30


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("", True), ("false", False),
                                                 ("FALSE", False), ("0", False), ("yes", True)],
                         ids=["true", "one", "empty", "false", "upper-false", "zero", "other"])
def test_booleans_are_true_unless_zero_or_false(value: str, expected: bool) -> None:
    options = ListOptions.from_query(list_query(allowWatchBookmarks=value), watch=True)
    assert options.allow_watch_bookmarks is expected


def test_a_bad_limit_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as raised:
        ListOptions.from_query(list_query(limit="ten"), watch=False)
    assert raised.value.to_status()["message"] == 'strconv.ParseInt: parsing "ten": invalid syntax'
    assert raised.value.code == 400


def test_a_legacy_watch_is_defaulted_to_initial_events_not_older_than() -> None:
    options = ListOptions.from_query(list_query(resourceVersion="0"), watch=True)
    assert options.send_initial_events is True and options.resource_version_match == "NotOlderThan"
    later = ListOptions.from_query(list_query(resourceVersion="12"), watch=True)
    assert later.send_initial_events is None and later.resource_version_match == ""


def test_forbidden_list_option_combinations_are_invalid() -> None:
    with pytest.raises(ApiError) as raised:
        ListOptions.from_query(list_query(resourceVersionMatch="Exact"), watch=False)
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is '
                   "forbidden unless resourceVersion is provided",
        "reason": "Invalid",
        "details": {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
            {"reason": "FieldValueForbidden",
             "message": "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
             "field": "resourceVersionMatch"}]},
        "code": 422,
    }


def test_a_bad_label_selector_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as raised:
        ListOptions.from_query(list_query(labelSelector="a in (b"), watch=False)
    assert raised.value.code == 400 and raised.value.reason == "BadRequest"


def test_delete_options_come_from_the_body_when_there_is_one() -> None:
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 5, "propagationPolicy": "Foreground",
            "preconditions": {"uid": "u", "resourceVersion": "7"}, "dryRun": ["All"]}
    options = DeleteOptions.from_body_and_query(body, list_query(propagationPolicy="Orphan"))
    assert options == DeleteOptions(grace_period_seconds=5, propagation_policy="Foreground", preconditions_uid="u",
                                    preconditions_resource_version="7", dry_run=True)


def test_delete_options_come_from_the_query_without_a_body() -> None:
    options = DeleteOptions.from_body_and_query(None, {"gracePeriodSeconds": ["0"], "propagationPolicy": ["Orphan"],
                                                      "dryRun": ["All"]})
    assert options == DeleteOptions(grace_period_seconds=0, propagation_policy="Orphan", dry_run=True)


def test_an_unknown_propagation_policy_is_invalid() -> None:
    with pytest.raises(ApiError) as raised:
        DeleteOptions.from_body_and_query(None, list_query(propagationPolicy="Sideways"))
    assert raised.value.message == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported '
        'values: "Foreground", "Background", "Orphan", "nil"'
    )


def test_orphan_dependents_and_propagation_policy_cannot_both_be_set() -> None:
    with pytest.raises(ApiError) as raised:
        DeleteOptions.from_body_and_query({"orphanDependents": True, "propagationPolicy": "Orphan"}, {})
    assert raised.value.message == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Orphan": orphanDependents and '
        "deletionPropagation cannot be both set"
    )


def test_dry_run_accepts_only_all() -> None:
    with pytest.raises(ApiError) as raised:
        DeleteOptions.from_body_and_query(None, {"dryRun": ["Some"]})
    assert raised.value.message == (
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"'
    )


def test_a_body_field_of_the_wrong_type_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as raised:
        DeleteOptions.from_body_and_query({"gracePeriodSeconds": "soon"}, {})
    assert raised.value.code == 400
