"""The smallest valid body of each built-in type that validates more than metadata: what generic tests create.

Generic suites (conformance, store, endpoint tests) exercise behaviour every resource shares; they need objects
the type's own validation accepts. `sample_body` gives the fields besides metadata, `with_sample` merges them
into a body that has metadata already.
"""
from __future__ import annotations

import copy
from typing import Any

_CONTAINERS = [{"name": "c", "image": "busybox"}]
_POD_SPEC = {"containers": _CONTAINERS}
_TEMPLATE = {"metadata": {"labels": {"app": "sample"}}, "spec": _POD_SPEC}
_SELECTED = {"selector": {"matchLabels": {"app": "sample"}}, "template": _TEMPLATE}
_JOB_TEMPLATE = {"spec": {"containers": _CONTAINERS, "restartPolicy": "Never"}}

SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("", "pods"): {"spec": _POD_SPEC},
    ("", "podtemplates"): {"template": _TEMPLATE},
    ("", "replicationcontrollers"): {"spec": {"template": _TEMPLATE}},
    ("", "services"): {"spec": {"ports": [{"port": 80}]}},
    ("discovery.k8s.io", "endpointslices"): {"addressType": "IPv4"},
    ("", "persistentvolumes"): {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                         "hostPath": {"path": "/tmp/sample"}}},
    ("", "persistentvolumeclaims"): {"spec": {"accessModes": ["ReadWriteOnce"],
                                              "resources": {"requests": {"storage": "1Gi"}}}},
    ("apps", "deployments"): {"spec": _SELECTED},
    ("apps", "replicasets"): {"spec": _SELECTED},
    ("apps", "daemonsets"): {"spec": _SELECTED},
    ("apps", "statefulsets"): {"spec": {**_SELECTED, "serviceName": "sample"}},
    ("batch", "jobs"): {"spec": {"template": _JOB_TEMPLATE}},
    ("batch", "cronjobs"): {"spec": {"schedule": "* * * * *",
                                     "jobTemplate": {"spec": {"template": _JOB_TEMPLATE}}}},
    ("autoscaling", "horizontalpodautoscalers"): {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"},
                                                           "maxReplicas": 1}},
}


def sample_body(group: str, plural: str) -> dict[str, Any]:
    """A fresh copy of the type's smallest valid fields besides metadata ({} when metadata is enough)."""
    return copy.deepcopy(SAMPLES.get((group, plural), {}))


def with_sample(group: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the type's sample fields added where `body` does not set them."""
    return {**sample_body(group, plural), **body}
