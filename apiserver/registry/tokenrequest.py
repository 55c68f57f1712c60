"""TokenRequest: `POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token` issues a bound ServiceAccount token.

Upstream's TokenREST (pkg/registry/core/serviceaccount/storage/token.go), step for step:
- the body's name and namespace, when set, must be the ServiceAccount's (Invalid otherwise);
- the ServiceAccount must exist (NotFound); unset audiences default to the API audiences, unset
  `expirationSeconds` to 3600;
- `expirationSeconds` must be at least 600 and at most 2^32 (Invalid), then validating admission runs;
- `boundObjectRef` may name a Pod (running as this ServiceAccount; its Node is recorded too), a Secret or a Node
  of the request, each read live (NotFound when missing); a `uid` in the reference must match (Conflict);
- `--service-account-max-token-expiration` shortens longer requests, with a warning;
- a Pod-bound token asked for 3607 s of the API audiences lives a year instead and warns after 3607 s
  (`--service-account-extend-token-expiration`, on by default).
Signing is the server's: the registry cannot import auth, so the store gets an `IssueToken` callable.
"""
from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from apiserver.meta.errors import ApiError, BadRequest, Conflict, Invalid, go_quote
from apiserver.meta.objects import JSONDict, format_time, uid_of
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry import codec
from apiserver.registry.context import RequestContext, StoredObject
from apiserver.registry.reviews import Validate
from apiserver.registry.spec import CREATE_ONLY, ResourceSpec

AUTHENTICATION_GROUP = "authentication.k8s.io"
DEFAULT_EXPIRATION_SECONDS = 60 * 60
MIN_EXPIRATION_SECONDS = 10 * 60
MAX_EXPIRATION_SECONDS = 1 << 32
WARN_ONLY_EXPIRATION_SECONDS = 3607
EXTENDED_EXPIRATION_SECONDS = 24 * 365 * 60 * 60

