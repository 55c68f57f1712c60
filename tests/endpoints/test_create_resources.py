"""POST: decoding, options, namespace rules, admission and the 201 answer, against an in-memory registry."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.resource_app import ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def status(code: int, reason: str, message: str, details: dict[str, object] | None = None) -> dict[str, object]:
    body: dict[str, object] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


async def test_create_answers_201_with_the_stored_object(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert answer.status == 201
    assert answer.headers["content-type"] == "application/json"
    created = answer.json()
    assert created["kind"] == "ConfigMap" and created["apiVersion"] == "v1"
    assert created["metadata"]["name"] == "a"
    assert created["metadata"]["namespace"] == "default"
    assert created["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
    assert created["data"] == {"k": "v"}
    assert answer.body.endswith(b"}\n")
    fetched = await api.request("GET", f"{CONFIGMAPS}/a")
    assert fetched.json() == created


async def test_a_body_without_content_type_is_read_as_json(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, b'{"metadata":{"name":"plain"}}')
    assert answer.status == 201


async def test_yaml_bodies_are_accepted(api: ResourceApp) -> None:
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  day: 2024-01-02\n"
    answer = await api.request("POST", CONFIGMAPS, body, headers={"Content-Type": "application/yaml"})
    assert answer.status == 201
    assert answer.json()["data"] == {"day": "2024-01-02"}


async def test_yaml_answers_when_asked(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, {"metadata": {"name": "y"}}, headers={"Accept": "application/yaml"})
    assert answer.status == 201
    assert answer.headers["content-type"] == "application/yaml"
    assert answer.body.startswith(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n")


async def test_malformed_json_is_a_400_with_upstream_wording_and_stores_nothing(api: ResourceApp) -> None:
    before = await api.stored_keys()
    answer = await api.request("POST", CONFIGMAPS, b'{"metadata": {"name": "xyz"}, "data": 1,}')
    assert (answer.status, answer.json()) == (400, status(
        400, "BadRequest",
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; "
        "json parse error: invalid character '}' looking for beginning of object key string "
        '({"metadata": {"name": "xyz"},  ...)',
    ))
    assert await api.stored_keys() == before


async def test_an_empty_body_is_a_400(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, b"")
    assert answer.json()["message"] == (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; "
        "json parse error: unexpected end of JSON input (<empty>)"
    )


async def test_a_body_that_is_not_an_object_names_the_go_type(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, b"[1]")
    assert answer.status == 400
    assert answer.json()["message"] == (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; "
        "json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string "
        '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" } (5b315d)'
    )


async def test_a_kind_of_another_resource_cannot_be_converted(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    assert (answer.status, answer.json()["message"]) == (
        400, 'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): '
             "unknown conversion",
    )


async def test_an_unregistered_kind_is_named_in_the_message(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "Nope", "metadata": {"name": "n"}})
    assert answer.json()["message"] == (
        'Nope in version "v1" cannot be handled as a ConfigMap: no kind "Nope" is registered for version "v1" '
        'in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"'
    )


async def test_a_namespace_in_the_body_must_match_the_url(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, {"metadata": {"name": "a", "namespace": "kube-system"}})
    assert (answer.status, answer.json()) == (400, status(
        400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"
    ))


async def test_dry_run_answers_201_and_stores_nothing(api: ResourceApp) -> None:
    answer = await api.request("POST", f"{CONFIGMAPS}?dryRun=All", {"metadata": {"name": "dry"}})
    assert answer.status == 201
    assert answer.json()["metadata"]["name"] == "dry"
    assert (await api.request("GET", f"{CONFIGMAPS}/dry")).status == 404


async def test_an_unknown_dry_run_value_is_invalid_create_options(api: ResourceApp) -> None:
    answer = await api.request("POST", f"{CONFIGMAPS}?dryRun=Yes", {"metadata": {"name": "a"}})
    assert (answer.status, answer.json()) == (422, status(
        422, "Invalid", 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: '
                        'supported values: "All"',
        {"group": "meta.k8s.io", "kind": "CreateOptions", "causes": [{
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: []string{"Yes"}: supported values: "All"', "field": "dryRun"}]},
    ))


async def test_a_field_manager_over_128_bytes_is_invalid(api: ResourceApp) -> None:
    answer = await api.request("POST", f"{CONFIGMAPS}?fieldManager={'m' * 129}", {"metadata": {"name": "a"}})
    assert answer.status == 422
    assert answer.json()["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes'
    )


async def test_an_unknown_field_validation_is_invalid(api: ResourceApp) -> None:
    answer = await api.request("POST", f"{CONFIGMAPS}?fieldValidation=Loose", {"metadata": {"name": "a"}})
    assert answer.json()["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: '
        '"", "Ignore", "Strict", "Warn"'
    )


async def test_an_unsupported_content_type_is_415(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, b"x", headers={"Content-Type": "text/plain"})
    assert answer.status == 415
    assert answer.json()["reason"] == "UnsupportedMediaType"
    assert answer.json()["message"].startswith(
        "the body of the request was in an unknown format - accepted media types include: application/json, "
        "application/yaml"
    )


async def test_a_body_over_3_mib_is_413(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert (answer.status, answer.json()) == (413, status(
        413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"
    ))


async def test_creating_in_a_missing_namespace_is_404_namespace_not_found(api: ResourceApp) -> None:
    answer = await api.request("POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "a"}})
    assert (answer.status, answer.json()) == (404, status(
        404, "NotFound", 'namespaces "nowhere" not found', {"name": "nowhere", "kind": "namespaces"}
    ))


async def test_creating_in_a_terminating_namespace_is_forbidden(api: ResourceApp) -> None:
    assert (await api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "going"}})).status == 201
    assert (await api.request("DELETE", "/api/v1/namespaces/going")).status == 200
    answer = await api.request("POST", "/api/v1/namespaces/going/configmaps", {"metadata": {"name": "late"}})
    assert (answer.status, answer.json()) == (403, status(
        403, "Forbidden",
        'configmaps "late" is forbidden: unable to create new content in namespace going because it is being '
        "terminated",
        {"name": "late", "kind": "configmaps", "causes": [{
            "reason": "NamespaceTerminating", "message": "namespace going is being terminated",
            "field": "metadata.namespace"}]},
    ))


async def test_post_on_an_item_path_is_405(api: ResourceApp) -> None:
    answer = await api.request("POST", f"{CONFIGMAPS}/a", {"metadata": {"name": "a"}})
    assert (answer.status, answer.json()) == (405, status(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    ))


async def test_a_namespaced_resource_cannot_be_created_across_namespaces(api: ResourceApp) -> None:
    answer = await api.request("POST", "/api/v1/configmaps", {"metadata": {"name": "a"}})
    assert answer.status == 405


async def test_errors_are_indented_for_curl(api: ResourceApp) -> None:
    answer = await api.request("POST", CONFIGMAPS, b"{", headers={"User-Agent": "curl/8.5.0"})
    assert answer.status == 400
    assert answer.body.startswith(b'{\n  "kind": "Status",\n  "apiVersion": "v1",\n')
    assert not answer.body.endswith(b"\n")


async def test_a_namespace_is_created_cluster_scoped(api: ResourceApp) -> None:
    answer = await api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team-a"}})
    assert answer.status == 201
    assert answer.json()["status"] == {"phase": "Active"}
    assert "namespace" not in answer.json()["metadata"]


async def test_a_protobuf_body_is_decoded(api: ResourceApp) -> None:
    from apiserver.meta.protobuf import encode_object

    body = encode_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pb"}, "data": {"a": "b"}})
    answer = await api.request("POST", CONFIGMAPS, body, headers={
        "Content-Type": "application/vnd.kubernetes.protobuf",
        "Accept": "application/vnd.kubernetes.protobuf,application/json",
    })
    assert answer.status == 201
    assert (await api.request("GET", f"{CONFIGMAPS}/pb")).json()["data"] == {"a": "b"}


def test_warnings_become_299_headers_quoted_like_upstream() -> None:
    from apiserver.endpoints.answers import warning_headers

    assert warning_headers(['unknown field "spec.x"', "plain", "plain"]) == [
        (b"warning", b'299 - "unknown field \\"spec.x\\""'), (b"warning", b'299 - "plain"'),
    ]
