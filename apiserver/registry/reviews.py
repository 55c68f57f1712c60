"""The review APIs: create-only requests answered on the spot and never stored.

Upstream's REST storages of TokenReview, SubjectAccessReview, LocalSubjectAccessReview,
SelfSubjectAccessReview, SelfSubjectRulesReview (pkg/registry/authentication, pkg/registry/authorization) and
SelfSubjectReview: each validates the request with upstream's messages, runs validating admission, asks the
authenticator or authorizer, and answers with the request plus its `status`.

The registry sits below authentication and authorization, so the deciding itself arrives as `ReviewBackends`:
plain callables the server assembly builds over the real authenticator and authorizer. The requesting user is the
`RequestContext.user` the endpoint filled in from the authentication filter; it is opaque here and only handed
back to the backends.
"""
from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.meta.errors import BadRequest, Invalid
from apiserver.meta.objects import JSONDict, format_time
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.context import RequestContext

Validate = Callable[[JSONDict, JSONDict | None], Awaitable[None]] | None
Answer = Callable[[JSONDict, str, RequestContext, Validate], Awaitable[JSONDict]]
"""How a virtual store answers a create: (object as sent, request namespace, context, admission) → response."""

AUTHENTICATION_GROUP = "authentication.k8s.io"
AUTHORIZATION_GROUP = "authorization.k8s.io"
NO_USER = "no user present on request"
EXACTLY_ONE_ATTRIBUTES = "exactly one of nonResourceAttributes or resourceAttributes must be specified"


@dataclass(frozen=True, slots=True)
class ReviewBackends:
    """What the reviews ask, supplied by the server (which may import auth).

    - `review_token(token, audiences)`: the TokenReview `status` for a bearer token.
    - `authorize(user, spec)`: the SubjectAccessReview `status` for `spec`'s resource or non-resource attributes,
      asked for `user`, or for the spec's own user, groups, uid and extra when `user` is None.
    - `rules(user, namespace)`: the SubjectRulesReview `status` of what `user` may do in `namespace`.
    - `user_info(user)`: the authentication.k8s.io/v1 UserInfo object of `user`.
    """

    review_token: Callable[[str, Sequence[str]], Awaitable[JSONDict]]
    authorize: Callable[[object | None, Mapping[str, Any]], Awaitable[JSONDict]]
    rules: Callable[[object, str], Awaitable[JSONDict]]
    user_info: Callable[[object], JSONDict]


def review_answers(backends: ReviewBackends) -> dict[tuple[str, str], Answer]:
    """The answer of every review resource, keyed by (group, plural)."""
    return {
        (AUTHENTICATION_GROUP, "tokenreviews"): _TokenReview(backends),
        (AUTHENTICATION_GROUP, "selfsubjectreviews"): _SelfSubjectReview(backends),
        (AUTHORIZATION_GROUP, "subjectaccessreviews"): _SubjectAccessReview(backends),
        (AUTHORIZATION_GROUP, "localsubjectaccessreviews"): _LocalSubjectAccessReview(backends),
        (AUTHORIZATION_GROUP, "selfsubjectaccessreviews"): _SelfSubjectAccessReview(backends),
        (AUTHORIZATION_GROUP, "selfsubjectrulesreviews"): _SelfSubjectRulesReview(backends),
    }


async def _admit(validate: Validate, obj: JSONDict) -> None:
    if validate is not None:
        await validate(copy.deepcopy(obj), None)


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _meaningful_metadata(obj: Mapping[str, Any], *, keep_namespace: bool) -> dict[str, Any]:
    """The metadata the client set, as upstream's "must be empty" checks see it (managedFields never count)."""
    metadata = obj.get("metadata") or {}
    ignored = {"managedFields", "creationTimestamp"} | ({"namespace"} if keep_namespace else set())
    return {key: value for key, value in metadata.items() if key not in ignored and value not in (None, "", {}, [])}


