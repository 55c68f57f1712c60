"""SelfSubjectAccessReviews (authorization.k8s.io/v1): may I do this? (`kubectl auth can-i`)"""
from __future__ import annotations

from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

SPEC = ResourceSpec(
    group="authorization.k8s.io", version="v1", kind="SelfSubjectAccessReview", plural="selfsubjectaccessreviews",
    namespaced=False, verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
