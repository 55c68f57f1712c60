"""TokenReviews (authentication.k8s.io/v1): ask the server to authenticate a bearer token."""
from __future__ import annotations

from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

SPEC = ResourceSpec(
    group="authentication.k8s.io", version="v1", kind="TokenReview", plural="tokenreviews", namespaced=False,
    verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
