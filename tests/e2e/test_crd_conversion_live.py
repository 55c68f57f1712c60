"""CRD conversion webhooks live (SQLite and etcd): a real HTTPS webhook converts between a stored v1 and a served
v2 for kubectl's reads and writes, lists and the official client's watch; a failing or unreachable webhook gives
upstream's `conversion webhook for ... failed` error and changes nothing."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess
from tests.support.webhook_server import Recorded, Reply, WebhookServer

pytestmark = pytest.mark.slow

GROUP = "conversion.example.com"
PATH = "/convert"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"paints.{GROUP}"},
    "spec": {
        "group": GROUP, "scope": "Namespaced",
        "names": {"plural": "paints", "singular": "paint", "kind": "Paint"},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "color": {"type": "string"}}}}}}},
            {"name": "v2", "served": True, "storage": False, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "colour": {"type": "string"}}}}}}},
        ],
        "conversion": {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {}}},
    },
}
_RENAMES = {f"{GROUP}/v1": ("colour", "color"), f"{GROUP}/v2": ("color", "colour")}


def convert(recorded: Recorded) -> dict[str, Any]:
    """The test's conversion: v1 `spec.color` ⇄ v2 `spec.colour`, and a label saying it went through here."""
    request = recorded.body["request"]
    desired = request["desiredAPIVersion"]
    old, new = _RENAMES[desired]
    converted = []
    for obj in request["objects"]:
        spec = dict(obj.get("spec") or {})
        if old in spec:
            spec[new] = spec.pop(old)
        metadata = {**obj["metadata"], "labels": {**(obj["metadata"].get("labels") or {}), "converted": "yes"}}
        converted.append({**obj, "apiVersion": desired, "metadata": metadata, "spec": spec})
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "response": {"uid": request["uid"], "convertedObjects": converted, "result": {"status": "Success"}}}


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        server.routes[PATH] = convert
        yield server


