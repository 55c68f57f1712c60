"""SelfSubjectReviews (authentication.k8s.io/v1): `kubectl auth whoami`."""
from __future__ import annotations

from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

SPEC = ResourceSpec(
    group="authentication.k8s.io", version="v1", kind="SelfSubjectReview", plural="selfsubjectreviews",
    namespaced=False, verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