class _TokenReview:
    def __init__(self, backends: ReviewBackends) -> None:
        self._backends = backends

    async def __call__(self, obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        if namespace:
            raise BadRequest(f"namespace is not allowed on this type: {namespace}")
        spec = _spec(obj)
        token = spec.get("token") or ""
        if not token:
            raise BadRequest("token is required for TokenReview in authentication")
        await _admit(validate, obj)
        audiences = [audience for audience in spec.get("audiences") or () if isinstance(audience, str)]
        return _with_status(obj, await self._backends.review_token(str(token), audiences))


class _SelfSubjectReview:
    def __init__(self, backends: ReviewBackends) -> None:
        self._backends = backends

    async def __call__(self, obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        await _admit(validate, obj)
        if ctx.user is None:
            raise BadRequest(NO_USER)
        return {
            "apiVersion": obj["apiVersion"], "kind": obj["kind"],
            "metadata": {"creationTimestamp": format_time(ctx.now())},
            "status": {"userInfo": self._backends.user_info(ctx.user)},
        }


def access_review_spec_errors(spec: Mapping[str, Any], *, self_review: bool = False) -> FieldErrors:
    """ValidateSubjectAccessReviewSpec (or the SelfSubjectAccessReview variant, which names no subject)."""
    path = FieldPath("spec")
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    errors: FieldErrors = []
    if resource is not None and non_resource is not None:
        errors.append(FieldError.invalid(path.child("nonResourceAttributes"), non_resource,
                                         "cannot be specified in combination with resourceAttributes"))
    if resource is None and non_resource is None:
        errors.append(FieldError.invalid(path.child("resourceAttributes"), "null", EXACTLY_ONE_ATTRIBUTES))
    if not self_review and not spec.get("user") and not spec.get("groups"):
        errors.append(FieldError.invalid(path.child("user"), spec.get("user") or "",
                                         "at least one of user or group must be specified"))
    return errors


def _invalid(obj: Mapping[str, Any], group: str, errors: FieldErrors) -> Invalid:
    return Invalid(str(obj.get("kind", "")), "", [error.to_cause() for error in errors], group=group)


def _with_status(obj: JSONDict, status: JSONDict) -> JSONDict:
    """The request answered: its own fields, `metadata.creationTimestamp` null as Go's zero time prints."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    return {**obj, "metadata": {"creationTimestamp": None, **metadata}, "status": status}


class _SubjectAccessReview:
    def __init__(self, backends: ReviewBackends) -> None:
        self._backends = backends

    async def __call__(self, obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        spec = _spec(obj)
        errors = access_review_spec_errors(spec)
        if metadata := _meaningful_metadata(obj, keep_namespace=False):
            errors.append(FieldError.invalid(FieldPath("metadata"), metadata, "must be empty"))
        if errors:
            raise _invalid(obj, AUTHORIZATION_GROUP, errors)
        await _admit(validate, obj)
        return _with_status(obj, await self._backends.authorize(None, spec))


class _LocalSubjectAccessReview:
    def __init__(self, backends: ReviewBackends) -> None:
        self._backends = backends

    async def __call__(self, obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        if not namespace:
            raise BadRequest(f"namespace is required on this type: {namespace}")
        spec = _spec(obj)
        errors = access_review_spec_errors(spec)
        object_namespace = (obj.get("metadata") or {}).get("namespace") or ""
        if metadata := _meaningful_metadata(obj, keep_namespace=True):
            errors.append(FieldError.invalid(FieldPath("metadata"), metadata, "must be empty except for namespace"))
        resource = spec.get("resourceAttributes")
        if isinstance(resource, dict) and (resource.get("namespace") or "") != object_namespace:
            errors.append(FieldError.invalid(FieldPath("spec.resourceAttributes.namespace"),
                                             resource.get("namespace") or "", "must match metadata.namespace"))
        if spec.get("nonResourceAttributes") is not None:
            errors.append(FieldError.invalid(FieldPath("spec.nonResourceAttributes"), spec["nonResourceAttributes"],
                                             "disallowed on this kind of request"))
        if errors:
            raise _invalid(obj, AUTHORIZATION_GROUP, errors)
        if namespace != object_namespace:
            raise BadRequest(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
        await _admit(validate, obj)
        return _with_status(obj, await self._backends.authorize(None, spec))


class _SelfSubjectAccessReview:
    def __init__(self, backends: ReviewBackends) -> None:
        self._backends = backends

    async def __call__(self, obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        spec = _spec(obj)
        errors = access_review_spec_errors(spec, self_review=True)
        if metadata := _meaningful_metadata(obj, keep_namespace=False):
            errors.append(FieldError.invalid(FieldPath("metadata"), metadata, "must be empty"))
        if errors:
            raise _invalid(obj, AUTHORIZATION_GROUP, errors)
        if ctx.user is None:
            raise BadRequest(NO_USER)
        await _admit(validate, obj)
        return _with_status(obj, await self._backends.authorize(ctx.user, spec))


class _SelfSubjectRulesReview:
    def __init__(self, backends: ReviewBackends) -> None:
        self._backends = backends

    async def __call__(self, obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        if ctx.user is None:
            raise BadRequest(NO_USER)
        review_namespace = _spec(obj).get("namespace") or ""
        if not review_namespace:
            raise BadRequest("no namespace on request")
        await _admit(validate, obj)
        # Upstream answers with a new object: no metadata and no spec from the request.
        return {
            "apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": {"creationTimestamp": None},
            "spec": {}, "status": await self._backends.rules(ctx.user, str(review_namespace)),
        }
