"""What the API benchmarks send: 2.2 KB Pods as the server stores them, their names, namespaces and paths.

A Pod body is valid for the pods strategy (status is dropped on create, so the bulk sits in spec and in a
padding annotation) and is padded so that the object the server stores and serves, with everything the server
adds (uid, resourceVersion, creationTimestamp, managedFields), is POD_SIZE bytes of JSON: a run calibrates the
padding against the live server (`PodShape.calibrated`), because what the server adds changes as it grows.

The annotation `bench/stamp` carries the write-start `time.perf_counter()` at a fixed width; a watcher finds it
in the event line without decoding it (perf_counter is CLOCK_MONOTONIC on Linux, comparable across processes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

POD_SIZE = 2240
DATASET_NAMESPACES = 10
STAMP_WIDTH = 20
STAMP_KEY = b'"bench/stamp":"'
NAME_KEY = b'"name":"'
_STAMP_PLACEHOLDER = "S" * STAMP_WIDTH
# What the server adds on create; only their lengths matter for the padding.
_SERVER_FIELDS = {"uid": "0" * 36, "resourceVersion": "1234567", "creationTimestamp": "2026-11-22T00:00:00Z"}


@dataclass(frozen=True, slots=True)
class ApiProfile:
    """How much one run does per backend; `quick` keeps a backend near one minute on 2 vCPUs."""

    name: str
    dataset: int  # pods of the first create repetition: the 10k the reads use
    create_count: int  # pods of each further create repetition
    create_reps: int  # including the dataset repetition
    get_count: int  # requests per GET repetition
    get_reps: int
    small_list_reps: int
    large_list_reps: int
    watch_seconds: float
    watch_reps: int
    fanout_seconds: float
    fanout_reps: int


QUICK = ApiProfile("quick", 10_000, 3_000, 2, 6_000, 1, 5, 2, 3.0, 1, 3.0, 1)
FULL = ApiProfile("full", 10_000, 5_000, 4, 15_000, 3, 15, 6, 5.0, 3, 5.0, 2)


def _pod(name: str, namespace: str, padding: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {"app": "bench", "tier": "backend", "pod-template-hash": "5d8f7c9b6d"},
            "annotations": {"bench/stamp": _STAMP_PLACEHOLDER, "bench/padding": padding},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "bench-5d8f7c9b6d",
                                 "uid": "7d1e9a3c-58b0-4c1e-a2f4-6b3d0e9c8f21", "controller": True}],
        },
        "spec": {
            "containers": [{
                "name": "app", "image": "registry.k8s.io/pause:3.10", "ports": [{"containerPort": 8080}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "env": [{"name": f"SETTING_{index}", "value": f"value-{index}"} for index in range(2)],
            }],
            "restartPolicy": "Always", "serviceAccountName": "default", "nodeName": "node-1",
        },
    }


@dataclass(frozen=True, slots=True)
class PodShape:
    """Pods whose `bench/padding` annotation is `padding` bytes long."""

    padding: int

    def body(self, name: str, namespace: str, stamp: float = 0.0) -> bytes:
        """The POST body of one Pod; `stamp` rides in the `bench/stamp` annotation."""
        body = orjson.dumps(_pod(name, namespace, "x" * self.padding))
        return body.replace(_STAMP_PLACEHOLDER.encode(), b"%020.9f" % stamp, 1)

    @classmethod
    def calibrated(cls, unpadded: int) -> PodShape:
        """The shape whose pods the server stores as POD_SIZE bytes, given the stored size of an unpadded one."""
        return cls(max(0, POD_SIZE - unpadded))


def _estimated() -> PodShape:
    """A pod of POD_SIZE bytes once uid, resourceVersion and creationTimestamp are added (no managedFields)."""
    pod = _pod("pod-00000", "ns0", "")
    pod["metadata"].update(_SERVER_FIELDS)
    return PodShape.calibrated(len(orjson.dumps(pod)))


ESTIMATED = _estimated()


def pod_name(index: int) -> str:
    return f"pod-{index:05d}"


def dataset_namespace(index: int) -> str:
    return f"ns{index % DATASET_NAMESPACES}"


def create_namespaces(rep: int) -> list[str]:
    """Repetition 0 fills the dataset namespaces; later repetitions create fresh pods in their own ones."""
    if rep == 0:
        return [dataset_namespace(index) for index in range(DATASET_NAMESPACES)]
    return [f"r{rep}-ns{index}" for index in range(DATASET_NAMESPACES)]


def pods_path(namespace: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"


def namespace_body(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def stamp_and_name(line: bytes) -> tuple[float, bytes] | None:
    """The write-start stamp and the object name of one watch event line; None for other events (bookmarks)."""
    at = line.find(STAMP_KEY)
    if at < 0:
        return None
    start = at + len(STAMP_KEY)
    name_at = line.find(NAME_KEY) + len(NAME_KEY)
    return float(line[start : start + STAMP_WIDTH]), line[name_at : line.index(b'"', name_at)]
