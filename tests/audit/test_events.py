"""audit.k8s.io/v1 Events: their shape at each level and stage, and what never reaches them (Secret data, tokens)."""
from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from apiserver.audit.events import (
    AuditContext,
    CapturedBody,
    RequestMetadata,
    encode_event,
    event_to_dict,
    object_reference,
    source_ips,
    truncate_user_agent,
    user_info_dict,
)
from apiserver.audit.policy import Level, RequestAuditConfig, Stage
from apiserver.audit.redaction import REDACTED, redact
from apiserver.meta.protobuf import encode_object
from apiserver.meta.requestinfo import parse_request_info
from tests.audit import User

RECEIVED = datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=UTC)
LATER = datetime(2026, 11, 22, 1, 2, 4, 5, tzinfo=UTC)
SECRET_VALUE = base64.b64encode(b"hunter2").decode()
JSON = "application/json"
SECRET = {
    "apiVersion": "v1", "kind": "Secret",
    "metadata": {"name": "s1", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": f'{{"data":"{SECRET_VALUE}"}}',
                                 "team": "a"},
                 "managedFields": [{"manager": "kubectl"}]},
    "data": {"password": SECRET_VALUE}, "stringData": {"user": "hunter2"}, "type": "Opaque",
}


def context(level: Level, method: str = "POST", path: str = "/api/v1/namespaces/default/secrets",
            omit_managed_fields: bool = False) -> AuditContext:
    info = parse_request_info(method, path, {})
    metadata = RequestMetadata("0b5c7a8e-aaaa-bbbb-cccc-000000000001", path, info.verb, "kubectl/v1.32.0",
                               ("10.0.0.1",), RECEIVED)
    user = User("alice", uid="42", groups=("devs", "system:authenticated"), extra={"scopes": ("a",)})
    config = RequestAuditConfig(level, frozenset(), omit_managed_fields)
    return AuditContext(config, metadata, user_info_dict(user), object_reference(info))


def completed(ctx: AuditContext, request: object = None, response: object = None, code: int = 201) -> dict[str, Any]:
    if request is not None:
        ctx.request_body = CapturedBody(orjson.dumps(request), JSON)
    if response is not None:
        ctx.response_body = CapturedBody(orjson.dumps(response), JSON)
    ctx.response_code = code
    return event_to_dict(ctx.event(Stage.RESPONSE_COMPLETE, LATER))


def test_a_metadata_event_has_upstream_s_fields_in_order() -> None:
    event = completed(context(Level.METADATA), SECRET, SECRET)
    assert event == {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "0b5c7a8e-aaaa-bbbb-cccc-000000000001", "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/secrets", "verb": "create",
        "user": {"username": "alice", "uid": "42", "groups": ["devs", "system:authenticated"],
                 "extra": {"scopes": ["a"]}},
        "sourceIPs": ["10.0.0.1"], "userAgent": "kubectl/v1.32.0",
        "objectRef": {"resource": "secrets", "namespace": "default", "name": "s1", "uid": "u-1",
                      "apiVersion": "v1", "resourceVersion": "7"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2026-11-22T01:02:03.456789Z",
        "stageTimestamp": "2026-11-22T01:02:04.000005Z",
    }
    assert list(event) == [
        "kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user", "sourceIPs", "userAgent",
        "objectRef", "responseStatus", "requestReceivedTimestamp", "stageTimestamp",
    ]


@pytest.mark.parametrize(
    ("level", "has_request", "has_response"),
    [(Level.METADATA, False, False), (Level.REQUEST, True, False), (Level.REQUEST_RESPONSE, True, True)],
    ids=["metadata", "request", "request-response"],
)
def test_each_level_records_its_objects(level: Level, has_request: bool, has_response: bool) -> None:
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    event = completed(context(level, path="/api/v1/namespaces/default/configmaps"), configmap, configmap)
    assert ("requestObject" in event, "responseObject" in event) == (has_request, has_response)
    if has_response:
        assert event["requestObject"] == event["responseObject"] == configmap


def test_the_request_received_stage_is_stamped_with_the_arrival_time() -> None:
    event = event_to_dict(context(Level.METADATA).event(Stage.REQUEST_RECEIVED, LATER))
    assert event["stage"] == "RequestReceived"
    assert event["stageTimestamp"] == event["requestReceivedTimestamp"] == "2026-11-22T01:02:03.456789Z"
    assert "responseStatus" not in event


def test_an_error_status_fills_the_response_status() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": 'secrets "s1" already exists', "reason": "AlreadyExists",
              "details": {"name": "s1", "kind": "secrets"}, "code": 409}
    event = completed(context(Level.METADATA), response=status, code=409)
    assert event["responseStatus"] == {
        "metadata": {}, "status": "Failure", "message": 'secrets "s1" already exists', "reason": "AlreadyExists",
        "details": {"name": "s1", "kind": "secrets"}, "code": 409,
    }


