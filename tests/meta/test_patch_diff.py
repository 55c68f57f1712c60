"""Two-way strategic merge patches (what `kubectl edit` sends), and the law that applying one reproduces the target."""
from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from apiserver.meta.patch import create_two_way_merge_patch, strategic_merge_patch
from tests.meta.test_patch_fixtures import DEPLOYMENT, POD, FakeSchema


def template_spec(**spec: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": spec}}}


TWO_WAY_CASES: list[tuple[str, FakeSchema, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "labels-fields-and-containers",
        DEPLOYMENT,
        {"metadata": {"labels": {"a": "1", "b": "2"}},
         "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "a:1"},
                                                                        {"name": "b", "image": "b:1"}]}}}},
        {"metadata": {"labels": {"a": "1", "c": "3"}},
         "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"},
                                                         {"name": "c", "image": "c:1"}]}}}},
        {"metadata": {"labels": {"b": None, "c": "3"}},
         "spec": {"replicas": None, "template": {"spec": {
             "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}],
             "containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"},
                            {"name": "a", "$patch": "delete"}]}}}},
    ),
    (
        "primitive-merge-list",
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"],
                      "$setElementOrder/finalizers": ["b", "c"]}},
    ),
    (
        "retain-keys-strategy",
        DEPLOYMENT,
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}},
    ),
    (
        "retain-keys-volume",
        DEPLOYMENT,
        template_spec(volumes=[{"name": "v", "emptyDir": {}}]),
        template_spec(volumes=[{"name": "v", "configMap": {"name": "cm"}}]),
        template_spec(**{
            "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}, "emptyDir": None,
                         "name": "v"}],
            "$setElementOrder/volumes": [{"name": "v"}],
        }),
    ),
    (
        "reorder-only",
        DEPLOYMENT,
        template_spec(containers=[{"name": "a"}, {"name": "b"}]),
        template_spec(containers=[{"name": "b"}, {"name": "a"}]),
        template_spec(**{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}),
    ),
    (
        "atomic-list-replaced-whole",
        DEPLOYMENT,
        template_spec(tolerations=[{"key": "a"}, {"key": "b"}]),
        template_spec(tolerations=[{"key": "a"}]),
        template_spec(tolerations=[{"key": "a"}]),
    ),
    (
        "unsorted-primitive-list-always-carries-its-order",
        POD,
        {"metadata": {"finalizers": ["b", "a"]}},
        {"metadata": {"finalizers": ["b", "a"]}},
        {"metadata": {"$setElementOrder/finalizers": ["b", "a"]}},
    ),
    (
        "identical",
        DEPLOYMENT,
        {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X"}]}]}}}},
        {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X"}]}]}}}},
        {},
    ),
    (
        "type-change",
        DEPLOYMENT,
        {"spec": {"replicas": 1}},
        {"spec": {"replicas": 1.0}},
        {"spec": {"replicas": 1.0}},
    ),
]


@pytest.mark.parametrize(
    ("schema", "original", "modified", "expected"),
    [case[1:] for case in TWO_WAY_CASES],
    ids=[case[0] for case in TWO_WAY_CASES],
)
def test_create_two_way_merge_patch(
    schema: FakeSchema, original: dict[str, Any], modified: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = copy.deepcopy((original, modified))
    patch = create_two_way_merge_patch(original, modified, schema)
    assert patch == expected
    assert (original, modified) == before
    assert strategic_merge_patch(original, patch, schema) == modified


class PodGenerator:
    """Deterministic random Pods over small name pools, so that lists overlap and merge keys collide often."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def maybe(self) -> bool:
        return self.random.random() < 0.5

    def sample(self, pool: list[Any], low: int = 0) -> list[Any]:
        return self.random.sample(pool, self.random.randint(low, len(pool)))

    def scalar(self) -> Any:
        return self.random.choice(["x", "y", "", 0, 7, 2.5, True, False])

    def strings(self, pool: list[str]) -> dict[str, str]:
        return {key: self.random.choice(["1", "2", "3"]) for key in self.sample(pool)}

    def container(self, name: str) -> dict[str, Any]:
        container: dict[str, Any] = {"name": name, "image": self.random.choice(["nginx:1", "nginx:2", "busybox"])}
        if self.maybe():
            container["env"] = [{"name": env, "value": self.scalar()} for env in self.sample(["A", "B", "C", "D"])]
        if self.maybe():
            container["ports"] = [{"containerPort": port} for port in self.sample([80, 443, 8080, 9090])]
        if self.maybe():
            container["args"] = self.sample(["-v", "--debug", "run"])
        if self.maybe():
            container["resources"] = {"limits": self.strings(["cpu", "memory"])}
        return container

    def volume(self, name: str) -> dict[str, Any]:
        source = self.random.choice([{"emptyDir": {}}, {"configMap": {"name": "cm"}}, {"hostPath": {"path": "/x"}}])
        return {"name": name, **source}

    def pod(self, *, sorted_finalizers: bool = False) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": "p", "namespace": "default"}
        if self.maybe():
            metadata["labels"] = self.strings(["app", "tier", "env", "team"])
        if self.maybe():
            finalizers = self.sample(["a.io/x", "b.io/y", "c.io/z"])
            metadata["finalizers"] = sorted(finalizers) if sorted_finalizers else finalizers
        spec: dict[str, Any] = {"containers": [self.container(name) for name in self.sample(["a", "b", "c", "d"], 1)]}
        if self.maybe():
            spec["volumes"] = [self.volume(name) for name in self.sample(["v1", "v2", "v3"])]
        if self.maybe():
            spec["tolerations"] = [{"key": key, "operator": "Exists"} for key in self.sample(["k1", "k2"])]
        if self.maybe():
            spec["nodeSelector"] = self.strings(["zone", "disk"])
        if self.maybe():
            spec["restartPolicy"] = self.random.choice(["Always", "Never"])
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def test_reordering_an_unsorted_primitive_list_into_sorted_order_is_lost() -> None:
    # Upstream sorts the original's scalar list in place before comparing, so it then equals the sorted target.
    original = {"metadata": {"finalizers": ["b", "a"]}}
    assert create_two_way_merge_patch(original, {"metadata": {"finalizers": ["a", "b"]}}, POD) == {}


@pytest.mark.parametrize("seed", range(300))
def test_applying_a_two_way_patch_reproduces_the_target(seed: int) -> None:
    # Holds whenever the original's merged scalar lists are sorted (see the test above for the exception).
    generator = PodGenerator(seed)
    original, modified = generator.pod(sorted_finalizers=True), generator.pod()
    patch = create_two_way_merge_patch(original, modified, POD)
    assert strategic_merge_patch(original, patch, POD) == modified


@pytest.mark.parametrize("seed", range(50))
def test_two_way_patch_of_an_object_with_itself_is_empty(seed: int) -> None:
    pod = PodGenerator(seed).pod(sorted_finalizers=True)
    assert create_two_way_merge_patch(pod, pod, POD) == {}
