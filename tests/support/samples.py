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
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): {"spec": {
        "failurePolicy": "Fail", "validations": [{"expression": "true"}],
        "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                             "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                                "resources": ["configmaps"], "scope": "*"}]}}},
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): {"spec": {
        "policyName": "sample", "validationActions": ["Deny"]}},
}


def sample_body(group: str, plural: str) -> dict[str, Any]:
    """A fresh copy of the type's smallest valid fields besides metadata ({} when metadata is enough)."""
    return copy.deepcopy(SAMPLES.get((group, plural), {}))


def with_sample(group: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the type's sample fields added where `body` does not set them."""
    sample = sample_body(group, plural)
    if (group, plural) == _API_SERVICES:  # the spec follows the name, `<version>.<group>`
        version, _, api_group = str((body.get("metadata") or {}).get("name") or "").partition(".")
        sample = {"spec": {"group": api_group, "version": version, "groupPriorityMinimum": 1000,
                           "versionPriority": 15}}
    return {**sample, **body}


_API_SERVICES = ("apiregistration.k8s.io", "apiservices")


def sample_name(group: str, plural: str, name: str) -> str:
    """A name of the type built from `name`: APIServices must be named `<version>.<group>`."""
    return f"{name}.conformance.example.com" if (group, plural) == _API_SERVICES else name
