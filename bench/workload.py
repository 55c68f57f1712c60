"""What the storage benchmarks write and read: profiles, keys and 2.2 KB Pod-shaped values.

Values are JSON bytes of a realistic Pod padded to VALUE_SIZE. The first field carries a fixed-width
`time.perf_counter()` stamp, so a watcher in another process can compute write-start → event latency without
decoding the document (perf_counter is CLOCK_MONOTONIC on Linux, comparable across processes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

IN_FLIGHT = 64
PAGE_SIZE = 500
VALUE_SIZE = 2240
NAMESPACES = 10


@dataclass(frozen=True, slots=True)
class Profile:
    """How much of each workload one run does; `quick` stays under ~1 min per backend on 2 vCPUs."""

    name: str
    objects: int
    write_reps: int
    sequential_gets: int
    concurrent_gets: int
    read_reps: int
    small_list_reps: int
    large_list_reps: int
    watch_seconds: float
    watch_reps: int


QUICK = Profile("quick", 10_000, 2, 1_000, 5_000, 1, 5, 2, 2.0, 1)
FULL = Profile("full", 10_000, 5, 3_000, 10_000, 3, 15, 6, 5.0, 3)


STAMP_WIDTH = 20
STAMP_FIELD = b'{"benchStamp":"'
STAMP_PLACEHOLDER = b"@STAMP@".ljust(STAMP_WIDTH, b"_")


def _pod_template() -> bytes:
    """A 2,240-byte Pod-shaped JSON document with placeholders; the watch timestamp is its first field."""
    pod: dict[str, Any] = {
        "benchStamp": "S" * STAMP_WIDTH,
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "@NAME@", "namespace": "@NAMESPACE@", "generation": "@GENERATION@",
            "uid": "0c3b5a0e-3f7e-4a52-9d8e-2f4b9c1d7a65", "creationTimestamp": "2026-11-22T00:00:00Z",
            "labels": {"app": "bench", "tier": "backend", "pod-template-hash": "5d8f7c9b6d"},
            "annotations": {"bench/padding": "@PADDING@"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "bench-5d8f7c9b6d",
                                 "uid": "7d1e9a3c-58b0-4c1e-a2f4-6b3d0e9c8f21", "controller": True}],
        },
        "spec": {
            "containers": [{
                "name": "app", "image": "registry.k8s.io/pause:3.10", "ports": [{"containerPort": 8080}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "env": [{"name": f"SETTING_{index}", "value": f"value-{index}"} for index in range(8)],
            }],
            "restartPolicy": "Always", "serviceAccountName": "default", "nodeName": "node-1",
        },
        "status": {"phase": "Running", "podIP": "10.244.1.17", "hostIP": "192.168.0.11",
                   "conditions": [{"type": kind, "status": "True"} for kind in ("Ready", "Initialized")]},
    }
    encoded = orjson.dumps(pod).replace(b"S" * STAMP_WIDTH, STAMP_PLACEHOLDER)
    unpadded = _fill(encoded.replace(b"@PADDING@", b""), 0, 1, 0.0)
    return encoded.replace(b"@PADDING@", b"x" * max(0, VALUE_SIZE - len(unpadded)))


def _fill(template: bytes, index: int, generation: int, stamp: float) -> bytes:
    return (
        template.replace(STAMP_PLACEHOLDER, b"%020.9f" % stamp)
        .replace(b"@NAME@", b"pod-%05d" % index)
        .replace(b"@NAMESPACE@", b"ns%d" % (index % NAMESPACES))
        .replace(b'"@GENERATION@"', b"%d" % generation)
    )


POD_TEMPLATE = _pod_template()


def pod_value(index: int, generation: int = 1, stamp: float = 0.0) -> bytes:
    """The value of object `index`; `stamp` (perf_counter seconds) rides at a fixed offset for the watch."""
    return _fill(POD_TEMPLATE, index, generation, stamp)


def stamp_of(value: bytes) -> float:
    start = len(STAMP_FIELD)
    return float(value[start : start + STAMP_WIDTH])


def object_key(root: str, index: int) -> str:
    return f"{root}/pods/ns{index % NAMESPACES}/pod-{index}"


def root_of(side: str, rep: int) -> str:
    """Each side and repetition writes its own keys; repetition 0 holds the dataset the reads use."""
    base = "/registry" if side == "ours" else "/raw/registry"
    return base if rep == 0 else f"{base}-rep{rep}"


