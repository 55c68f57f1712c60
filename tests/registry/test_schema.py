"""Type schemas: loading the v1.32 definitions, their upstream form, and navigating the compact nodes."""
from __future__ import annotations

import json

import pytest

from apiserver.registry.catalog import builtin_specs
from apiserver.registry.schema import (
    INT_OR_STRING,
    NO_DEFAULT,
    QUANTITY,
    Shape,
    TypeSchemas,
)
from apiserver.registry.schema_decode import go_type


@pytest.fixture(scope="module")
def schemas() -> TypeSchemas:
    return TypeSchemas.builtin()


def test_builtin_schemas_are_loaded_once(schemas: TypeSchemas) -> None:
    assert TypeSchemas.builtin() is schemas
    assert len(schemas.definitions) == 638


def test_every_served_builtin_kind_has_a_schema(schemas: TypeSchemas) -> None:
    missing = [(spec.group, spec.version, spec.kind) for spec in builtin_specs()
               if schemas.for_kind(spec.group, spec.version, spec.kind) is None]
    assert missing == []


def test_upstream_form_undoes_kubernetes_validate_rewrites(schemas: TypeSchemas) -> None:
    text = json.dumps(schemas.definitions)
    assert '"null"' not in text
    assert "#/$defs/" not in text
    assert '"oneOf": [' not in text  # the keyword; JSONSchemaProps has a field of that name
    pod = schemas.definitions["io.k8s.api.core.v1.Pod"]
    assert pod["type"] == "object"
    assert "enum" not in pod["properties"]["kind"]
    assert pod["properties"]["spec"]["$ref"] == "#/definitions/io.k8s.api.core.v1.PodSpec"
    assert schemas.definitions[INT_OR_STRING] == {
        "description": schemas.definitions[INT_OR_STRING]["description"], "format": "int-or-string",
        "type": "string",
    }
    assert schemas.definitions[QUANTITY]["type"] == "string"
    # A property named `enum` (JSONSchemaProps.enum) is a field, not the keyword, and is kept.
    props = schemas.definitions["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"]
    assert "enum" in props["properties"]


def test_patch_markers_of_pod_containers(schemas: TypeSchemas) -> None:
    pod = schemas.for_kind("", "v1", "Pod")
    assert pod is not None
    containers = pod.at("spec", "containers")
    assert containers is not None
    assert (containers.patch_merge_key, containers.patch_strategy) == ("name", "merge")
    assert (containers.list_type, containers.list_map_keys) == ("map", ("name",))
    ports = pod.at("spec", "containers", 0, "ports")
    assert ports is not None
    assert (ports.patch_merge_key, ports.list_map_keys) == ("containerPort", ("containerPort", "protocol"))
    item = containers.items()
    assert item is not None and item.field("image") is not None and item.field("bogus") is None


def test_markers_on_a_referring_property_stay_on_that_property(schemas: TypeSchemas) -> None:
    deployment = schemas.for_kind("apps", "v1", "Deployment")
    assert deployment is not None
    strategy = deployment.at("spec", "strategy")
    assert strategy is not None and strategy.patch_strategy == "retainKeys"
    assert strategy.field("rollingUpdate") is not None
    shared = schemas.definition("io.k8s.api.apps.v1.DeploymentStrategy")
    assert shared is not None and shared.patch_strategy == ""
    claim_ref = schemas.definition("io.k8s.api.core.v1.PersistentVolumeSpec")
    assert claim_ref is not None
    assert claim_ref.field("claimRef").map_type == "granular"  # type: ignore[union-attr]
    assert schemas.definition("io.k8s.api.core.v1.ObjectReference").map_type == "atomic"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        (("metadata", "labels"), Shape.MAP),
        (("metadata", "creationTimestamp"), Shape.TIME),
        (("metadata", "managedFields", 0, "fieldsV1"), Shape.RAW),
        (("spec", "containers", 0, "resources", "limits", "cpu"), Shape.QUANTITY),
        (("spec", "containers", 0, "livenessProbe", "httpGet", "port"), Shape.INT_OR_STRING),
        (("spec", "containers", 0, "ports", 0, "containerPort"), Shape.INTEGER),
        (("spec", "hostNetwork"), Shape.BOOLEAN),
        (("spec", "containers"), Shape.LIST),
        (("spec",), Shape.STRUCT),
    ],
)
def test_shapes_follow_upstream_decoding(schemas: TypeSchemas, path: tuple[str | int, ...], shape: Shape) -> None:
    pod = schemas.for_kind("", "v1", "Pod")
    assert pod is not None
    node = pod.at(*path)
    assert node is not None and node.shape is shape


def test_secret_data_is_base64_bytes_and_raw_extension_keeps_anything(schemas: TypeSchemas) -> None:
    secret = schemas.for_kind("", "v1", "Secret")
    revision = schemas.for_kind("apps", "v1", "ControllerRevision")
    assert secret is not None and revision is not None
    assert secret.at("data", "key").shape is Shape.BYTES  # type: ignore[union-attr]
    assert revision.at("data").shape is Shape.RAW  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("spec",), "v1.PodSpec"),
        (("spec", "containers"), "[]v1.Container"),
        (("metadata", "labels"), "map[string]string"),
        (("spec", "containers", 0, "resources", "limits"), "v1.ResourceList"),
        (("spec", "containers", 0, "ports", 0, "containerPort"), "int32"),
        (("spec", "activeDeadlineSeconds"), "int64"),
        (("metadata",), "v1.ObjectMeta"),
    ],
)
def test_go_type_names(schemas: TypeSchemas, path: tuple[str | int, ...], expected: str) -> None:
    pod = schemas.for_kind("", "v1", "Pod")
    assert pod is not None
    node = pod.at(*path)
    assert node is not None and go_type(node) == expected


def test_v1_32_definitions_publish_no_defaults(schemas: TypeSchemas) -> None:
    pod = schemas.for_kind("", "v1", "Pod")
    assert pod is not None and pod.at("spec", "restartPolicy").default is NO_DEFAULT  # type: ignore[union-attr]


def test_unresolvable_reference_is_rejected() -> None:
    with pytest.raises(ValueError, match="unresolvable"):
        TypeSchemas({"a.B": {"type": "object", "properties": {"c": {"$ref": "#/definitions/a.Missing"}}}})


def test_map_keys_navigate_to_the_value_schema(schemas: TypeSchemas) -> None:
    pod = schemas.for_kind("", "v1", "Pod")
    assert pod is not None
    labels = pod.at("metadata", "labels")
    assert labels is not None and labels.field("any-key") is labels.values()
    assert pod.at("spec", "containers", 0, "resources", "limits", "cpu") is schemas.definition(QUANTITY)
    assert pod.at("spec", "nope", "deeper") is None
