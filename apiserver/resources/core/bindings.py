"""Bindings (core/v1): create-only; binding a pod to a node writes the pod, so there is no storage of its own.

The create is answered by registry/binding.py (`binding_answers`, given to this VirtualStore by the server assembly),
as upstream's LegacyBindingREST: the pod is the one the Binding names; `pods/<name>/binding` is the same store.
"""
from __future__ import annotations

from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

SPEC = ResourceSpec(
    group="", version="v1", kind="Binding", plural="bindings", namespaced=True,
    verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
