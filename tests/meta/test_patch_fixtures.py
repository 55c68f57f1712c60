"""A dict-backed `PatchSchema` and realistic Kubernetes type schemas for the patch tests.

The fakes carry exactly the patch metadata of the v1.32 definitions; the tests in this file check that against
kubernetes-validate's copy of those definitions, so the strategic merge tests exercise real merge keys.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import kubernetes_validate
import pytest


@dataclass(frozen=True)
class FakeSchema:
    """Object (`properties`), map (`values`), array (`element`) or scalar (none of them)."""

    properties: dict[str, FakeSchema] = field(default_factory=dict)
    values: FakeSchema | None = None
    element: FakeSchema | None = None
    patch_merge_key: str | None = None
    patch_strategy: str | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    map_type: str | None = None

    def field(self, name: str) -> FakeSchema | None:
        return self.values if self.values is not None else self.properties.get(name)

    def items(self) -> FakeSchema | None:
        return self.element


SCALAR = FakeSchema()


def obj(*scalars: str, **fields: FakeSchema) -> FakeSchema:
    return FakeSchema(properties={**dict.fromkeys(scalars, SCALAR), **fields})


def mapping(values: FakeSchema = SCALAR) -> FakeSchema:
    return FakeSchema(values=values)


def array(
    element: FakeSchema = SCALAR, strategy: str | None = None, key: str | None = None, *, list_type: str = "atomic",
    map_keys: tuple[str, ...] = (),
) -> FakeSchema:
    return FakeSchema(
        element=element, patch_strategy=strategy, patch_merge_key=key, list_type=list_type, list_map_keys=map_keys
    )


OWNER_REFERENCE = obj("apiVersion", "kind", "name", "uid", "controller")
METADATA = obj(
    "name", "namespace", "uid", "resourceVersion", "generation",
    labels=mapping(), annotations=mapping(),
    finalizers=array(SCALAR, "merge", list_type="set"),
    ownerReferences=array(OWNER_REFERENCE, "merge", "uid", list_type="map", map_keys=("uid",)),
)
ENV_VAR = obj("name", "value", valueFrom=obj(fieldRef=obj("fieldPath"), configMapKeyRef=obj("name", "key")))
CONTAINER_PORT = obj("name", "containerPort", "protocol", "hostPort")
VOLUME_MOUNT = obj("name", "mountPath", "readOnly", "subPath")
CONTAINER = obj(
    "name", "image", "imagePullPolicy",
    args=array(), command=array(),
    env=array(ENV_VAR, "merge", "name", list_type="map", map_keys=("name",)),
    ports=array(CONTAINER_PORT, "merge", "containerPort", list_type="map", map_keys=("containerPort", "protocol")),
    volumeMounts=array(VOLUME_MOUNT, "merge", "mountPath", list_type="map", map_keys=("mountPath",)),
    resources=obj(limits=mapping(), requests=mapping()),
)
VOLUME = obj(
    "name", configMap=obj("name", "defaultMode"), secret=obj("secretName"), emptyDir=obj("medium", "sizeLimit"),
    hostPath=obj("path", "type"),
)
TOLERATION = obj("key", "operator", "value", "effect", "tolerationSeconds")
POD_SPEC = obj(
    "restartPolicy", "serviceAccountName", "terminationGracePeriodSeconds",
    containers=array(CONTAINER, "merge", "name", list_type="map", map_keys=("name",)),
    initContainers=array(CONTAINER, "merge", "name", list_type="map", map_keys=("name",)),
    volumes=array(VOLUME, "merge,retainKeys", "name", list_type="map", map_keys=("name",)),
    tolerations=array(TOLERATION),
    nodeSelector=mapping(),
)
LABEL_SELECTOR = obj(matchLabels=mapping(), matchExpressions=array(obj("key", "operator", values=array())))
CONDITION = obj("type", "status", "reason", "message", "lastTransitionTime")
DEPLOYMENT_STRATEGY = obj("type", rollingUpdate=obj("maxSurge", "maxUnavailable"))
DEPLOYMENT = obj(
    "apiVersion", "kind",
    metadata=METADATA,
    spec=obj(
        "replicas", "revisionHistoryLimit", "progressDeadlineSeconds",
        selector=LABEL_SELECTOR,
        template=obj(metadata=METADATA, spec=POD_SPEC),
        strategy=replace(DEPLOYMENT_STRATEGY, patch_strategy="retainKeys"),
    ),
    status=obj("replicas", "readyReplicas", conditions=array(CONDITION, "merge", "type", list_type="map",
                                                              map_keys=("type",))),
)
POD = obj("apiVersion", "kind", metadata=METADATA, spec=POD_SPEC, status=obj("phase", "podIP"))
SERVICE_PORT = obj("name", "protocol", "port", "targetPort", "nodePort")
SERVICE = obj(
    "apiVersion", "kind",
    metadata=METADATA,
    spec=obj(
        "type", "clusterIP", "sessionAffinity",
        selector=mapping(),
        ports=array(SERVICE_PORT, "merge", "port", list_type="map", map_keys=("port", "protocol")),
    ),
)
POD_DISRUPTION_BUDGET = obj(
    "apiVersion", "kind", metadata=METADATA,
    spec=obj("minAvailable", "maxUnavailable", selector=replace(LABEL_SELECTOR, patch_strategy="replace")),
)

# (definition, property, fake field) triples whose patch metadata must match the published v1.32 definitions.
CROSS_CHECKED = [
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", METADATA.field("finalizers")),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", METADATA.field("ownerReferences")),
    ("io.k8s.api.core.v1.Container", "env", CONTAINER.field("env")),
    ("io.k8s.api.core.v1.Container", "ports", CONTAINER.field("ports")),
    ("io.k8s.api.core.v1.Container", "volumeMounts", CONTAINER.field("volumeMounts")),
    ("io.k8s.api.core.v1.Container", "args", CONTAINER.field("args")),
    ("io.k8s.api.core.v1.PodSpec", "containers", POD_SPEC.field("containers")),
    ("io.k8s.api.core.v1.PodSpec", "initContainers", POD_SPEC.field("initContainers")),
    ("io.k8s.api.core.v1.PodSpec", "volumes", POD_SPEC.field("volumes")),
    ("io.k8s.api.core.v1.PodSpec", "tolerations", POD_SPEC.field("tolerations")),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy", DEPLOYMENT.field("spec").field("strategy")),  # type: ignore[union-attr]
    ("io.k8s.api.apps.v1.DeploymentStatus", "conditions", DEPLOYMENT.field("status").field("conditions")),  # type: ignore[union-attr]
    ("io.k8s.api.core.v1.ServiceSpec", "ports", SERVICE.field("spec").field("ports")),  # type: ignore[union-attr]
    ("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector",
     POD_DISRUPTION_BUDGET.field("spec").field("selector")),  # type: ignore[union-attr]
]


def _definitions() -> dict[str, dict[str, object]]:
    path = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema/v1.32.0-local/_definitions.json"
    document = json.loads(path.read_text())
    return document["$defs"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("definition", "prop", "fake"), CROSS_CHECKED, ids=[f"{d.rsplit('.', 1)[1]}.{p}"
                                                                             for d, p, _ in CROSS_CHECKED])
def test_fake_patch_metadata_matches_v1_32_definitions(definition: str, prop: str, fake: FakeSchema) -> None:
    published = _definitions()[definition]["properties"][prop]  # type: ignore[index]
    assert (fake.patch_strategy, fake.patch_merge_key) == (
        published.get("x-kubernetes-patch-strategy"), published.get("x-kubernetes-patch-merge-key")
    )
    if "x-kubernetes-list-type" in published:
        assert fake.list_type == published["x-kubernetes-list-type"]
        assert fake.list_map_keys == tuple(published.get("x-kubernetes-list-map-keys", ()))


def test_fake_map_schema_answers_every_name_with_its_value_schema() -> None:
    labels = METADATA.field("labels")
    assert labels is not None
    assert labels.field("anything") is SCALAR
    assert METADATA.field("noSuchField") is None