def test_non_resource_requests_have_no_object_ref() -> None:
    event = completed(context(Level.METADATA, "GET", "/healthz"), code=200)
    assert event["verb"] == "get" and "objectRef" not in event


def test_annotations_and_the_impersonated_user_are_recorded() -> None:
    ctx = context(Level.METADATA)
    ctx.add_annotation("authorization.k8s.io/decision", "allow")
    ctx.add_annotation("authorization.k8s.io/decision", "forbid")
    ctx.log_impersonated_user(User("bob", groups=("devs",)))
    event = completed(ctx)
    assert event["annotations"] == {"authorization.k8s.io/decision": "allow"}
    assert event["impersonatedUser"] == {"username": "bob", "groups": ["devs"]}


def test_managed_fields_are_omitted_when_the_policy_says_so() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "p", "managedFields": [{"manager": "kubectl"}]}}
    event = completed(context(Level.REQUEST_RESPONSE, path="/api/v1/namespaces/default/pods",
                              omit_managed_fields=True), pod, {"kind": "PodList", "items": [pod]})
    assert event["requestObject"] == {"kind": "Pod", "metadata": {"name": "p"}}
    assert event["responseObject"]["items"] == [{"kind": "Pod", "metadata": {"name": "p"}}]


def test_protobuf_and_yaml_bodies_are_decoded() -> None:
    ctx = context(Level.REQUEST_RESPONSE, path="/api/v1/namespaces/default/configmaps")
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    ctx.request_body = CapturedBody(encode_object(configmap), "application/vnd.kubernetes.protobuf")
    ctx.response_body = CapturedBody(b"kind: ConfigMap\nmetadata: {name: c, creationTimestamp: 2026-01-01T00:00:00Z}\n",
                                     "application/yaml")
    ctx.response_code = 201
    event = event_to_dict(ctx.event(Stage.RESPONSE_COMPLETE, LATER))
    assert event["requestObject"] == configmap
    assert event["responseObject"]["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"


def test_an_undecodable_body_is_left_out() -> None:
    ctx = context(Level.REQUEST)
    ctx.request_body = CapturedBody(b"{not json", JSON)
    assert "requestObject" not in event_to_dict(ctx.event(Stage.RESPONSE_COMPLETE, LATER))


def test_events_encode_as_one_json_line() -> None:
    line = encode_event(context(Level.METADATA).event(Stage.REQUEST_RECEIVED, LATER))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert orjson.loads(line)["stage"] == "RequestReceived"


# What never reaches the log


def test_a_secret_at_request_response_level_never_shows_its_data() -> None:
    ctx = context(Level.REQUEST_RESPONSE)
    event = completed(ctx, SECRET, SECRET)
    line = encode_event(ctx.event(Stage.RESPONSE_COMPLETE, LATER))
    for obj in (event["requestObject"], event["responseObject"]):
        assert obj["data"] == {"password": REDACTED}
        assert obj["stringData"] == {"user": REDACTED}
        assert obj["metadata"]["annotations"] == {
            "kubectl.kubernetes.io/last-applied-configuration": REDACTED, "team": "a",
        }
    rendered = orjson.dumps(event) + line
    assert SECRET_VALUE.encode() not in rendered and b"hunter2" not in rendered
    assert SECRET["data"] == {"password": SECRET_VALUE}


def test_secrets_in_lists_and_tables_are_redacted() -> None:
    item = {key: value for key, value in SECRET.items() if key not in ("kind", "apiVersion")}
    listed = redact({"kind": "SecretList", "items": [item]}, "secrets")
    table = redact({"kind": "Table", "rows": [{"cells": ["s1"], "object": SECRET}]}, "secrets")
    assert listed["items"][0]["data"] == {"password": REDACTED}
    assert table["rows"][0]["object"]["data"] == {"password": REDACTED}


@pytest.mark.parametrize(
    "patch",
    [
        {"data": {"password": SECRET_VALUE}},
        {"stringData": {"password": "hunter2"}},
        [{"op": "replace", "path": "/data/password", "value": SECRET_VALUE}],
        [{"op": "add", "path": "/data", "value": {"password": SECRET_VALUE}}],
        [{"op": "add", "path": "/stringData/password", "value": "hunter2"}],
        [{"op": "replace", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
          "value": SECRET_VALUE}],
        [{"op": "replace", "path": "/metadata/annotations",
          "value": {"kubectl.kubernetes.io/last-applied-configuration": SECRET_VALUE}}],
    ],
    ids=["merge-data", "merge-string-data", "json-patch-entry", "json-patch-data", "json-patch-string-data",
         "json-patch-last-applied", "json-patch-annotations"],
)
def test_patches_to_secrets_are_redacted(patch: object) -> None:
    rendered = orjson.dumps(redact(patch, "secrets"))
    assert SECRET_VALUE.encode() not in rendered and b"hunter2" not in rendered


@pytest.mark.parametrize(
    ("obj", "resource", "subresource", "path"),
    [
        ({"kind": "TokenReview", "spec": {"token": "eyJhbGci.secret"}}, "tokenreviews", "", ("spec", "token")),
        ({"spec": {"token": "eyJhbGci.secret"}}, "tokenreviews", "", ("spec", "token")),
        ({"kind": "TokenRequest", "status": {"token": "eyJhbGci.secret", "expirationTimestamp": "x"}},
         "serviceaccounts", "token", ("status", "token")),
        ({"status": {"token": "eyJhbGci.secret"}}, "serviceaccounts", "token", ("status", "token")),
    ],
    ids=["token-review", "kindless-token-review", "token-request", "kindless-token-request"],
)
def test_tokens_are_redacted(obj: dict[str, Any], resource: str, subresource: str, path: tuple[str, str]) -> None:
    redacted = redact(obj, resource, subresource)
    assert redacted[path[0]][path[1]] == REDACTED
    assert b"eyJhbGci" not in orjson.dumps(redacted)


def test_other_objects_are_left_alone() -> None:
    configmap = {"kind": "ConfigMap", "data": {"password": "visible"}}
    assert redact(configmap, "configmaps") is configmap


# Request metadata


@pytest.mark.parametrize(
    ("forwarded_for", "real_ip", "remote", "expected"),
    [
        ("", "", "10.0.0.9", ("10.0.0.9",)),
        ("1.2.3.4, 5.6.7.8", "", "10.0.0.9", ("1.2.3.4", "5.6.7.8", "10.0.0.9")),
        ("1.2.3.4", "1.2.3.4", "1.2.3.4", ("1.2.3.4",)),
        ("bogus, 1.2.3.4", "9.9.9.9", "::ffff:10.0.0.9", ("1.2.3.4", "9.9.9.9", "10.0.0.9")),
        ("", "", "2001:db8:0:0::1", ("2001:db8::1",)),
    ],
    ids=["peer", "forwarded-chain", "no-repeats", "invalid-skipped-and-mapped-v4", "v6"],
)
def test_source_ips_follow_upstream(forwarded_for: str, real_ip: str, remote: str, expected: tuple[str, ...]) -> None:
    assert source_ips(forwarded_for, real_ip, remote) == expected


def test_long_user_agents_are_truncated() -> None:
    assert truncate_user_agent("a" * 1025) == "a" * 1024 + "...TRUNCATED"
    assert truncate_user_agent("a" * 1024) == "a" * 1024
