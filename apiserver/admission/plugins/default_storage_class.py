"""DefaultStorageClass: a PersistentVolumeClaim that names no class gets the default StorageClass.

Upstream's plugin/pkg/admission/storage/storageclass/setdefault, on claim CREATE: a claim with neither
`spec.storageClassName` (even "") nor the beta class annotation gets the StorageClass annotated
`storageclass.kubernetes.io/is-default-class: "true"` (or the beta annotation); with several, the newest
(then the first by name); with none, the claim stays as it is.
"""
from __future__ import annotations

from collections.abc import Sequence

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.meta.objects import JSONDict

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


class DefaultStorageClass:
    name = "DefaultStorageClass"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.CREATE

    async def admit(self, attributes: AdmissionAttributes) -> None:
        claim = attributes.object
        if attributes.group or attributes.resource != "persistentvolumeclaims" or attributes.subresource:
            return
        if not isinstance(claim, dict) or _has_class(claim):
            return
        classes = await self._context.objects("storage.k8s.io", "v1", "storageclasses").list("")
        default = default_class(classes)
        if default is not None:
            claim.setdefault("spec", {})["storageClassName"] = (default.get("metadata") or {}).get("name")


def _has_class(claim: JSONDict) -> bool:
    if (claim.get("spec") or {}).get("storageClassName") is not None:
        return True
    return BETA_CLASS_ANNOTATION in ((claim.get("metadata") or {}).get("annotations") or {})


def default_class(classes: Sequence[JSONDict]) -> JSONDict | None:
    """GetDefaultClass: the newest class marked default, ties broken by name."""
    marked = [item for item in classes
              if any(((item.get("metadata") or {}).get("annotations") or {}).get(key) == "true"
                     for key in DEFAULT_CLASS_ANNOTATIONS)]
    if not marked:
        return None
    marked.sort(key=lambda item: str((item.get("metadata") or {}).get("name") or ""))
    marked.sort(key=lambda item: str((item.get("metadata") or {}).get("creationTimestamp") or ""), reverse=True)
    return marked[0]
