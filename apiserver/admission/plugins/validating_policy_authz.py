"""The `authorizer` of policy expressions: the server's access review for the requesting user.

CEL calls the authorizer synchronously (apiserver.cel.authz.Authorizer), while the server's authorizers are
async. Expressions that may call it are evaluated on a worker thread, and each check runs the access review on
the event loop and waits for its answer there. The authorizer carries the admitted request's resource attributes
(`request_resource`), from which `authorizer.requestResource` starts, as upstream's NewResourceAuthorizerVal.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Final

from apiserver.admission.interface import AdmissionAttributes
from apiserver.cel.authz import AUTHORIZER_TYPE
from apiserver.meta.objects import JSONDict

AccessReview = Callable[[object, Mapping[str, Any]], Awaitable[JSONDict]]
CHECK_TIMEOUT: Final = 10.0
_RESOURCE_FIELDS: Final = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


class RequestAuthorizer:
    """Authorization checks for one request's user, answered from a thread other than the event loop's."""

    cel_type: ClassVar = AUTHORIZER_TYPE

    def __init__(self, review: AccessReview, user: object, loop: asyncio.AbstractEventLoop, *,
                 request_resource: Mapping[str, str] | None = None) -> None:
        self._review = review
        self._user = user
        self._loop = loop
        # Read by apiserver.cel.authz for `authorizer.requestResource`.
        self.request_resource: Mapping[str, str] = dict(request_resource or {})

    @classmethod
    def for_request(cls, review: AccessReview, attributes: AdmissionAttributes,
                    loop: asyncio.AbstractEventLoop) -> RequestAuthorizer:
        """The authorizer of one admission request: its user's checks, its resource as `requestResource`."""
        return cls(review, attributes.user, loop, request_resource=request_resource_of(attributes))

    def check(self, attributes: Mapping[str, str]) -> tuple[str, str, str]:
        """(decision "allow" | "deny" | "noOpinion", reason, error) for path or resource attributes."""
        spec = review_spec(attributes)
        future = asyncio.run_coroutine_threadsafe(_answer(self._review, self._user, spec), self._loop)
        status = future.result(timeout=CHECK_TIMEOUT)
        decision = "allow" if status.get("allowed") else "deny" if status.get("denied") else "noOpinion"
        return decision, str(status.get("reason") or ""), str(status.get("evaluationError") or "")


def request_resource_of(attributes: AdmissionAttributes) -> dict[str, str]:
    """The group, resource, subresource, namespace and name of the admitted request (its own resource, not the
    one a policy matched it as)."""
    return {"group": attributes.group, "resource": attributes.resource, "subresource": attributes.subresource,
            "namespace": attributes.namespace, "name": attributes.name}


async def _answer(review: AccessReview, user: object, spec: Mapping[str, Any]) -> JSONDict:
    return await review(user, spec)


def review_spec(attributes: Mapping[str, str]) -> JSONDict:
    """The SubjectAccessReview spec of CEL's authorizer attributes (a `path` makes a non-resource check)."""
    if attributes.get("path"):
        return {"nonResourceAttributes": {"path": attributes["path"], "verb": attributes.get("verb", "")}}
    resource = {key: attributes[key] for key in _RESOURCE_FIELDS if attributes.get(key)}
    return {"resourceAttributes": resource}
