"""SubjectAccessReviews (authorization.k8s.io/v1): may this user do this? Asked by webhooks and aggregated servers."""
from __future__ import annotations

from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

SPEC = ResourceSpec(
    group="authorization.k8s.io", version="v1", kind="SubjectAccessReview", plural="subjectaccessreviews",
    namespaced=False, verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
