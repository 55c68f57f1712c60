"""RuntimeClass: a pod's RuntimeClass must exist, and brings its overhead and scheduling constraints.

Upstream's plugin/pkg/admission/runtimeclass, on pod CREATE: `spec.runtimeClassName` names a RuntimeClass
(cache, then live; else Forbidden `pod rejected: RuntimeClass "x" not found`); its `overhead.podFixed` becomes
the pod's `spec.overhead` (a different overhead already set is Forbidden), its `scheduling.nodeSelector` is
merged into the pod's (a conflicting value is Forbidden) and its tolerations are added. A pod with an overhead
but no RuntimeClass overhead is Forbidden.
"""
from __future__ import annotations

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.quota.resources import parse_list
from apiserver.meta.objects import JSONDict

NODE = ("node.k8s.io", "v1", "runtimeclasses")
OVERHEAD_MISMATCH = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
OVERHEAD_WITHOUT_CLASS = "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"


class RuntimeClass:
    name = "RuntimeClass"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.CREATE

    async def admit(self, attributes: AdmissionAttributes) -> None:
        pod = _pod(attributes)
        if pod is None:
            return
        spec = pod.setdefault("spec", {})
        runtime_class = await self._runtime_class(attributes, spec)
        if runtime_class is None:
            return
        overhead = (runtime_class.get("overhead") or {}).get("podFixed")
        if overhead is not None:
            if spec.get("overhead") and parse_list(spec["overhead"]) != parse_list(overhead):
                raise forbidden(attributes, OVERHEAD_MISMATCH)
            spec["overhead"] = dict(overhead)
        scheduling = runtime_class.get("scheduling") or {}
        selector = dict(spec.get("nodeSelector") or {})
        for key, value in (scheduling.get("nodeSelector") or {}).items():
            if key in selector and selector[key] != value:
                raise forbidden(attributes, f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; "
                                            f"pod.spec.nodeSelector[{key}] = {selector[key]}")
            selector[key] = value
        if selector:
            spec["nodeSelector"] = selector
        tolerations = list(spec.get("tolerations") or [])
        tolerations += [item for item in scheduling.get("tolerations") or () if item not in tolerations]
        if tolerations:
            spec["tolerations"] = tolerations

    async def validate(self, attributes: AdmissionAttributes) -> None:
        pod = _pod(attributes)
        if pod is None:
            return
        spec = pod.get("spec") or {}
        runtime_class = await self._runtime_class(attributes, spec)
        overhead = ((runtime_class or {}).get("overhead") or {}).get("podFixed")
        if overhead is not None:
            if parse_list(spec.get("overhead")) != parse_list(overhead):
                raise forbidden(attributes, OVERHEAD_MISMATCH)
        elif spec.get("overhead") is not None:
            raise forbidden(attributes, OVERHEAD_WITHOUT_CLASS)

    async def _runtime_class(self, attributes: AdmissionAttributes, spec: JSONDict) -> JSONDict | None:
        name = spec.get("runtimeClassName")
        if name is None:
            return None
        found = await self._context.objects(*NODE).get("", str(name))
        if found is None:
            found = await self._context.live_objects(*NODE).get("", str(name))
        if found is None:
            raise forbidden(attributes, f'pod rejected: RuntimeClass "{name}" not found')
        return found


def _pod(attributes: AdmissionAttributes) -> JSONDict | None:
    if attributes.group or attributes.resource != "pods" or attributes.subresource:
        return None
    return attributes.object if isinstance(attributes.object, dict) else None