# What a `serviceaccounts/token` request reads and answers: a TokenRequest, addressed under serviceaccounts.
TOKEN_REQUEST_SPEC = ResourceSpec(
    group=AUTHENTICATION_GROUP, version="v1", kind="TokenRequest", plural="serviceaccounts", namespaced=True,
    verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What one token is issued for: the ServiceAccount, the object it is bound to, audiences and lifetime."""

    service_account: JSONDict
    audiences: tuple[str, ...]
    expiration_seconds: int
    now: datetime
    pod: JSONDict | None = None
    secret: JSONDict | None = None
    node: JSONDict | None = None
    warn_after_seconds: int = 0


IssueToken = Callable[[TokenGrant], Awaitable[str]]


class ObjectGetter(Protocol):
    """A store's `get` (the ResourceStore of serviceaccounts, pods, secrets or nodes)."""

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> StoredObject: ...


class StoreLookup(Protocol):
    def store_for(self, group: str, version: str, plural: str) -> Any:
        """The store serving the resource, or None."""
        ...


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """The server's token flags: API audiences, the expiration cap (0: none) and the pod-bound extension."""

    api_audiences: tuple[str, ...] = ()
    max_expiration_seconds: int = 0
    extend_expiration: bool = True


class TokenRequestStore:
    """The `create` of `serviceaccounts/<name>/token` for one ServiceAccount name (one store per request)."""

    spec = TOKEN_REQUEST_SPEC

    def __init__(self, registry: StoreLookup, service_account: str, issue: IssueToken, policy: TokenPolicy) -> None:
        self._registry = registry
        self._name = service_account
        self._issue = issue
        self._policy = policy

    def _store(self, plural: str) -> ObjectGetter:
        store = self._registry.store_for("", "v1", plural)
        if store is None:
            raise BadRequest(f"{plural} are not served")
        getter: ObjectGetter = store
        return getter

    async def create(self, namespace: str, obj: JSONDict, ctx: RequestContext, *,
                     validate: Validate = None) -> StoredObject:
        self._check_names(obj, namespace)
        account = (await self._store("serviceaccounts").get(namespace, self._name)).obj
        request = copy.deepcopy(obj)
        spec = request.setdefault("spec", {})
        spec["audiences"] = list(spec.get("audiences") or self._policy.api_audiences)
        spec["expirationSeconds"] = int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION_SECONDS)
        now = ctx.now()
        request["metadata"] = {**(request.get("metadata") or {}), "name": self._name, "namespace": namespace,
                               "creationTimestamp": format_time(now)}
        request.pop("status", None)
        if errors := token_request_errors(spec):
            raise Invalid("TokenRequest", "", [error.to_cause() for error in errors], group=AUTHENTICATION_GROUP)
        if validate is not None:
            await validate(copy.deepcopy(request), None)
        grant = await self._grant(account, spec, namespace, now, ctx)
        token = await self._issue(grant)
        expires = now + timedelta(seconds=spec["expirationSeconds"])
        request["status"] = {"token": token, "expirationTimestamp": format_time(expires)}
        return StoredObject.of(codec.order_object(request))

    def _check_names(self, obj: JSONDict, namespace: str) -> None:
        metadata = obj.get("metadata") or {}
        for field, expected, what in (("name", self._name, "name"), ("namespace", namespace, "namespace")):
            value = metadata.get(field) or ""
            if value and value != expected:
                error = FieldError.invalid(FieldPath("metadata").child(field), value,
                                           f"must match the service account {what} if specified")
                raise Invalid("TokenRequest", self._name, [error.to_cause()], group=AUTHENTICATION_GROUP)

    async def _grant(
        self, account: JSONDict, spec: dict[str, Any], namespace: str, now: datetime, ctx: RequestContext
    ) -> TokenGrant:
        bound = await self._bound_objects(spec.get("boundObjectRef"), namespace)
        maximum = self._policy.max_expiration_seconds
        if maximum and spec["expirationSeconds"] > maximum:
            ctx.warnings.append(
                f"requested expiration of {spec['expirationSeconds']} seconds shortened to {maximum} seconds"
            )
            spec["expirationSeconds"] = maximum
        expiration, warn_after = spec["expirationSeconds"], 0
        if self._extends(bound.get("pod"), spec):
            expiration, warn_after = EXTENDED_EXPIRATION_SECONDS, spec["expirationSeconds"]
        return TokenGrant(account, tuple(spec["audiences"]), expiration, now, warn_after_seconds=warn_after, **bound)

    def _extends(self, pod: JSONDict | None, spec: dict[str, Any]) -> bool:
        audiences = set(self._policy.api_audiences)
        return (self._policy.extend_expiration and pod is not None
                and spec["expirationSeconds"] == WARN_ONLY_EXPIRATION_SECONDS
                and all(audience in audiences for audience in spec["audiences"]))

    async def _bound_objects(self, reference: object, namespace: str) -> dict[str, JSONDict | None]:
        if not isinstance(reference, dict):
            return {}
        kind, name = reference.get("kind") or "", reference.get("name") or ""
        group, _, version = (reference.get("apiVersion") or "").rpartition("/")
        if group == "" and kind == "Pod":
            pod = (await self._store("pods").get(namespace, name)).obj
            if (pod.get("spec") or {}).get("serviceAccountName") != self._name:
                raise BadRequest(f"cannot bind token for serviceaccount {go_quote(self._name)} to pod running with "
                                 "different serviceaccount name.")
            found: dict[str, JSONDict | None] = {"pod": pod, "node": await self._pod_node(pod)}
        elif group == "" and kind == "Node":
            found = {"node": (await self._store("nodes").get("", name)).obj}
        elif group == "" and kind == "Secret":
            found = {"secret": (await self._store("secrets").get(namespace, name)).obj}
        else:
            raise BadRequest(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
        bound = next(value for value in found.values() if value is not None)
        if reference.get("uid") and uid_of(bound) != reference["uid"]:
            raise Conflict(kind, name, f"the UID in the bound object reference ({reference['uid']}) does not match "
                                       "the UID in record. The object might have been deleted and then recreated")
        return found

    async def _pod_node(self, pod: JSONDict) -> JSONDict | None:
        """The Node a Pod runs on, recorded in the token when it exists (a missing Node is not an error)."""
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return None
        try:
            return (await self._store("nodes").get("", node_name)).obj
        except ApiError:  # upstream logs and ignores any failure to read the Node
            return None


def token_request_errors(spec: dict[str, Any]) -> FieldErrors:
    """ValidateTokenRequest: the lifetime is at least ten minutes and at most 2^32 seconds."""
    path = FieldPath("spec").child("expirationSeconds")
    seconds = spec["expirationSeconds"]
    errors: FieldErrors = []
    if seconds < MIN_EXPIRATION_SECONDS:
        errors.append(FieldError.invalid(path, seconds, "may not specify a duration less than 10 minutes"))
    if seconds > MAX_EXPIRATION_SECONDS:
        errors.append(FieldError.invalid(path, seconds, "may not specify a duration larger than 2^32 seconds"))
    return errors
