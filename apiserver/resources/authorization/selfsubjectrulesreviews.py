"""SelfSubjectRulesReviews (authorization.k8s.io/v1): what may I do in a namespace? (`kubectl auth can-i --list`)"""
from __future__ import annotations

from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

SPEC = ResourceSpec(
    group="authorization.k8s.io", version="v1", kind="SelfSubjectRulesReview", plural="selfsubjectrulesreviews",
    namespaced=False, verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
