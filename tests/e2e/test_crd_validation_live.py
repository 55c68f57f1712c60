"""CustomResourceDefinition validation on live servers (SQLite and etcd): kubectl apply of a bad CRD, the official
client's Invalid status, and a CRD using schema rules, defaults and webhook conversion accepted and defaulted."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow

BAD_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            properties:
              size: {{type: integer}}
"""


def unique_group() -> str:
    return f"e2e{uuid.uuid4().hex[:8]}.example.com"


def crd_body(group: str, root: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {"group": group, "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": root}}], **spec}}


def test_kubectl_apply_of_a_crd_with_an_untyped_field_is_refused(kubectl: Kubectl) -> None:
    group = unique_group()
    result = kubectl.run("apply", "-f", "-", stdin=BAD_CRD.format(group=group))
    assert result.returncode != 0
    assert (f'The CustomResourceDefinition "widgets.{group}" is invalid: '
            "spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified "
            "object fields") in result.stderr
    missing = kubectl.run("get", "crd", f"widgets.{group}")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_client_receives_upstreams_invalid_status(api_client: k8s.ApiClient) -> None:
    group = unique_group()
    root = {"type": "object", "x-kubernetes-validations": [{"rule": "self.nope == 1"}],
            "properties": {"spec": {"type": "object"}}}
    body = crd_body(group, root, conversion={"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"]}})
    with pytest.raises(k8s.ApiException) as raised:
        k8s.ApiextensionsV1Api(api_client).create_custom_resource_definition(body)
    status = json.loads(raised.value.body)
    assert (raised.value.status, status["reason"]) == (422, "Invalid")
    assert [(cause["field"], cause["reason"]) for cause in status["details"]["causes"]] == [
        ("spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule", "FieldValueInvalid"),
        ("spec.conversion.webhookClientConfig", "FieldValueRequired"),
    ]
    assert status["details"]["causes"][1]["message"] == "Required value: required when strategy is set to Webhook"
    assert "compilation failed: ERROR: <input>:1:5: undefined field 'nope'" in status["message"]


def test_crd_with_rules_defaults_and_webhook_conversion_is_created_defaulted(api_client: k8s.ApiClient) -> None:
    group = unique_group()
    root = {"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-validations": [{"rule": "self.size <= 10", "message": "too big"}],
        "properties": {"size": {"type": "integer", "default": 1},
                       "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                 "x-kubernetes-list-map-keys": ["name"],
                                 "items": {"type": "object", "required": ["name"],
                                           "properties": {"name": {"type": "string"}}}}}}}}
    body = crd_body(group, root)
    body["spec"]["versions"].append({"name": "v2", "served": True, "storage": False,
                                     "schema": {"openAPIV3Schema": root}})
    body["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                                  "clientConfig": {"service": {"namespace": "default", "name": "conv"}}}}
    api = k8s.ApiextensionsV1Api(api_client)
    created = api_client.sanitize_for_serialization(api.create_custom_resource_definition(body))
    try:
        assert created["spec"]["names"]["singular"] == "widget"
        assert created["spec"]["names"]["listKind"] == "WidgetList"
        assert created["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"] == 443
        assert created["status"]["storedVersions"] == ["v1"]
        assert created["metadata"]["generation"] == 1
    finally:
        api.delete_custom_resource_definition(f"widgets.{group}")


GOOD_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: gadgets, kind: Gadget, shortNames: [{short}]}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {{type: integer, default: 1}}
"""


def test_kubectl_reapply_bumps_generation_and_keeps_the_group_immutable(kubectl: Kubectl) -> None:
    group = unique_group()
    assert kubectl.run("apply", "-f", "-", stdin=GOOD_CRD.format(group=group, short="gd")).returncode == 0
    changed = kubectl.run("apply", "-f", "-", stdin=GOOD_CRD.format(group=group, short="gdt"))
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(kubectl.run("get", "crd", f"gadgets.{group}", "-o", "json").stdout)
    assert (shown["metadata"]["generation"], shown["spec"]["names"]["shortNames"]) == (2, ["gdt"])
    moved = GOOD_CRD.format(group=group, short="gdt").replace(f"  group: {group}", "  group: other.example.com")
    refused = kubectl.run("apply", "-f", "-", stdin=moved)
    assert refused.returncode != 0
    assert 'spec.group: Invalid value: "other.example.com": field is immutable' in refused.stderr
    kubectl.run("delete", "crd", f"gadgets.{group}", "--wait=false")
