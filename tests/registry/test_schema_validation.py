"""Field validation of request bodies: kube-apiserver's type errors and strict decoding errors, word for word."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml

from apiserver.meta.errors import BadRequest
from apiserver.registry.schema import Schema, TypeSchemas
from apiserver.registry.schema_validation import check_field_validation, check_object

PREFIX = 'Pod in version "v1" cannot be handled as a Pod: '


@pytest.fixture(scope="module")
def pod_schema() -> Schema:
    schema = TypeSchemas.builtin().for_kind("", "v1", "Pod")
    assert schema is not None
    return schema


def _decoded(body: bytes, content_type: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(body) if "yaml" in content_type else orjson.loads(body)
    return {"kind": "Pod", "apiVersion": "v1", **obj}


def _check(schema: Schema, body: bytes, directive: str, content_type: str = "application/json") -> list[str]:
    return check_field_validation(body, content_type, _decoded(body, content_type), schema, directive)


def _rejection(schema: Schema, body: bytes, directive: str = "Strict", content_type: str = "application/json") -> str:
    with pytest.raises(BadRequest) as caught:
        _check(schema, body, directive, content_type)
    assert caught.value.to_status()["code"] == 400
    return caught.value.message


UNKNOWN = [
    (b'{"spec":{"contaners":[]}}', ['unknown field "spec.contaners"']),
    (b'{"spec":{"containers":[{"name":"a","bogusField":1}]}}', ['unknown field "spec.containers[0].bogusField"']),
    (b'{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"hostIp":"x"}]}]}}',
     ['unknown field "spec.containers[0].ports[0].hostIp"']),
    (b'{"metadata":{"nmae":"x"},"spek":{}}', ['unknown field "metadata.nmae"', 'unknown field "spek"']),
    (b'{"spec":{"overhead":{"cpu":"1"},"nodeSelector":{"any":"key"}}}', []),
    (b'{"metadata":{"managedFields":[{"fieldsV1":{"f:anything":{"f:goes":{}}}}]}}', []),
    (b'{"spec":{"bogus":{"nested":{"deeper":1}}}}', ['unknown field "spec.bogus"']),
]


@pytest.mark.parametrize(("body", "errors"), UNKNOWN, ids=range(len(UNKNOWN)))
def test_warn_reports_unknown_fields_with_strict_decoding_paths(
    pod_schema: Schema, body: bytes, errors: list[str]
) -> None:
    assert _check(pod_schema, body, "Warn") == errors


def test_raw_extension_content_is_never_checked() -> None:
    schema = TypeSchemas.builtin().for_kind("apps", "v1", "ControllerRevision")
    assert schema is not None
    body = b'{"revision":1,"data":{"anything":{"at":["all"]}}}'
    obj = {"kind": "ControllerRevision", "apiVersion": "apps/v1", **orjson.loads(body)}
    assert check_field_validation(body, "application/json", obj, schema, "Strict") == []
    assert obj["data"] == {"anything": {"at": ["all"]}}


def test_strict_rejects_every_unknown_field_in_one_message(pod_schema: Schema) -> None:
    body = b'{"spec":{"contaners":[],"containers":[{"name":"a","bogus":1}]}}'
    assert _rejection(pod_schema, body) == (
        PREFIX + 'strict decoding error: unknown field "spec.contaners", unknown field "spec.containers[0].bogus"'
    )


def test_duplicates_are_reported_in_document_order_with_unknown_fields(pod_schema: Schema) -> None:
    body = (b'{"metadata":{"name":"a","name":"b","labels":{"x":"1","x":"2"}},'
            b'"spec":{"bogus":1,"containers":[{"name":"a","name":"b"}]}}')
    assert _check(pod_schema, body, "Warn") == [
        'duplicate field "metadata.name"', 'duplicate field "metadata.labels.x"', 'unknown field "spec.bogus"',
        'duplicate field "spec.containers[0].name"',
    ]


def test_duplicates_inside_unknown_fields_are_not_reported(pod_schema: Schema) -> None:
    assert _check(pod_schema, b'{"spec":{"bogus":{"a":1,"a":2},"containers":[]}}', "Warn") == [
        'unknown field "spec.bogus"',
    ]


def test_yaml_duplicates_come_first_in_go_yaml_wording(pod_schema: Schema) -> None:
    body = b"metadata:\n  name: a\n  name: b\nspec:\n  containers: []\n  foo: 1\n"
    assert _rejection(pod_schema, body, content_type="application/yaml") == (
        PREFIX + "strict decoding error: error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 3: key "name" already set in map, unknown field "spec.foo"'
    )


def test_ignore_and_warn_prune_unknown_fields_and_strict_stores_nothing(pod_schema: Schema) -> None:
    body = b'{"metadata":{"name":"p","bogus":1},"spec":{"containers":[{"name":"a","extra":true}]}}'
    for directive in ("Ignore", "Warn", ""):
        obj = _decoded(body, "application/json")
        warnings = check_field_validation(body, "application/json", obj, pod_schema, directive)
        assert obj == {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "a"}]}}
        assert warnings == ([] if directive == "Ignore" else [
            'unknown field "metadata.bogus"', 'unknown field "spec.containers[0].extra"'])


TYPE_ERRORS = [
    (b'{"spec":{"containers":[{"name":"a","ports":[{"containerPort":"80"}]}]}}',
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort "
     "of type int32"),
    (b'{"spec":{"containers":[{"name":"a","ports":[80]}]}}',
     "json: cannot unmarshal number into Go struct field Container.spec.containers.ports of type v1.ContainerPort"),
    (b'{"spec":{"containers":"nginx"}}',
     "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"),
    (b'{"metadata":{"labels":{"app":1}}}',
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
    (b'{"spec":{"hostNetwork":"yes"}}',
     "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
    (b'{"spec":{"containers":[{"name":"a","ports":[{"containerPort":1.5}]}]}}',
     "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort "
     "of type int32"),
    (b'{"spec":{"containers":[{"name":"a","ports":[{"containerPort":3000000000}]}]}}',
     "json: cannot unmarshal number 3000000000 into Go struct field ContainerPort.spec.containers.ports."
     "containerPort of type int32"),
    (b'{"spec":{"containers":[{"name":"a","livenessProbe":{"httpGet":{"port":true}}}]}}',
     "json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port "
     "of type int32"),
    (b'{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"one"}}}]}}',
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (b'{"spec":{"containers":[{"name":"a","resources":{"limits":"1"}}]}}',
     "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits "
     "of type v1.ResourceList"),
    (b'{"metadata":{"creationTimestamp":"2024-02-30T00:00:00Z"}}',
     'parsing time "2024-02-30T00:00:00Z": day out of range'),
    (b'{"metadata":{"creationTimestamp":17}}',
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"),
]


@pytest.mark.parametrize(("body", "error"), TYPE_ERRORS, ids=range(len(TYPE_ERRORS)))
@pytest.mark.parametrize("directive", ["Strict", "Warn", "Ignore"])
def test_type_errors_fail_under_every_directive(pod_schema: Schema, body: bytes, error: str, directive: str) -> None:
    assert _rejection(pod_schema, body, directive) == PREFIX + error


def test_first_type_error_wins_over_unknown_fields(pod_schema: Schema) -> None:
    body = b'{"spec":{"bogus":1,"hostNetwork":"x","hostPID":"y"}}'
    assert _rejection(pod_schema, body) == (
        PREFIX + "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"
    )


def test_an_unmarshaler_error_wins_over_an_earlier_type_error(pod_schema: Schema) -> None:
    body = b'{"spec":{"hostNetwork":"x","containers":[{"name":"a","resources":{"limits":{"cpu":"x"}}}]}}'
    assert "quantities must match" in _rejection(pod_schema, body)


def test_secret_data_must_be_base64() -> None:
    schema = TypeSchemas.builtin().for_kind("", "v1", "Secret")
    assert schema is not None
    body = b'{"data":{"ok":"aGVsbG8=","bad":"hello!"}}'
    obj = {"kind": "Secret", "apiVersion": "v1", **orjson.loads(body)}
    with pytest.raises(BadRequest) as caught:
        check_field_validation(body, "application/json", obj, schema, "Strict")
    assert caught.value.message == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 5'
    )


def test_valid_objects_pass_untouched(pod_schema: Schema) -> None:
    body = (b'{"metadata":{"name":"p","labels":{"a":"b"},"creationTimestamp":null},"spec":{"containers":[{"name":'
            b'"a","image":"nginx","ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"limits":{"cpu":0.5,'
            b'"memory":"1Gi"}},"readinessProbe":{"httpGet":{"port":"http"}}}]}}')
    obj = _decoded(body, "application/json")
    assert check_field_validation(body, "application/json", obj, pod_schema, "Strict") == []
    assert obj == _decoded(body, "application/json")


def test_handled_as_names_the_decoding_kind(pod_schema: Schema) -> None:
    obj = {"kind": "Pod", "apiVersion": "v1", "spec": {"hostNetwork": 1}}
    with pytest.raises(BadRequest) as caught:
        check_field_validation(b"{}", "application/json", obj, pod_schema, "Ignore", handled_as="Thing")
    assert caught.value.message.startswith('Pod in version "v1" cannot be handled as a Thing: ')


def test_check_object_reports_unknown_fields_of_a_patched_object(pod_schema: Schema) -> None:
    result = check_object({"spec": {"containers": [{"name": "a", "imag": "x"}]}}, pod_schema)
    assert (result.error, result.strict) == (None, ['unknown field "spec.containers[0].imag"'])
    assert check_object({"spec": {"containers": 1}}, pod_schema).error == (
        "json: cannot unmarshal number into Go struct field PodSpec.spec.containers of type []v1.Container"
    )
