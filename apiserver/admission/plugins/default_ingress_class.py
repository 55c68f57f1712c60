"""DefaultIngressClass: an Ingress that names no class gets the default IngressClass.

Upstream's plugin/pkg/admission/network/defaultingressclass, on Ingress CREATE: an Ingress with neither
`spec.ingressClassName` nor the `kubernetes.io/ingress.class` annotation gets the IngressClass annotated
`ingressclass.kubernetes.io/is-default-class: "true"` (the newest when several are).
"""
from __future__ import annotations

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
NETWORKING = "networking.k8s.io"


class DefaultIngressClass:
    name = "DefaultIngressClass"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.CREATE

    async def admit(self, attributes: AdmissionAttributes) -> None:
        ingress = attributes.object
        if (attributes.group, attributes.resource, attributes.subresource) != (NETWORKING, "ingresses", ""):
            return
        if not isinstance(ingress, dict) or (ingress.get("spec") or {}).get("ingressClassName") is not None:
            return
        if LEGACY_CLASS_ANNOTATION in ((ingress.get("metadata") or {}).get("annotations") or {}):
            return
        classes = await self._context.objects(NETWORKING, "v1", "ingressclasses").list("")
        marked = [item for item in classes
                  if ((item.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
        if not marked:
            return
        marked.sort(key=lambda item: str((item.get("metadata") or {}).get("name") or ""))
        marked.sort(key=lambda item: str((item.get("metadata") or {}).get("creationTimestamp") or ""), reverse=True)
        ingress.setdefault("spec", {})["ingressClassName"] = marked[0]["metadata"]["name"]
