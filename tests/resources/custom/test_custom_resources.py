"""Custom resources served from a CRD, in memory: decoding, validation, subresources, versions, Tables."""
from __future__ import annotations

from typing import Any

import pytest

from tests.resources.custom.crds import widget_crd
from tests.resources.custom.harness import CustomApp

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
WIDGETS_BETA = "/apis/example.com/v1beta1/namespaces/default/widgets"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def widget(name: str = "w", api_version: str = "example.com/v1", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": name}, **fields}


async def test_create_applies_defaults_drops_status_and_starts_generation(widgets: CustomApp) -> None:
    created = await widgets.request("POST", WIDGETS, widget(spec={"replicas": 2}, status={"replicas": 9}))
    assert created.status == 201, created.body
    body = created.json()
    assert body["spec"] == {"replicas": 2, "color": "blue"}
    assert "status" not in body
    assert body["metadata"]["generation"] == 1


@pytest.mark.parametrize(
    ("query", "status", "warning"),
    [
        ("?fieldValidation=Strict", 400, None),
        ("?fieldValidation=Warn", 201, '299 - "unknown field \\"metadata.bogus\\"", '
                                        '299 - "unknown field \\"spec.foo\\""'),
        ("", 201, '299 - "unknown field \\"metadata.bogus\\"", 299 - "unknown field \\"spec.foo\\""'),
        ("?fieldValidation=Ignore", 201, None),
    ],
    ids=["strict", "warn", "default-warns", "ignore"],
)
async def test_unknown_fields_follow_field_validation(widgets: CustomApp, query: str, status: int,
                                                     warning: str | None) -> None:
    body = widget(spec={"replicas": 1, "foo": {"bar": 1}})
    body["metadata"]["bogus"] = 1
    answer = await widgets.request("POST", WIDGETS + query, body)
    assert answer.status == status, answer.body
    assert answer.headers.get("warning") == warning
    if status == 400:
        assert answer.json()["message"] == (
            'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
            'unknown field "metadata.bogus", unknown field "spec.foo"')
        assert answer.json()["reason"] == "BadRequest"
        assert await widgets.stored_keys("/registry/example.com/") == []
    else:
        assert answer.json()["spec"] == {"replicas": 1, "color": "blue"}


async def test_duplicate_fields_are_strict_errors(widgets: CustomApp) -> None:
    body = b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"replicas":1,"replicas":2}}'
    answer = await widgets.request("POST", WIDGETS + "?fieldValidation=Strict", body)
    assert answer.status == 400
    assert answer.json()["message"] == ('Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
                                        'duplicate field "spec.replicas"')


@pytest.mark.parametrize(
    ("spec", "message", "causes"),
    [
        ({"replicas": -1},
         'Widget.example.com "w" is invalid: [spec.replicas: Invalid value: -1: spec.replicas in body should be '
         "greater than or equal to 0, .spec.replicas: Invalid value: -1: should be a non-negative integer]",
         [("FieldValueInvalid", "spec.replicas"), ("FieldValueInvalid", ".spec.replicas")]),
        ({"replicas": 2**31},
         f'Widget.example.com "w" is invalid: .spec.replicas: Invalid value: {2**31}: should be less than or '
         f"equal to {2**31 - 1}",
         [("FieldValueInvalid", ".spec.replicas")]),
        ({"ports": [{"name": "a"}, {"name": "a"}]},
         'Widget.example.com "w" is invalid: spec.ports[1]: Duplicate value: {"name":"a"}',
         [("FieldValueDuplicate", "spec.ports[1]")]),
    ],
    ids=["negative-replicas", "replicas-over-int32", "duplicate-map-key"],
)
async def test_invalid_custom_resources_are_422_and_store_nothing(widgets: CustomApp, spec: dict[str, Any],
                                                                  message: str, causes: list[tuple[str, str]]) -> None:
    answer = await widgets.request("POST", WIDGETS, widget(spec=spec))
    assert answer.status == 422, answer.body
    status = answer.json()
    assert (status["reason"], status["code"], status["message"]) == ("Invalid", 422, message)
    assert [(cause["reason"], cause["field"]) for cause in status["details"]["causes"]] == causes
    assert status["details"]["kind"] == "Widget" and status["details"]["group"] == "example.com"
    assert await widgets.stored_keys("/registry/example.com/") == []


