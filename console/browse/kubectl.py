"""The `kubectl` command that shows what a console page shows, to copy into a terminal."""
from __future__ import annotations

import shlex

from console.browse.discovery import ResourceType
from console.browse.listing import ListQuery


def list_command(resource_type: ResourceType, query: ListQuery) -> str:
    """`kubectl get deployments.apps -n team -l app=web`, and the page's other choices."""
    words = ["kubectl", "get", resource_type.kubectl_name]
    if resource_type.namespaced:
        words += ["-A"] if query.all_namespaces else ["-n", query.namespace]
    if query.name:
        words += ["--field-selector", f"metadata.name={query.name}"]
    if query.label_selector:
        words += ["-l", query.label_selector]
    if query.wide:
        words += ["-o", "wide"]
    return shlex.join(words)


def get_command(resource_type: ResourceType, name: str, namespace: str) -> str:
    """`kubectl get pod web -n team -o yaml`."""
    words = ["kubectl", "get", resource_type.kubectl_singular, name]
    if resource_type.namespaced and namespace:
        words += ["-n", namespace]
    return shlex.join([*words, "-o", "yaml"])