@pytest.fixture(scope="module")
def paints(server: ServerProcess, webhook: WebhookServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    home = tmp_path_factory.mktemp("conversion-home")
    kubectl = Kubectl(server.kubeconfig, home)
    crd = json.loads(json.dumps(CRD))
    crd["spec"]["conversion"]["webhook"]["clientConfig"] = {"url": webhook.url(PATH), "caBundle": webhook.ca_bundle}
    applied = kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
    assert applied.returncode == 0, applied.stderr
    waited = kubectl.run("wait", "--for=condition=Established", f"crd/paints.{GROUP}", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr
    return kubectl


def paint(version: str, name: str, field: str, value: str) -> str:
    return json.dumps({"apiVersion": f"{GROUP}/{version}", "kind": "Paint", "metadata": {"name": name},
                       "spec": {field: value}})


def get(kubectl: Kubectl, resource: str, *args: str) -> dict[str, Any]:
    result = kubectl.run("get", resource, *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_a_v2_write_is_stored_as_v1_and_read_back_in_both_versions(
    paints: Kubectl, webhook: WebhookServer, namespace: str
) -> None:
    created = paints.run("apply", "-n", namespace, "-f", "-", stdin=paint("v2", "wall", "colour", "teal"))
    assert (created.returncode, created.stdout) == (0, "paint.conversion.example.com/wall created\n"), created.stderr
    v1 = get(paints, f"paints.v1.{GROUP}", "wall", "-n", namespace)
    assert (v1["apiVersion"], v1["spec"]) == (f"{GROUP}/v1", {"color": "teal"})
    v2 = get(paints, f"paints.v2.{GROUP}", "wall", "-n", namespace)
    assert (v2["apiVersion"], v2["spec"]) == (f"{GROUP}/v2", {"colour": "teal"})
    assert v2["metadata"]["labels"] == {"converted": "yes"}  # labels are the webhook's to change
    assert v2["metadata"]["uid"] == v1["metadata"]["uid"]
    desired = [recorded.body["request"]["desiredAPIVersion"] for recorded in webhook.recorded(PATH)]
    assert f"{GROUP}/v1" in desired and f"{GROUP}/v2" in desired
    assert all(recorded.body["apiVersion"] == "apiextensions.k8s.io/v1" for recorded in webhook.recorded(PATH))


def test_lists_in_the_other_version_convert_every_item(paints: Kubectl, namespace: str) -> None:
    for index in range(3):
        result = paints.run("apply", "-n", namespace, "-f", "-", stdin=paint("v1", f"p{index}", "color", "red"))
        assert result.returncode == 0, result.stderr
    listed = get(paints, f"paints.v2.{GROUP}", "-n", namespace)
    assert sorted((item["metadata"]["name"], item["spec"]["colour"]) for item in listed["items"]) == [
        ("p0", "red"), ("p1", "red"), ("p2", "red")]
    # One review per page is proven in tests/registry/test_conversion_batches.py: here the garbage collector,
    # which watches the preferred v2, converts the same objects concurrently.


def test_a_watch_in_the_other_version_sees_converted_events(
    server: ServerProcess, paints: Kubectl, api_client: k8s.ApiClient, namespace: str
) -> None:
    custom = k8s.CustomObjectsApi(api_client)
    seen: list[tuple[str, str, str]] = []
    stream = k8s_watch.Watch()

    def follow() -> None:
        for event in stream.stream(custom.list_namespaced_custom_object, GROUP, "v2", namespace, "paints",
                                   timeout_seconds=20):
            obj = event["object"]
            seen.append((event["type"], obj["apiVersion"], obj["spec"].get("colour", "")))
            if event["type"] == "MODIFIED":
                stream.stop()

    watcher = threading.Thread(target=follow)
    watcher.start()
    try:
        time.sleep(0.5)
        custom.create_namespaced_custom_object(GROUP, "v1", namespace, "paints", json.loads(
            paint("v1", "watched", "color", "green")))
        custom.patch_namespaced_custom_object(GROUP, "v1", namespace, "paints", "watched",
                                              {"spec": {"color": "olive"}})
    finally:
        watcher.join(25)
        stream.stop()
    assert seen == [("ADDED", f"{GROUP}/v2", "green"), ("MODIFIED", f"{GROUP}/v2", "olive")]


def test_a_failing_webhook_is_upstreams_error_and_changes_nothing(
    paints: Kubectl, webhook: WebhookServer, namespace: str
) -> None:
    created = paints.run("apply", "-n", namespace, "-f", "-", stdin=paint("v1", "door", "color", "blue"))
    assert created.returncode == 0, created.stderr
    webhook.routes[PATH] = lambda recorded: {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
        "response": {"uid": recorded.body["request"]["uid"], "result": {"status": "Failure",
                                                                         "message": "cannot convert doors"}}}
    try:
        read = paints.run("get", f"paints.v2.{GROUP}", "door", "-n", namespace)
        assert read.returncode == 1
        assert read.stderr == (f"Error from server: conversion webhook for {GROUP}/v1, Kind=Paint failed: "
                               "cannot convert doors\n")
        written = paints.run("apply", "-n", namespace, "-f", "-", stdin=paint("v2", "door", "colour", "black"))
        assert written.returncode == 1
        assert "conversion webhook for" in written.stderr and "cannot convert doors" in written.stderr
        webhook.routes[PATH] = lambda recorded: Reply(200, {"apiVersion": "apiextensions.k8s.io/v1",
                                                            "kind": "ConversionReview", "response": {
                                                                "uid": "not-the-request", "result": {
                                                                    "status": "Success"}}})
        mismatched = paints.run("get", f"paints.v2.{GROUP}", "door", "-n", namespace)
        assert mismatched.returncode == 1
        assert 'failed: expected response.uid="' in mismatched.stderr and 'got "not-the-request"' in mismatched.stderr
    finally:
        webhook.routes[PATH] = convert
    unchanged = get(paints, f"paints.v1.{GROUP}", "door", "-n", namespace)
    assert unchanged["spec"] == {"color": "blue"}


def test_an_unreachable_webhook_names_the_call(server: ServerProcess, paints: Kubectl, webhook: WebhookServer,
                                               namespace: str) -> None:
    # A second CRD whose webhook URL answers nothing: reads in the other version fail with Go's dial error.
    crd = json.loads(json.dumps(CRD))
    crd["metadata"]["name"] = f"inks.{GROUP}"
    crd["spec"]["names"] = {"plural": "inks", "singular": "ink", "kind": "Ink"}
    crd["spec"]["conversion"]["webhook"]["clientConfig"] = {
        "url": "https://127.0.0.1:1/convert", "caBundle": webhook.ca_bundle}
    applied = paints.run("apply", "-f", "-", stdin=json.dumps(crd))
    assert applied.returncode == 0, applied.stderr
    waited = paints.run("wait", "--for=condition=Established", f"crd/inks.{GROUP}", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr
    ink = {"apiVersion": f"{GROUP}/v1", "kind": "Ink", "metadata": {"name": "black"}, "spec": {"color": "black"}}
    created = paints.run("apply", "-n", namespace, "-f", "-", stdin=json.dumps(ink))
    assert created.returncode == 0, created.stderr
    read = paints.run("get", f"inks.v2.{GROUP}", "black", "-n", namespace)
    assert read.returncode == 1
    assert read.stderr.startswith(f'Error from server: conversion webhook for {GROUP}/v1, Kind=Ink failed: '
                                  'Post "https://127.0.0.1:1/convert?timeout=30s": ')
    status, _, body = server.request("GET", f"/apis/{GROUP}/v2/namespaces/{namespace}/inks/black", client_cert=True)
    answer = json.loads(body)
    assert (status, answer["code"], "reason" in answer) == (500, 500, False)  # upstream's bare error: no reason
    assert answer["message"].startswith(f"conversion webhook for {GROUP}/v1, Kind=Ink failed: Post ")