async def test_main_resource_ignores_status_and_status_ignores_spec(widgets: CustomApp) -> None:
    created = (await widgets.request("POST", WIDGETS, widget(spec={"replicas": 1}))).json()
    status_body = {**created, "spec": {"replicas": 7}, "status": {"replicas": 3}}
    written = await widgets.request("PUT", f"{WIDGETS}/w/status", status_body)
    assert written.status == 200, written.body
    assert written.json()["spec"]["replicas"] == 1
    assert written.json()["status"] == {"replicas": 3}
    assert written.json()["metadata"]["generation"] == 1
    main_body = {**written.json(), "spec": {"replicas": 4, "color": "red"}, "status": {"replicas": 0}}
    updated = await widgets.request("PUT", f"{WIDGETS}/w", main_body)
    assert updated.status == 200, updated.body
    assert updated.json()["status"] == {"replicas": 3}
    assert updated.json()["spec"] == {"replicas": 4, "color": "red"}
    assert updated.json()["metadata"]["generation"] == 2


async def test_update_without_resource_version_is_refused(widgets: CustomApp) -> None:
    await widgets.request("POST", WIDGETS, widget(spec={"replicas": 1}))
    answer = await widgets.request("PUT", f"{WIDGETS}/w", widget(spec={"replicas": 2}))
    assert answer.status == 422
    # The generic store's error names the resource, as upstream's store does (qualifiedResource).
    assert answer.json()["message"] == ('widgets.example.com "w" is invalid: metadata.resourceVersion: Invalid value: '
                                        "0: must be specified for an update")


