"""Creating CustomResourceDefinitions: upstream v1.32's defaults and validation messages (apiextensions-apiserver's
strategy and pkg/apis/apiextensions/validation), through the resource endpoints.

Errors name upstream's internal fields: a schema, subresources or printer columns shared by every version are
reported at `spec.validation`, `spec.subresources`, `spec.additionalPrinterColumns`.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.apiextensions.crd_support import (
    CRDS,
    changed,
    crd,
    create,
    invalid,
    refused,
    schema,
    version,
    with_schema,
)
from tests.support.resource_app import ResourceApp, resource_app

DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
DNS1123 = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
           "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
SCHEMA = "spec.validation.openAPIV3Schema"
NAME_RULE = 'must be spec.names.plural+"."+spec.group'


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def versions_json(body: dict[str, Any]) -> str:
    return json.dumps(body["spec"]["versions"], separators=(",", ":"))


async def test_create_defaults_names_conversion_and_status(api: ResourceApp) -> None:
    created = await create(api, crd())
    assert created["spec"]["names"] == {"plural": "widgets", "kind": "Widget", "singular": "widget",
                                        "listKind": "WidgetList"}
    assert created["spec"]["conversion"] == {"strategy": "None"}
    assert created["status"] == {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]}
    assert created["metadata"]["generation"] == 1


async def test_create_ignores_a_status_sent_by_the_client(api: ResourceApp) -> None:
    body = crd()
    body["status"] = {"storedVersions": ["v9"], "acceptedNames": {"plural": "BAD", "kind": "x"}}
    created = await create(api, body)
    assert created["status"]["storedVersions"] == ["v1"]
    assert created["status"]["acceptedNames"] == {"plural": "", "kind": ""}


async def test_create_defaults_webhook_service_port(api: ResourceApp) -> None:
    conversion = {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {
        "service": {"namespace": "default", "name": "converter", "path": "/convert"}}}}
    created = await create(api, crd(version("v1"), version("v2", storage=False), conversion=conversion))
    assert created["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"] == 443


CASES: list[tuple[str, Any, list[tuple[str, str, str]]]] = [
    ("name-not-plural-dot-group", lambda c: c["metadata"].update(name="gadgets.example.com"),
     [("FieldValueInvalid", "metadata.name", f'Invalid value: "gadgets.example.com": {NAME_RULE}')]),
    ("group-without-dot", lambda c: c["spec"].update(group="example"),
     [("FieldValueInvalid", "metadata.name", f'Invalid value: "widgets.example.com": {NAME_RULE}'),
      ("FieldValueInvalid", "spec.group", 'Invalid value: "example": should be a domain with at least one dot')]),
    ("group-not-dns", lambda c: c["spec"].update(group="Example.com"),
     [("FieldValueInvalid", "metadata.name", f'Invalid value: "widgets.example.com": {NAME_RULE}'),
      ("FieldValueInvalid", "spec.group", f'Invalid value: "Example.com": {DNS1123}')]),
    ("scope-unsupported", lambda c: c["spec"].update(scope="Global"),
     [("FieldValueNotSupported", "spec.scope",
       'Unsupported value: "Global": supported values: "Cluster", "Namespaced"')]),
    ("plural-not-dns1035", lambda c: (c["spec"]["names"].update(plural="Widgets"),
                                      c["metadata"].update(name="Widgets.example.com")),
     [("FieldValueInvalid", "metadata.name", f'Invalid value: "Widgets.example.com": {DNS1123}'),
      ("FieldValueInvalid", "spec.names.plural", f'Invalid value: "Widgets": {DNS1035}')]),
    ("kind-and-list-kind", lambda c: c["spec"]["names"].update(kind="Wid_get", listKind="Wid_get"),
     [("FieldValueInvalid", "spec.names.singular", f'Invalid value: "wid_get": {DNS1035}'),
      ("FieldValueInvalid", "spec.names.kind",
       f'Invalid value: "Wid_get": may have mixed case, but should otherwise match: {DNS1035}'),
      ("FieldValueInvalid", "spec.names.listKind",
       f'Invalid value: "Wid_get": may have mixed case, but should otherwise match: {DNS1035}'),
      ("FieldValueInvalid", "spec.names.listKind", 'Invalid value: "Wid_get": kind and listKind may not be the same')]),
    ("short-names-and-categories", lambda c: c["spec"]["names"].update(shortNames=["w_1"], categories=["All"]),
     [("FieldValueInvalid", "spec.names.shortNames[0]", f'Invalid value: "w_1": {DNS1035}'),
      ("FieldValueInvalid", "spec.names.categories[0]", f'Invalid value: "All": {DNS1035}')]),
    ("missing-kind", lambda c: c["spec"]["names"].pop("kind"),
     [("FieldValueRequired", "spec.names.singular", "Required value"),
      ("FieldValueRequired", "spec.names.kind", "Required value"),
      ("FieldValueRequired", "spec.names.listKind", "Required value")]),
    ("missing-schema", lambda c: c["spec"]["versions"][0].pop("schema"),
     [("FieldValueRequired", "spec.versions[0].schema.openAPIV3Schema", "Required value")]),
    ("version-name", lambda c: c["spec"]["versions"][0].update(name="V1"),
     [("FieldValueInvalid", "spec.versions[0].name", f'Invalid value: "V1": {DNS1035}'),
      ("FieldValueInvalid", "spec.version", f'Invalid value: "V1": {DNS1035}')]),
    ("root-type-missing", lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"].pop("type"),
     [("FieldValueRequired", f"{SCHEMA}.type", "Required value: must not be empty at the root")]),
    ("root-type-not-object", lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"].update(
        type="string", properties=None),
     [("FieldValueInvalid", f"{SCHEMA}.type", 'Invalid value: "string": must be object at the root')]),
    ("field-type-missing", lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
     ["properties"]["size"].pop("type"),
     [("FieldValueRequired", f"{SCHEMA}.properties[spec].properties[size].type",
       "Required value: must not be empty for specified object fields")]),
    ("unsupported-type", lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
     ["properties"]["size"].update(type="int"),
     [("FieldValueNotSupported", f"{SCHEMA}.properties[spec].properties[size].type",
       'Unsupported value: "int": supported values: "array", "boolean", "integer", "number", "object", "string"')]),
    ("preserve-unknown-fields-true", lambda c: c["spec"].update(preserveUnknownFields=True),
     [("FieldValueInvalid", "spec.preserveUnknownFields", "Invalid value: true: cannot set to true, set "
       "x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead")]),
    ("deprecation-warning-not-deprecated", lambda c: c["spec"]["versions"][0].update(deprecationWarning="old"),
     [("FieldValueInvalid", "spec.versions[0].deprecationWarning",
       'Invalid value: "old": can only be set for deprecated versions')]),
    ("deprecation-warning-too-long", lambda c: c["spec"]["versions"][0].update(deprecated=True,
                                                                             deprecationWarning="x" * 257),
     [("FieldValueInvalid", "spec.versions[0].deprecationWarning",
       f'Invalid value: "{"x" * 257}": must be <= 256 characters long')]),
    ("scale-paths", lambda c: c["spec"]["versions"][0].update(subresources={"scale": {
        "specReplicasPath": ".status.replicas", "statusReplicasPath": "status.replicas",
        "labelSelectorPath": ".metadata.labels"}}),
     [("FieldValueInvalid", "spec.subresources.scale.specReplicasPath",
       'Invalid value: ".status.replicas": should be a json path under .spec'),
      ("FieldValueInvalid", "spec.subresources.scale.statusReplicasPath",
       'Invalid value: "status.replicas": must be a simple json path starting with .'),
      ("FieldValueInvalid", "spec.subresources.scale.labelSelectorPath",
       'Invalid value: ".metadata.labels": should be a json path under either .spec or .status')]),
    ("printer-column", lambda c: c["spec"]["versions"][0].update(additionalPrinterColumns=[
        {"name": "Size", "type": "int", "format": "long", "jsonPath": "spec.size"}]),
     [("FieldValueInvalid", "spec.additionalPrinterColumns[0].type",
       'Invalid value: "int": must be one of boolean,date,integer,number,string'),
      ("FieldValueInvalid", "spec.additionalPrinterColumns[0].format",
       'Invalid value: "long": must be one of byte,date,date-time,double,float,int32,int64,password'),
      ("FieldValueInvalid", "spec.additionalPrinterColumns[0].JSONPath",
       'Invalid value: "spec.size": must be a simple json path starting with .')]),
    ("conversion-none-with-webhook", lambda c: c["spec"].update(conversion={
        "strategy": "None", "webhook": {"conversionReviewVersions": ["v1"]}}),
     [("FieldValueForbidden", "spec.conversion.conversionReviewVersions",
       "Forbidden: should not be set when strategy is not set to Webhook")]),
    ("conversion-webhook-without-config", lambda c: c["spec"].update(conversion={
        "strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v3"]}}),
     [("FieldValueRequired", "spec.conversion.webhookClientConfig",
       "Required value: required when strategy is set to Webhook"),
      ("FieldValueInvalid", "spec.conversion.conversionReviewVersions",
       'Invalid value: []string{"v3"}: must include at least one of v1, v1beta1')]),
    ("conversion-webhook-url", lambda c: c["spec"].update(conversion={"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1", "v1"], "clientConfig": {"url": "http://u:p@conv.example.com/x?a=b#f"}}}),
     [("FieldValueInvalid", "spec.conversion.webhookClientConfig.url",
       "Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]"),
      ("FieldValueInvalid", "spec.conversion.webhookClientConfig.url",
       'Invalid value: "u:p": user information is not permitted in the URL'),
      ("FieldValueInvalid", "spec.conversion.webhookClientConfig.url",
       'Invalid value: "f": fragments are not permitted in the URL'),
      ("FieldValueInvalid", "spec.conversion.webhookClientConfig.url",
       'Invalid value: "a=b": query parameters are not permitted in the URL'),
      ("FieldValueInvalid", "spec.conversion.conversionReviewVersions[1]", 'Invalid value: "v1": duplicate version')]),
    ("conversion-webhook-service", lambda c: c["spec"].update(conversion={"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"], "clientConfig": {"service": {"name": "", "namespace": "default",
                                                                         "port": 0, "path": "/Convert//x"}}}}),
     [("FieldValueRequired", "spec.conversion.webhookClientConfig.service.name",
       "Required value: service name is required"),
      ("FieldValueInvalid", "spec.conversion.webhookClientConfig.service.port",
       "Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive"),
      ("FieldValueInvalid", "spec.conversion.webhookClientConfig.service.path",
       f'Invalid value: "/Convert//x": segment[0]: {DNS1123}'),
      ("FieldValueInvalid", "spec.conversion.webhookClientConfig.service.path",
       'Invalid value: "/Convert//x": segment[1] may not be empty')]),
    ("conversion-webhook-url-and-service", lambda c: c["spec"].update(conversion={"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": "https://conv.example.com", "service": {"name": "conv", "namespace": "default"}}}}),
     [("FieldValueRequired", "spec.conversion.webhookClientConfig",
       "Required value: exactly one of url or service is required"),
      ("FieldValueRequired", "spec.conversion.conversionReviewVersions", "Required value")]),
    ("conversion-strategy-unknown", lambda c: c["spec"].update(conversion={"strategy": "Magic"}),
     [("FieldValueNotSupported", "spec.conversion.strategy",
       'Unsupported value: "Magic": supported values: "None", "Webhook"')]),
    ("protected-group-without-approval", lambda c: (c["spec"].update(group="widgets.k8s.io"),
                                                    c["metadata"].update(name="widgets.widgets.k8s.io")),
     [("FieldValueRequired", "metadata.annotations[api-approved.kubernetes.io]",
       'Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see '
       "https://github.com/kubernetes/enhancements/pull/1111")]),
    ("protected-group-bad-approval", lambda c: (
        c["spec"].update(group="widgets.k8s.io"),
        c["metadata"].update(name="widgets.widgets.k8s.io", annotations={"api-approved.kubernetes.io": "yes"})),
     [("FieldValueInvalid", "metadata.annotations[api-approved.kubernetes.io]",
       'Invalid value: "yes": protected groups must have approval annotation "api-approved.kubernetes.io" with '
       'either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111'
       )]),
]


@pytest.mark.parametrize(("change", "causes"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_create_rejects_with_upstream_causes(api: ResourceApp, change: Any,
                                                   causes: list[tuple[str, str, str]]) -> None:
    body = changed(crd(), change)
    await refused(api, "POST", CRDS, body, invalid(causes, body["metadata"]["name"]))


async def test_create_without_a_storage_version(api: ResourceApp) -> None:
    body = crd(version("v1", storage=False))
    await refused(api, "POST", CRDS, body, invalid([
        ("FieldValueInvalid", "spec.versions",
         f"Invalid value: {versions_json(body)}: must have exactly one version marked as storage version"),
        ("FieldValueInvalid", "status.storedVersions",
         "Invalid value: []string(nil): must have at least one stored version"),
    ]))


async def test_create_with_duplicate_versions_and_two_storage_versions(api: ResourceApp) -> None:
    body = crd(version("v1"), version("v1"))
    await refused(api, "POST", CRDS, body, invalid([
        ("FieldValueInvalid", "spec.versions", f"Invalid value: {versions_json(body)}: must contain unique version "
                                               "names"),
        ("FieldValueInvalid", "spec.versions",
         f"Invalid value: {versions_json(body)}: must have exactly one version marked as storage version"),
        # As upstream: the second v1 no longer finds its name among the stored versions.
        ("FieldValueInvalid", "status.storedVersions",
         'Invalid value: []string{"v1"}: must have the storage version v1'),
    ]))


async def test_create_reports_per_version_fields_at_their_version(api: ResourceApp) -> None:
    body = crd(version("v1"), version("v2", storage=False, schema={"openAPIV3Schema": {"type": "object",
                                                                                       "properties": {"x": {}}}}))
    await refused(api, "POST", CRDS, body, invalid([
        ("FieldValueRequired", "spec.versions[1].schema.openAPIV3Schema.properties[x].type",
         "Required value: must not be empty for specified object fields"),
    ]))


async def test_create_accepts_a_crd_using_every_feature(api: ResourceApp) -> None:
    created = await create(api, rich_crd())
    assert created["status"]["storedVersions"] == ["v2"]
    assert created["spec"]["versions"] == rich_crd()["spec"]["versions"]


def rich_crd() -> dict[str, Any]:
    """Two versions with their own schemas, subresources and columns, webhook conversion, and every extension."""
    spec_schema = {
        "type": "object", "required": ["size"], "x-kubernetes-validations": [
            {"rule": "self.size <= self.max", "message": "size above max", "fieldPath": ".size",
             "reason": "FieldValueForbidden"},
        ],
        "properties": {
            "size": {"type": "integer", "minimum": 0, "default": 1, "format": "int32"},
            "max": {"type": "integer", "maximum": 100, "default": 10},
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "mode": {"type": "string", "enum": ["a", "b"], "pattern": "^[ab]$", "nullable": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "atomic"},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "maxItems": 10,
                      "items": {"type": "object", "required": ["name"], "properties": {
                          "name": {"type": "string", "maxLength": 20}, "port": {"type": "integer"}}}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                         "x-kubernetes-preserve-unknown-fields": True},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "choice": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                       "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
            "stamp": {"type": "string", "format": "date-time", "description": "when", "title": "Stamp"},
        },
    }
    root = {"type": "object", "description": "a widget", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 30}}},
        "spec": spec_schema,
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}, "selector": {"type": "string"}}},
    }}
    columns = [{"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 0},
               {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    v1 = {"name": "v1", "served": True, "storage": False, "deprecated": True, "deprecationWarning": "use v2",
          "schema": {"openAPIV3Schema": {**root, "description": "a widget of v1"}}, "subresources": {"status": {}},
          "additionalPrinterColumns": columns[:1]}
    v2 = {"name": "v2", "served": True, "storage": True, "schema": {"openAPIV3Schema": root},
          "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
                                                   "statusReplicasPath": ".status.replicas",
                                                   "labelSelectorPath": ".status.selector"}},
          "additionalPrinterColumns": columns, "selectableFields": [{"jsonPath": ".spec.mode"}]}
    return crd(v1, v2, scope="Cluster", names={"plural": "widgets", "singular": "widget", "kind": "Widget",
                                               "listKind": "WidgetList", "shortNames": ["wd"],
                                               "categories": ["all", "examples"]},
               conversion={"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1", "v1beta1"],
                                                              "clientConfig": {"url": "https://conv.example.com/c"}}})


async def test_create_with_generate_name_must_still_be_plural_dot_group(api: ResourceApp) -> None:
    body = crd()
    body["metadata"] = {"generateName": "widgets-"}
    answer = await api.request("POST", CRDS, body)
    assert answer.status == 422
    causes = answer.json()["details"]["causes"]
    assert causes[0] == {"reason": "FieldValueInvalid", "field": "metadata.generateName",
                         "message": 'Invalid value: "widgets-": ' + NAME_RULE}
    assert [cause["field"] for cause in causes] == ["metadata.generateName", "metadata.name"]
    assert causes[1]["message"].startswith('Invalid value: "widgets-') and causes[1]["message"].endswith(NAME_RULE)


SCHEMA_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("properties-and-additional-properties",
     {"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}},
                                                "additionalProperties": {"type": "string"}}}},
     [("FieldValueForbidden", f"{SCHEMA}.properties[spec].additionalProperties",
       "Forbidden: additionalProperties and properties are mutual exclusive")]),
    ("additional-properties-at-root", {"type": "object", "additionalProperties": {"type": "string"}},
     [("FieldValueForbidden", f"{SCHEMA}.additionalProperties", "Forbidden: must not be used at the root")]),
    ("metadata-beyond-name",
     {"type": "object", "properties": {"metadata": {"type": "object", "properties": {
         "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
     [("FieldValueForbidden", f"{SCHEMA}.properties[metadata]", "Forbidden: must not specify anything other than "
       "name and generateName, but metadata is implicitly specified")]),
    ("kind-not-string", {"type": "object", "properties": {"kind": {"type": "integer"}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[kind].type", 'Invalid value: "integer": must be string')]),
    ("type-in-value-validation",
     {"type": "object", "properties": {"spec": {"type": "object", "anyOf": [{"type": "object", "properties": {
         "a": {"type": "string"}}}]}}},
     [("FieldValueForbidden", f"{SCHEMA}.properties[spec].anyOf[0].properties[a].type",
       "Forbidden: must be empty to be structural"),
      ("FieldValueForbidden", f"{SCHEMA}.properties[spec].anyOf[0].type",
       "Forbidden: must be empty to be structural")]),
    ("root-value-validation-names-unknown-field",
     {"type": "object", "properties": {"spec": {"type": "object"}}, "oneOf": [{"required": ["spec"]},
                                                                             {"properties": {"other": {}}}]},
     [("FieldValueRequired", f"{SCHEMA}.properties[other]",
       f"Required value: because it is defined in {SCHEMA}.oneOf[1].properties[other]")]),
    ("array-without-items", {"type": "object", "properties": {"list": {"type": "array"}}},
     [("FieldValueRequired", f"{SCHEMA}.properties[list].items", "Required value: must be specified")]),
    ("unsupported-features",
     {"type": "object", "properties": {"a": {"type": "string", "$ref": "#/x", "uniqueItems": True}}},
     [("FieldValueForbidden", f"{SCHEMA}.properties[a].$ref", "Forbidden: $ref is not supported"),
      ("FieldValueForbidden", f"{SCHEMA}.properties[a].uniqueItems",
       "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic")]),
    ("type-null", {"type": "object", "properties": {"a": {"type": "null"}}},
     [("FieldValueNotSupported", f"{SCHEMA}.properties[a].type",
       'Unsupported value: "null": supported values: "array", "boolean", "integer", "number", "object", "string"'),
      ("FieldValueForbidden", f"{SCHEMA}.properties[a].type",
       "Forbidden: type cannot be set to null, use nullable as an alternative")]),
    ("nullable-root", {"type": "object", "nullable": True},
     [("FieldValueForbidden", f"{SCHEMA}.nullable", "Forbidden: nullable cannot be true at the root")]),
    ("preserve-unknown-false", {"type": "object", "x-kubernetes-preserve-unknown-fields": False},
     [("FieldValueInvalid", f"{SCHEMA}.x-kubernetes-preserve-unknown-fields",
       "Invalid value: false: must be true or undefined")]),
    ("list-type-on-object", {"type": "object", "properties": {"a": {"type": "object",
                                                                    "x-kubernetes-list-type": "set"}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[a].type",
       'Invalid value: "object": must be array if x-kubernetes-list-type is specified')]),
    ("map-list-without-keys",
     {"type": "object", "properties": {"a": {"type": "array", "x-kubernetes-list-type": "map",
                                             "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}},
     [("FieldValueRequired", f"{SCHEMA}.properties[a].x-kubernetes-list-map-keys",
       "Required value: must not be empty if x-kubernetes-list-type is map")]),
    ("map-list-key-optional",
     {"type": "object", "properties": {"a": {"type": "array", "x-kubernetes-list-type": "map",
                                             "x-kubernetes-list-map-keys": ["n", "m"],
                                             "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[a].x-kubernetes-list-map-keys",
       'Invalid value: []string{"n", "m"}: entries must all be names of item properties'),
      ("FieldValueRequired", f"{SCHEMA}.properties[a].items.properties[n].default",
       "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required "
       "property")]),
    ("set-of-granular-objects",
     {"type": "object", "properties": {"a": {"type": "array", "x-kubernetes-list-type": "set",
                                             "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[a].items.x-kubernetes-map-type",
       "Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set")]),
    ("map-type-unsupported", {"type": "object", "properties": {"a": {"type": "object",
                                                                     "x-kubernetes-map-type": "merge"}}},
     [("FieldValueNotSupported", f"{SCHEMA}.properties[a].x-kubernetes-map-type",
       'Unsupported value: "merge": supported values: "atomic", "granular"')]),
    ("embedded-resource-not-object", {"type": "object", "properties": {"a": {
        "type": "string", "x-kubernetes-embedded-resource": True}}},
     [("FieldValueRequired", f"{SCHEMA}.properties[a].properties", "Required value: must not be empty if "
       "x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"),
      ("FieldValueInvalid", f"{SCHEMA}.properties[a].type",
       'Invalid value: "string": must be object if x-kubernetes-embedded-resource is true')]),
    ("int-or-string-with-preserve", {"type": "object", "properties": {"a": {
        "x-kubernetes-int-or-string": True, "x-kubernetes-preserve-unknown-fields": True}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[a].x-kubernetes-preserve-unknown-fields",
       "Invalid value: true: must be false if x-kubernetes-int-or-string is true")]),
    ("default-in-top-level-metadata",
     {"type": "object", "properties": {"metadata": {"type": "object", "properties": {
         "name": {"type": "string", "default": "x"}}}}},
     [("FieldValueForbidden", f"{SCHEMA}.properties[metadata].properties[name].default",
       "Forbidden: must not be set in top-level metadata")]),
    ("default-not-pruned",
     {"type": "object", "properties": {"spec": {"type": "object", "default": {"unknown": 1},
                                                "properties": {"a": {"type": "string"}}}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[spec].default",
       'Invalid value: {"unknown":1}: must not have unknown fields')]),
    ("defaults-must-validate",
     {"type": "object", "properties": {"spec": {"type": "object", "properties": {
         "a": {"type": "integer", "minimum": 5, "default": 1},
         "e": {"type": "string", "enum": ["x"], "default": "y"},
         "r": {"type": "integer", "default": 2, "x-kubernetes-validations": [{"rule": "self > 3"}]}}}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[spec].properties[a].default",
       "Invalid value: 1:  in body should be greater than or equal to 5"),
      ("FieldValueNotSupported", f"{SCHEMA}.properties[spec].properties[e].default",
       'Unsupported value: "y": supported values: "x"'),
      ("FieldValueInvalid", f"{SCHEMA}.properties[spec].properties[r].default",
       'Invalid value: "integer": failed rule: self > 3')]),
    ("bad-pattern", {"type": "object", "properties": {"a": {"type": "string", "pattern": "(?=x)"}}},
     [("FieldValueInvalid", f"{SCHEMA}.properties[a].pattern", 'Invalid value: "(?=x)": must be a valid regular '
       "expression, but isn't: error parsing regexp: invalid or unsupported Perl syntax: `(?=`")]),
    ("rule-static-checks",
     {"type": "object", "x-kubernetes-validations": [
         {"rule": " "}, {"rule": "self.a\n== 1"}, {"rule": "true", "reason": "Nope"},
         {"rule": "true", "fieldPath": ".nope"}],
      "properties": {"a": {"type": "integer"}}},
     [("FieldValueRequired", f"{SCHEMA}.x-kubernetes-validations[0].rule", "Required value: rule is not specified"),
      ("FieldValueRequired", f"{SCHEMA}.x-kubernetes-validations[1].message",
       "Required value: message must be specified if rule contains line breaks"),
      ("FieldValueNotSupported", f"{SCHEMA}.x-kubernetes-validations[2].reason",
       'Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", '
       '"FieldValueInvalid", "FieldValueRequired"'),
      ("FieldValueInvalid", f"{SCHEMA}.x-kubernetes-validations[3].fieldPath",
       'Invalid value: ".nope": must be a valid path')]),
]


@pytest.mark.parametrize(("root", "causes"), [case[1:] for case in SCHEMA_CASES],
                         ids=[case[0] for case in SCHEMA_CASES])
async def test_create_rejects_schemas_with_upstream_causes(api: ResourceApp, root: dict[str, Any],
                                                           causes: list[tuple[str, str, str]]) -> None:
    await refused(api, "POST", CRDS, with_schema(root), invalid(causes))


async def test_status_subresource_limits_the_root_schema(api: ResourceApp) -> None:
    root = {"type": "object", "minProperties": 1, "properties": {"spec": {"type": "object"}}}
    body = crd(version("v1", schema={"openAPIV3Schema": root}, subresources={"status": {}}))
    allowed = ("Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength "
               "Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example "
               "XPreserveUnknownFields XValidations")
    await refused(api, "POST", CRDS, body, invalid([
        ("FieldValueInvalid", SCHEMA, f"Invalid value: {json.dumps(root, separators=(',', ':'))}: only [{allowed}] "
                                      "fields are allowed at the root of the schema if the status subresource is "
                                      "enabled")]))


async def test_selectable_fields_must_name_scalar_fields_outside_metadata(api: ResourceApp) -> None:
    body = crd(version("v1", schema=schema(size={"type": "integer"}, sub={"type": "object"}),
                       selectableFields=[{"jsonPath": ".spec.sub"}, {"jsonPath": ".spec.nope"},
                                         {"jsonPath": ".spec['size']"}, {"jsonPath": ""}]))
    await refused(api, "POST", CRDS, body, invalid([
        ("FieldValueInvalid", "spec.selectableFields[0].jsonPath", 'Invalid value: ".spec.sub": must point to a field '
         "of type string, boolean or integer. Enum string fields and strings with formats are allowed."),
        ("FieldValueInvalid", "spec.selectableFields[1].jsonPath",
         'Invalid value: ".spec.nope": is an invalid path: does not refer to a valid field'),
        ("FieldValueInvalid", "spec.selectableFields[2].jsonPath",
         "Invalid value: \".spec['size']\": is an invalid path: array notation is not allowed"),
        ("FieldValueRequired", "spec.selectableFields[3].jsonPath", "Required value"),
    ]))


async def test_selectable_fields_of_one_version_need_that_version_to_keep_its_own_schema(api: ResourceApp) -> None:
    # Upstream quirk: identical schemas move to spec.validation, leaving the version without the schema its
    # selectable fields are checked against.
    body = crd(version("v1"), version("v2", storage=False, selectableFields=[{"jsonPath": ".spec.size"}]))
    await refused(api, "POST", CRDS, body, invalid([
        ("FieldValueInvalid", "spec.versions[1].selectableFields",
         'Invalid value: "": may only be set when `version.schema.openAPIV3Schema` is not included')]))
