"""PersistentVolumeClaimResize: a claim may grow only when bound and its StorageClass allows expansion.

Upstream's plugin/pkg/admission/storage/persistentvolume/resize, on claim UPDATE that raises the storage
request: the stored claim must be Bound, and the claim's class (unchanged, not empty) must be a StorageClass
with `allowVolumeExpansion: true`.
"""
from __future__ import annotations

from fractions import Fraction

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.quota.evaluators import claim_class
from apiserver.admission.quota.resources import parse_list
from apiserver.meta.objects import JSONDict

NOT_BOUND = "Only bound persistent volume claims can be expanded"
NOT_EXPANDABLE = ("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc "
                  "must support resize")


class PersistentVolumeClaimResize:
    name = "PersistentVolumeClaimResize"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.UPDATE

    async def validate(self, attributes: AdmissionAttributes) -> None:
        claim, old = attributes.object, attributes.old_object
        if attributes.group or attributes.resource != "persistentvolumeclaims" or attributes.subresource:
            return
        if not isinstance(claim, dict) or not isinstance(old, dict) or _size(claim) <= _size(old):
            return
        if (old.get("status") or {}).get("phase") != "Bound":
            raise forbidden(attributes, NOT_BOUND)
        name = claim_class(claim)
        if not name or name != claim_class(old):
            raise forbidden(attributes, NOT_EXPANDABLE)
        storage_class = await self._context.objects("storage.k8s.io", "v1", "storageclasses").get("", name)
        if storage_class is None or storage_class.get("allowVolumeExpansion") is not True:
            raise forbidden(attributes, NOT_EXPANDABLE)


def _size(claim: JSONDict) -> Fraction:
    storage = parse_list(((claim.get("spec") or {}).get("resources") or {}).get("requests")).get("storage")
    return storage.value if storage is not None else Fraction(0)