async def test_scale_reads_and_writes_the_crd_paths(widgets: CustomApp) -> None:
    created = (await widgets.request("POST", WIDGETS, widget(spec={"replicas": 2}))).json()
    await widgets.request("PUT", f"{WIDGETS}/w/status",
                          {**created, "status": {"replicas": 2, "selector": "app=w"}})
    scale = await widgets.request("GET", f"{WIDGETS}/w/scale")
    assert scale.status == 200
    body = scale.json()
    assert (body["kind"], body["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert body["spec"] == {"replicas": 2}
    assert body["status"] == {"replicas": 2, "selector": "app=w"}
    patched = await widgets.request("PATCH", f"{WIDGETS}/w/scale", {"spec": {"replicas": 5}},
                                    headers={"content-type": "application/merge-patch+json"})
    assert patched.status == 200, patched.body
    assert patched.json()["spec"] == {"replicas": 5}
    stored = (await widgets.request("GET", f"{WIDGETS}/w")).json()
    assert stored["spec"]["replicas"] == 5
    assert stored["metadata"]["generation"] == 2


async def test_strategic_merge_patch_is_unsupported(widgets: CustomApp) -> None:
    await widgets.request("POST", WIDGETS, widget(spec={"replicas": 1}))
    answer = await widgets.request("PATCH", f"{WIDGETS}/w", {"spec": {"replicas": 3}},
                                   headers={"content-type": "application/strategic-merge-patch+json"})
    assert answer.status == 415
    assert answer.json()["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")


async def test_merge_patch_prunes_and_reports_unknown_fields(widgets: CustomApp) -> None:
    await widgets.request("POST", WIDGETS, widget(spec={"replicas": 1}))
    headers = {"content-type": "application/merge-patch+json"}
    strict = await widgets.request("PATCH", f"{WIDGETS}/w?fieldValidation=Strict", {"spec": {"nope": 1}},
                                   headers=headers)
    assert strict.status == 400
    assert strict.json()["message"] == 'strict decoding error: unknown field "spec.nope"'
    warned = await widgets.request("PATCH", f"{WIDGETS}/w", {"spec": {"nope": 1, "replicas": 2}}, headers=headers)
    assert warned.status == 200
    assert warned.headers["warning"] == '299 - "unknown field \\"spec.nope\\""'
    assert warned.json()["spec"] == {"replicas": 2, "color": "blue"}


async def test_apply_merges_list_maps_by_their_keys(widgets: CustomApp) -> None:
    headers = {"content-type": "application/apply-patch+yaml"}
    first = widget(spec={"ports": [{"name": "http", "port": 80}]})
    second = widget(spec={"ports": [{"name": "https", "port": 443}]})
    assert (await widgets.request("PATCH", f"{WIDGETS}/w?fieldManager=one", first, headers=headers)).status == 201
    applied = await widgets.request("PATCH", f"{WIDGETS}/w?fieldManager=two", second, headers=headers)
    assert applied.status == 200, applied.body
    assert applied.json()["spec"]["ports"] == [{"name": "http", "port": 80}, {"name": "https", "port": 443}]


async def test_versions_share_storage_and_convert_by_api_version(widgets: CustomApp) -> None:
    await widgets.request("POST", WIDGETS, widget(spec={"replicas": 1}))
    read = await widgets.request("GET", f"{WIDGETS_BETA}/w")
    assert read.status == 200
    assert read.json()["apiVersion"] == "example.com/v1beta1"
    created = await widgets.request("POST", WIDGETS_BETA, widget("b", "example.com/v1beta1", spec={"replicas": 3}))
    assert created.status == 201, created.body
    assert created.json()["apiVersion"] == "example.com/v1beta1"
    stored = await widgets.storage.get("/registry/example.com/widgets/default/b")
    assert stored is not None and b'"apiVersion":"example.com/v1"' in stored.value


async def test_table_has_name_then_printer_columns(widgets: CustomApp) -> None:
    created = (await widgets.request("POST", WIDGETS, widget(spec={"replicas": 2}))).json()
    await widgets.request("PUT", f"{WIDGETS}/w/status",
                          {**created, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    table = (await widgets.request("GET", WIDGETS, headers={"accept": TABLE})).json()
    assert [(column["name"], column["type"], column["priority"]) for column in table["columnDefinitions"]] == [
        ("Name", "string", 0), ("Replicas", "integer", 0), ("Color", "string", 1), ("Ready", "string", 0),
        ("Age", "date", 0)]
    assert table["columnDefinitions"][1]["description"] == (
        "Custom resource definition column (in JSONPath format): .spec.replicas")
    assert table["rows"][0]["cells"] == ["w", 2, "blue", "True", "0s"]


async def test_without_a_status_subresource_status_is_content_and_bumps_generation(app: CustomApp) -> None:
    crd = widget_crd(versions=("v1",))
    crd["metadata"]["name"] = "gizmos.example.com"
    names = {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"}
    crd["spec"]["names"] = names
    crd["status"]["acceptedNames"] = names
    del crd["spec"]["versions"][0]["subresources"]
    await app.install(crd)
    gizmos = "/apis/example.com/v1/namespaces/default/gizmos"
    body = {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}, "status": {"replicas": 1}}
    created = await app.request("POST", gizmos, body)
    assert created.status == 201, created.body
    assert created.json()["status"] == {"replicas": 1}
    assert created.json()["metadata"]["generation"] == 1
    updated = await app.request("PUT", f"{gizmos}/g", {**created.json(), "status": {"replicas": 2}})
    assert updated.status == 200, updated.body
    assert (updated.json()["status"], updated.json()["metadata"]["generation"]) == ({"replicas": 2}, 2)
    labelled = {**updated.json(), "metadata": {**updated.json()["metadata"], "labels": {"a": "b"}}}
    relabelled = await app.request("PUT", f"{gizmos}/g", labelled)
    assert relabelled.json()["metadata"]["generation"] == 2
    assert (await app.request("GET", f"{gizmos}/g/status")).status == 404


async def test_selectable_fields_filter_lists_and_others_are_refused(app: CustomApp) -> None:
    crd = widget_crd()
    crd["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.color"}]
    await app.install(crd)
    for name, color in (("a", "red"), ("b", "blue")):
        assert (await app.request("POST", WIDGETS, widget(name, spec={"color": color}))).status == 201
    selected = await app.request("GET", WIDGETS + "?fieldSelector=spec.color%3Dred")
    assert [item["metadata"]["name"] for item in selected.json()["items"]] == ["a"]
    refused = await app.request("GET", WIDGETS + "?fieldSelector=spec.size%3DL")
    assert (refused.status, refused.json()["reason"], refused.json()["message"]) == (
        400, "BadRequest", "field label not supported: spec.size")
