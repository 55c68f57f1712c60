"""CRD fixtures shared by the custom resource tests."""
from __future__ import annotations

import copy
from typing import Any

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer", "minimum": 0},
                "color": {"type": "string", "default": "blue"},
                "selector": {"type": "string"},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"],
                              "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}},
                },
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "selector": {"type": "string"},
                "conditions": {"type": "array", "items": {
                    "type": "object", "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}},
            },
        },
    },
}


def widget_crd(*, versions: tuple[str, ...] = ("v1",), storage: str = "v1", scope: str = "Namespaced",
               columns: list[dict[str, Any]] | None = None, established: bool = True) -> dict[str, Any]:
    """widgets.example.com with status and scale subresources."""
    version_list = []
    for name in versions:
        version: dict[str, Any] = {
            "name": name, "served": True, "storage": name == storage,
            "schema": {"openAPIV3Schema": copy.deepcopy(WIDGET_SCHEMA)},
            "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                     "statusReplicasPath": ".status.replicas",
                                                     "labelSelectorPath": ".status.selector"}},
        }
        if columns is not None:
            version["additionalPrinterColumns"] = columns
        version_list.append(version)
    names = {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
             "shortNames": ["wd"], "categories": ["all"]}
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": scope, "names": names, "versions": version_list},
    }
    if established:
        crd["status"] = {
            "acceptedNames": dict(names),
            "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                            "message": "no conflicts found"},
                           {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                            "message": "the initial names have been accepted"}],
            "storedVersions": [storage],
        }
    return crd
