"""Field paths, field errors, name/label rules and ObjectMeta validation, with upstream's exact messages.

Expected texts follow k8s.io/apimachinery: util/validation/field (errors.go, path.go),
util/validation/validation.go, api/validation (objectmeta.go, generic.go, path/name.go) and
apis/meta/v1/validation. Also covers the small vocabulary modules those rules use: runtime/schema's
GroupVersion parsing (apiserver.meta.gvk) and metav1.Time formatting (apiserver.meta.objects).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from apiserver.meta.gvk import GroupKind, GroupResource, GroupVersion, GroupVersionKind, GroupVersionResource
from apiserver.meta.objects import (
    format_micro_time,
    format_time,
    labels_of,
    name_of,
    namespace_of,
    now_time,
    parse_time,
    resource_version_of,
)
from apiserver.meta.validation import (
    FieldError,
    FieldErrorType,
    FieldPath,
    aggregate_messages,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    is_valid_path_segment_name,
    name_is_dns_label,
    name_is_dns_subdomain,
    name_is_path_segment,
    non_negative,
    render_bad_value,
    validate_annotations,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)

LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_RULE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QUALIFIED_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
TOO_LONG_63 = "must be no more than 63 characters"
METADATA = FieldPath("metadata")


# --- FieldPath and FieldError --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "printed"),
    [
        (FieldPath("metadata", "name"), "metadata.name"),
        (FieldPath("spec").child("containers").index(0).child("name"), "spec.containers[0].name"),
        (FieldPath("metadata").child("labels").key("app"), "metadata.labels[app]"),
        (FieldPath("data").key("a.b").key("c"), "data[a.b][c]"),
        (FieldPath(), "<nil>"),
        (FieldPath().child("values").index(0).key("x"), "values[0][x]"),
        (FieldPath().index(3), "[3]"),
    ],
    ids=["root-names", "child-index-child", "key", "two-keys", "nil", "child-of-nil", "index-of-nil"],
)
def test_field_path_prints_like_upstream(path: FieldPath, printed: str) -> None:
    assert str(path) == printed


def test_field_path_is_immutable_and_comparable() -> None:
    base = FieldPath("spec")
    child = base.child("x")
    assert str(base) == "spec"
    assert child == FieldPath("spec", "x")
    assert hash(child) == hash(FieldPath("spec", "x"))
    with pytest.raises(AttributeError):
        base.anything = 1  # type: ignore[attr-defined]


SPEC = FieldPath("spec", "x")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (FieldError.required(SPEC), "spec.x: Required value"),
        (FieldError.required(SPEC, "must be set"), "spec.x: Required value: must be set"),
        (FieldError.invalid(SPEC, "Foo", "bad"), 'spec.x: Invalid value: "Foo": bad'),
        (FieldError.invalid(SPEC, -1, "bad"), "spec.x: Invalid value: -1: bad"),
        (FieldError.invalid(SPEC, True, "bad"), "spec.x: Invalid value: true: bad"),
        (FieldError.invalid(SPEC, None, "bad"), "spec.x: Invalid value: null: bad"),
        (FieldError.invalid(SPEC, 0.5, "bad"), "spec.x: Invalid value: 0.5: bad"),
        (FieldError.invalid(SPEC, ["a", "b"], "bad"), 'spec.x: Invalid value: []string{"a", "b"}: bad'),
        (FieldError.invalid(SPEC, [], "bad"), "spec.x: Invalid value: []string{}: bad"),
        (FieldError.invalid(SPEC, {"k": 1}, "bad"), 'spec.x: Invalid value: {"k":1}: bad'),
        (FieldError.invalid(SPEC, 'say "hi"\n\t\\', "bad"), 'spec.x: Invalid value: "say \\"hi\\"\\n\\t\\\\": bad'),
        (FieldError.invalid(SPEC, "ünï\u00a0\x7f", "bad"), 'spec.x: Invalid value: "ünï\\u00a0\\x7f": bad'),
        (FieldError.invalid(SPEC, "x", ""), 'spec.x: Invalid value: "x"'),
        (FieldError.forbidden(SPEC, "not allowed"), "spec.x: Forbidden: not allowed"),
        (FieldError.duplicate(SPEC, "a"), 'spec.x: Duplicate value: "a"'),
        (FieldError.not_found(SPEC, "a"), 'spec.x: Not found: "a"'),
        (FieldError.not_supported(SPEC, "c", ["a", "b"]), 'spec.x: Unsupported value: "c": supported values: "a", "b"'),
        (FieldError.not_supported(SPEC, "c", []), 'spec.x: Unsupported value: "c"'),
        (FieldError.too_long(SPEC, 63), "spec.x: Too long: may not be more than 63 bytes"),
        (FieldError.too_long(SPEC, 1), "spec.x: Too long: may not be more than 1 byte"),
        (FieldError.too_long(SPEC, -1), "spec.x: Too long: value is too long"),
        (FieldError.too_many(SPEC, 5, 3), "spec.x: Too many: 5: must have at most 3 items"),
        (FieldError.too_many(SPEC, 2, 1), "spec.x: Too many: 2: must have at most 1 item"),
        (FieldError.too_many(SPEC, -1, -1), "spec.x: Too many: has too many items"),
        (FieldError.internal(SPEC, "boom"), "spec.x: Internal error: boom"),
        (FieldError.type_invalid(SPEC, "s", "must be integer"), 'spec.x: Invalid value: "s": must be integer'),
    ],
    ids=[
        "required", "required-detail", "invalid-string", "invalid-int", "invalid-bool", "invalid-null",
        "invalid-float", "invalid-string-list", "invalid-empty-list", "invalid-object", "invalid-escapes",
        "invalid-unprintable", "invalid-no-detail", "forbidden", "duplicate", "not-found", "not-supported",
        "not-supported-no-values", "too-long", "too-long-singular", "too-long-unknown", "too-many",
        "too-many-singular", "too-many-unknown", "internal", "type-invalid",
    ],
)
def test_field_error_message_matches_upstream(error: FieldError, message: str) -> None:
    assert error.error_message() == message
    assert str(error) == message


def test_field_error_becomes_a_status_cause() -> None:
    cause = FieldError.invalid(FieldPath("metadata", "name"), "Foo", "bad").to_cause()
    assert cause.to_dict() == {"reason": "FieldValueInvalid", "message": 'Invalid value: "Foo": bad',
                               "field": "metadata.name"}
    assert FieldError.required(SPEC).type == "FieldValueRequired"
    assert FieldErrorType.INTERNAL == "InternalError"


@pytest.mark.parametrize(
    ("value", "printed"),
    [(1e6, "1e+06"), (123456.0, "123456"), (1234567.0, "1.234567e+06"), (0.0001, "0.0001"), (1e-05, "1e-05"),
     (100.0, "100"), (-2.25, "-2.25"), (0.0, "0"), (float("inf"), "+Inf")],
    ids=["million", "below-million", "above-million", "small", "tiny", "whole", "negative", "zero", "infinity"],
)
def test_floats_print_like_go(value: float, printed: str) -> None:
    assert render_bad_value(value) == printed


@pytest.mark.parametrize(
    ("messages", "aggregated"),
    [(["a"], "a"), (["a", "b"], "[a, b]"), (["a", "a"], "a"), (["a", "b", "a"], "[a, b]")],
    ids=["one", "two", "duplicate-collapses", "duplicate-dropped"],
)
def test_aggregate_messages(messages: list[str], aggregated: str) -> None:
    assert aggregate_messages(messages) == aggregated


# --- Name and label rules --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("a", []),
        ("0-a", []),
        ("a" * 63, []),
        ("a" * 64, [TOO_LONG_63]),
        ("", [LABEL_RULE]),
        ("Foo", [LABEL_RULE]),
        ("-a", [LABEL_RULE]),
        ("a-", [LABEL_RULE]),
        ("a.b", ["must not contain dots"]),
        ("a\n", [LABEL_RULE]),
        ("ñ" * 32, [TOO_LONG_63, LABEL_RULE]),
    ],
    ids=["one-char", "digit-first", "63-chars", "64-chars", "empty", "uppercase", "leading-dash", "trailing-dash",
         "dots", "trailing-newline", "unicode-counts-bytes"],
)
def test_dns1123_label(value: str, errors: list[str]) -> None:
    assert is_dns1123_label(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("example.com", []),
        ("a" * 253, []),
        ("a" * 254, ["must be no more than 253 characters"]),
        ("example.com.", [SUBDOMAIN_RULE]),
        (".example.com", [SUBDOMAIN_RULE]),
        ("a..b", [SUBDOMAIN_RULE]),
        ("Foo", [SUBDOMAIN_RULE]),
        ("a_b", [SUBDOMAIN_RULE]),
        ("", [SUBDOMAIN_RULE]),
    ],
    ids=["domain", "253-chars", "254-chars", "trailing-dot", "leading-dot", "double-dot", "uppercase",
         "underscore", "empty"],
)
def test_dns1123_subdomain(value: str, errors: list[str]) -> None:
    assert is_dns1123_subdomain(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [("a1", []), ("1a", [DNS1035_RULE]), ("a" * 64, [TOO_LONG_63]), ("a.b", [DNS1035_RULE])],
    ids=["letter-first", "digit-first", "64-chars", "dots"],
)
def test_dns1035_label(value: str, errors: list[str]) -> None:
    assert is_dns1035_label(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("app", []),
        ("App.Name_1", []),
        ("example.com/app", []),
        ("a" * 63, []),
        ("a" * 64, ["name part must be no more than 63 characters"]),
        ("a_", ["name part " + QUALIFIED_RULE]),
        ("", ["name part must be non-empty", "name part " + QUALIFIED_RULE]),
        ("/a", ["prefix part must be non-empty"]),
        ("example.com/", ["name part must be non-empty", "name part " + QUALIFIED_RULE]),
        ("Example.com/a", ["prefix part " + SUBDOMAIN_RULE]),
        ("a" * 254 + "/b", ["prefix part must be no more than 253 characters"]),
        ("a/b/c", ["a qualified name " + QUALIFIED_RULE
                   + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
    ],
    ids=["simple", "mixed-case", "prefixed", "63-chars", "64-chars", "trailing-underscore", "empty",
         "empty-prefix", "empty-name", "uppercase-prefix", "254-char-prefix", "two-slashes"],
)
def test_qualified_name(value: str, errors: list[str]) -> None:
    assert is_qualified_name(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [("", []), ("v1.2_x-y", []), ("a" * 63, []), ("a" * 64, [TOO_LONG_63]), ("-a", [LABEL_VALUE_RULE]),
     ("a b", [LABEL_VALUE_RULE])],
    ids=["empty-is-valid", "punctuation-inside", "63-chars", "64-chars", "leading-dash", "space"],
)
def test_label_value(value: str, errors: list[str]) -> None:
    assert is_valid_label_value(value) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("config.yaml", []),
        ("..a", ["must not start with '..'"]),
        (".", ["must not be '.'"]),
        ("a/b", ["a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                 "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]),
    ],
    ids=["file-name", "double-dot-prefix", "dot", "slash"],
)
def test_config_map_key(value: str, errors: list[str]) -> None:
    assert is_config_map_key(value) == errors


@pytest.mark.parametrize(
    ("name", "errors"),
    [("web", []), ("..a", []), (".", ["may not be '.'"]), ("..", ["may not be '..'"]),
     ("a/b", ["may not contain '/'"]), ("a%b/", ["may not contain '/'", "may not contain '%'"])],
    ids=["plain", "dots-inside", "dot", "dot-dot", "slash", "slash-and-percent"],
)
def test_path_segment_name(name: str, errors: list[str]) -> None:
    assert is_valid_path_segment_name(name) == errors


@pytest.mark.parametrize(
    ("validator", "name", "is_prefix", "errors"),
    [
        (name_is_dns_subdomain, "web-", True, []),
        (name_is_dns_subdomain, "web-", False, [SUBDOMAIN_RULE]),
        (name_is_dns_subdomain, "a--", True, []),
        (name_is_dns_subdomain, "-", True, [SUBDOMAIN_RULE]),
        (name_is_dns_label, "Web-", True, [LABEL_RULE]),
        (name_is_path_segment, ".", True, []),
        (name_is_path_segment, ".", False, ["may not be '.'"]),
    ],
    ids=["prefix-dash-allowed", "name-dash-refused", "double-dash-prefix", "lone-dash-prefix",
         "uppercase-prefix", "dot-prefix", "dot-name"],
)
def test_name_validators_relax_only_the_trailing_dash_of_a_prefix(
    validator: Any, name: str, is_prefix: bool, errors: list[str]
) -> None:
    assert validator(name, is_prefix) == errors


# --- ObjectMeta ---------------------------------------------------------------------------------------------

def _messages(errors: list[FieldError]) -> list[str]:
    return [error.error_message() for error in errors]


@pytest.mark.parametrize(
    ("meta", "namespaced", "messages"),
    [
        ({"name": "web", "namespace": "default"}, True, []),
        ({"name": "node-1"}, False, []),
        ({"name": "Foo", "namespace": "default"}, True, [f'metadata.name: Invalid value: "Foo": {SUBDOMAIN_RULE}']),
        ({"name": "a" * 254, "namespace": "ns"}, True,
         ['metadata.name: Invalid value: "' + "a" * 254 + '": must be no more than 253 characters']),
        ({"name": "web.", "namespace": "ns"}, True, [f'metadata.name: Invalid value: "web.": {SUBDOMAIN_RULE}']),
        ({}, True, ["metadata.name: Required value: name or generateName is required",
                    "metadata.namespace: Required value"]),
        ({"generateName": "Web-", "name": "Web-x7k2p"}, False,
         [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_RULE}',
          f'metadata.name: Invalid value: "Web-x7k2p": {SUBDOMAIN_RULE}']),
        ({"name": "web", "namespace": "Team.A"}, True, [f'metadata.namespace: Invalid value: "Team.A": {LABEL_RULE}']),
        ({"name": "web", "namespace": "team.a"}, True,
         ['metadata.namespace: Invalid value: "team.a": must not contain dots']),
        ({"name": "web", "namespace": "default"}, False, ["metadata.namespace: Forbidden: not allowed on this type"]),
        ({"name": "web", "generation": -1}, False,
         ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"]),
        ({"name": "web", "labels": {"a_": "x"}}, False,
         [f'metadata.labels: Invalid value: "a_": name part {QUALIFIED_RULE}']),
        ({"name": "web", "labels": {"app": "-x"}}, False,
         [f'metadata.labels: Invalid value: "-x": {LABEL_VALUE_RULE}']),
        ({"name": "web", "annotations": {"Example.COM/Key": "ok"}}, False, []),
        ({"name": "web", "annotations": {"a/b/c": "x"}}, False,
         ['metadata.annotations: Invalid value: "a/b/c": a qualified name ' + QUALIFIED_RULE
          + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
        ({"name": "web", "annotations": {"k": "v" * (256 * 1024)}}, False,
         ["metadata.annotations: Too long: may not be more than 262144 bytes"]),
        ({"name": "web", "finalizers": ["example.com/x", "bad finalizer"]}, False,
         [f'metadata.finalizers: Invalid value: "bad finalizer": name part {QUALIFIED_RULE}']),
        ({"name": "web", "finalizers": ["orphan", "foregroundDeletion"]}, False,
         ['metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
          "finalizer orphan and foregroundDeletion cannot be both set"]),
        ({"name": "web", "managedFields": [{"manager": "kubectl", "operation": "Patch"}]}, False,
         ['metadata.managedFields[0].operation: Invalid value: "Patch": must be `Apply` or `Update`']),
    ],
    ids=[
        "namespaced-ok", "cluster-scoped-ok", "uppercase-name", "254-char-name", "trailing-dot-name", "nothing",
        "bad-generate-name", "uppercase-namespace", "namespace-with-dot", "namespace-on-cluster-scoped",
        "negative-generation", "bad-label-key", "bad-label-value", "annotation-key-case-ignored",
        "bad-annotation-key", "annotations-over-256KiB", "bad-finalizer", "conflicting-finalizers",
        "bad-managed-fields-operation",
    ],
)
def test_validate_object_meta(meta: dict[str, Any], namespaced: bool, messages: list[str]) -> None:
    assert _messages(validate_object_meta(meta, namespaced, name_is_dns_subdomain)) == messages


OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1"}


@pytest.mark.parametrize(
    ("references", "messages"),
    [
        ([OWNER], []),
        ([{**OWNER, "uid": ""}], ['metadata.ownerReferences.uid: Invalid value: "": must not be empty']),
        ([{"apiVersion": "apps/", "kind": "", "name": "x", "uid": "u"}],
         ['metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
          'metadata.ownerReferences.kind: Invalid value: "": must not be empty']),
        ([{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}],
         ['metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event","name":"e","uid":"u"}: '
          "/v1, Kind=Event is disallowed from being an owner"]),
        ([{**OWNER, "controller": True}, {**OWNER, "kind": "Job", "name": "j", "controller": True}],
         ["metadata.ownerReferences: Invalid value: "
          '[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"u-1","controller":true},'
          '{"apiVersion":"apps/v1","kind":"Job","name":"j","uid":"u-1","controller":true}]: '
          'Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/web-1 '
          "and Job/j"]),
    ],
    ids=["valid", "missing-uid", "missing-version-and-kind", "event-owner", "two-controllers"],
)
def test_owner_references(references: list[dict[str, Any]], messages: list[str]) -> None:
    meta = {"name": "pod", "namespace": "ns", "ownerReferences": references}
    assert _messages(validate_object_meta(meta, True, name_is_dns_subdomain)) == messages


def test_validate_object_meta_uses_the_given_path() -> None:
    errors = validate_object_meta({}, False, name_is_dns_subdomain, FieldPath("spec", "template", "metadata"))
    assert _messages(errors) == ["spec.template.metadata.name: Required value: name or generateName is required"]


def test_labels_and_annotations_report_at_the_map_itself() -> None:
    labels = validate_labels({"ok": "fine", "b@d": "fine"}, FieldPath("spec", "selector"))
    assert [error.field for error in labels] == ["spec.selector"]
    assert validate_annotations({}, FieldPath("x")) == []


OLD = {"name": "web", "namespace": "ns", "uid": "u-1", "resourceVersion": "5", "generation": 3,
       "finalizers": ["example.com/a"]}


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({}, []),
        ({"resourceVersion": ""}, ['metadata.resourceVersion: Invalid value: "": must be specified for an update']),
        ({"name": "other"}, ['metadata.name: Invalid value: "other": field is immutable']),
        ({"uid": "u-2"}, ['metadata.uid: Invalid value: "u-2": field is immutable']),
        ({"generation": 2}, ["metadata.generation: Invalid value: 2: must not be decremented"]),
    ],
    ids=["unchanged", "no-resource-version", "renamed", "new-uid", "generation-down"],
)
def test_validate_object_meta_update(changes: dict[str, Any], messages: list[str]) -> None:
    assert _messages(validate_object_meta_update({**OLD, **changes}, OLD)) == messages


def test_no_finalizer_may_be_added_during_deletion() -> None:
    old = {**OLD, "deletionTimestamp": "2024-01-01T00:00:00Z"}
    new = {**old, "finalizers": ["example.com/a", "example.com/c", "example.com/b"]}
    assert _messages(validate_object_meta_update(new, old)) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
        'found new finalizers []string{"example.com/b", "example.com/c"}'
    ]


@pytest.mark.parametrize(
    ("value", "messages"),
    [(None, []), (0, []), (7, []),
     (-1, ["spec.leaseDurationSeconds: Invalid value: -1: must be greater than or equal to 0"])],
    ids=["absent", "zero", "positive", "negative"],
)
def test_non_negative(value: int | None, messages: list[str]) -> None:
    assert _messages(non_negative(value, FieldPath("spec").child("leaseDurationSeconds"))) == messages


# --- apiVersion parsing (runtime/schema) and metav1 timestamps -----------------------------------------------

@pytest.mark.parametrize(
    ("api_version", "group", "version"),
    [("v1", "", "v1"), ("apps/v1", "apps", "v1"), ("", "", ""), ("/", "", ""), ("apps/", "apps", "")],
    ids=["core", "named-group", "empty", "slash", "group-without-version"],
)
def test_group_version_parses_api_version(api_version: str, group: str, version: str) -> None:
    parsed = GroupVersion.parse(api_version)
    assert (parsed.group, parsed.version) == (group, version)


def test_group_version_rejects_two_slashes() -> None:
    with pytest.raises(ValueError, match="unexpected GroupVersion string: a/b/c"):
        GroupVersion.parse("a/b/c")
    assert GroupVersionKind.from_api_version_and_kind("a/b/c", "K") == GroupVersionKind("", "", "K")


def test_group_version_names_print_like_upstream() -> None:
    assert str(GroupVersion("", "v1")) == "v1"
    assert str(GroupVersion("apps", "v1")) == "apps/v1"
    assert str(GroupVersionKind("apps", "v1", "Deployment")) == "apps/v1, Kind=Deployment"
    assert str(GroupVersionKind("", "v1", "Pod")) == "/v1, Kind=Pod"
    assert str(GroupVersionResource("apps", "v1", "deployments")) == "apps/v1, Resource=deployments"
    assert str(GroupResource("apps", "deployments")) == "deployments.apps"
    assert str(GroupResource("", "pods")) == "pods"
    assert str(GroupKind("apps", "Deployment")) == "Deployment.apps"
    assert GroupVersion("apps", "v1").with_kind("Deployment").api_version == "apps/v1"


@pytest.mark.parametrize(
    ("moment", "time", "micro_time"),
    [
        (datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000000Z"),
        (datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=UTC), "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.999999Z"),
        (datetime(2024, 5, 1, 14, 0, 0, 42, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T12:00:00Z",
         "2024-05-01T12:00:00.000042Z"),
        (datetime(999, 1, 2, 3, 4, 5), "0999-01-02T03:04:05Z", "0999-01-02T03:04:05.000000Z"),
    ],
    ids=["whole-second", "truncated-not-rounded", "offset-converted", "naive-is-utc-and-year-padded"],
)
def test_timestamps_format_like_metav1(moment: datetime, time: str, micro_time: str) -> None:
    assert format_time(moment) == time
    assert format_micro_time(moment) == micro_time


def test_timestamps_come_from_the_injected_clock() -> None:
    assert now_time(lambda: datetime(2030, 1, 1, tzinfo=UTC)) == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.1234567Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ],
    ids=["zulu", "fraction-truncated", "offset"],
)
def test_parse_time(text: str, moment: datetime) -> None:
    assert parse_time(text) == moment


@pytest.mark.parametrize("text", ["", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00"])
def test_parse_time_rejects_non_rfc3339(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_metadata_accessors_read_zero_values_for_missing_fields() -> None:
    pod = {"metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}, "resourceVersion": "7"}}
    assert (name_of(pod), namespace_of(pod), dict(labels_of(pod)), resource_version_of(pod)) == (
        "web", "ns", {"app": "web"}, "7"
    )
    empty: dict[str, Any] = {"metadata": None}
    assert (name_of(empty), namespace_of(empty), dict(labels_of(empty)), resource_version_of({})) == ("", "", {}, "")
