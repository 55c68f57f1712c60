"""VirtualStore: the store of a resource that is never stored (TokenReview, SubjectAccessReview, Binding, ...).

A create is answered by the store's `Answer` (the reviews of `registry.reviews`, given by the server assembly
with `answer_with`); without one it answers with the object as sent, after admission. ComponentStatuses
(get/list, computed from health probes upstream) list nothing yet.
"""
from __future__ import annotations

import copy

from apiserver.meta.errors import MethodNotAllowed
from apiserver.meta.objects import JSONDict
from apiserver.registry import codec, metadata
from apiserver.registry.context import ListOptions, RequestContext, StoredObject
from apiserver.registry.listing import ListResult
from apiserver.registry.reviews import Answer, Validate
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.translation import not_found


class VirtualStore:
    """Verbs of a virtual spec: `create` answers; get/list serve nothing; others are 405."""

    def __init__(self, spec: ResourceSpec, *, answer: Answer | None = None) -> None:
        if not spec.virtual:
            raise ValueError(f"{spec.group_resource} is stored: use ResourceStore")
        self.spec = spec
        self._answer = answer

    def answer_with(self, answer: Answer) -> None:
        """Answer creates with `answer` from now on (set once, by the server assembly, before serving)."""
        self._answer = answer

    async def create(self, namespace: str, obj: JSONDict, ctx: RequestContext, *,
                     validate: Validate = None) -> StoredObject:
        """The answer (kind and apiVersion set, namespace checked); the answer runs the admission callback."""
        obj = metadata.stamp_kind(obj, self.spec)
        metadata.match_request_namespace(obj, namespace, self.spec.namespaced)
        if self._answer is not None:
            obj = await self._answer(obj, namespace, ctx, validate)
        elif validate is not None:
            await validate(copy.deepcopy(obj), None)
        return StoredObject.of(codec.order_object(obj))

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> StoredObject:
        raise not_found(self.spec, name)

    async def list(self, namespace: str, options: ListOptions) -> ListResult:
        return ListResult([], "")

    def _unsupported(self, action: str) -> MethodNotAllowed:
        return MethodNotAllowed(self.spec.plural, action, group=self.spec.group)

    async def watch(self, namespace: str, options: ListOptions) -> object:
        raise self._unsupported("watch")

    async def update(self, *args: object, **kwargs: object) -> tuple[StoredObject, bool]:
        raise self._unsupported("update")

    async def guaranteed_update(self, *args: object, **kwargs: object) -> StoredObject:
        raise self._unsupported("patch")

    async def delete(self, *args: object, **kwargs: object) -> tuple[StoredObject, bool]:
        raise self._unsupported("delete")

    async def delete_collection(self, *args: object, **kwargs: object) -> ListResult:
        raise self._unsupported("deletecollection")
