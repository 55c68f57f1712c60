"""Kubernetes' authorizer library (apiserver/pkg/cel/library/authz.go) for ValidatingAdmissionPolicy.

`authorizer.group(g).resource(r).subresource(s).namespace(n).name(x).check(verb)` and
`authorizer.path(p).check(verb)` build attributes and ask the request's `Authorizer`; the decision answers
`allowed()`, `reason()`, `errored()`, `error()`. `authorizer.serviceAccount(ns, name)` asks for another user.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.types import BOOL, STRING, opaque

AUTHORIZER_TYPE: Final = opaque("kubernetes.authorization.Authorizer")
PATH_CHECK_TYPE: Final = opaque("kubernetes.authorization.PathCheck")
GROUP_CHECK_TYPE: Final = opaque("kubernetes.authorization.GroupCheck")
RESOURCE_CHECK_TYPE: Final = opaque("kubernetes.authorization.ResourceCheck")
DECISION_TYPE: Final = opaque("kubernetes.authorization.Decision")


@runtime_checkable
class Authorizer(Protocol):
    """Answers one authorization question for the request's user.

    `attributes` holds `verb`, and either `path`, or `group`, `resource`, `subresource`, `namespace`, `name`
    (and `serviceAccountNamespace`/`serviceAccountName` after `serviceAccount(...)`). Returns the decision
    (`"allow"`, `"deny"` or `"noOpinion"`), its reason and an error text (empty when none). Synchronous.

    An authorizer may also carry `request_resource`: the attributes (`group`, `resource`, `subresource`,
    `namespace`, `name`) of the request being admitted, which `authorizer.requestResource` starts from.
    """

    def check(self, attributes: Mapping[str, str]) -> tuple[str, str, str]: ...


@dataclass(frozen=True, slots=True)
class _Scoped:
    authorizer: Any
    service_account: tuple[str, str] | None = None
    cel_type: ClassVar = AUTHORIZER_TYPE


@dataclass(frozen=True, slots=True)
class _Check:
    scoped: _Scoped
    attributes: tuple[tuple[str, str], ...]
    cel_type: ClassVar = RESOURCE_CHECK_TYPE

    def with_attribute(self, key: str, value: str) -> _Check:
        return replace(self, attributes=(*[item for item in self.attributes if item[0] != key], (key, value)))


@dataclass(frozen=True, slots=True)
class _PathCheck(_Check):
    cel_type: ClassVar = PATH_CHECK_TYPE


@dataclass(frozen=True, slots=True)
class _GroupCheck(_Check):
    cel_type: ClassVar = GROUP_CHECK_TYPE


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str
    reason: str
    error: str
    cel_type: ClassVar = DECISION_TYPE


# Fields of the authorizer type (`authorizer.requestResource`).
AUTHORIZER_FIELDS: Final = {"requestResource": RESOURCE_CHECK_TYPE}
_REQUEST_ATTRIBUTES: Final = ("group", "resource", "subresource", "namespace", "name")


def select_field(value: Any, field: str) -> Any:
    """`authorizer.requestResource`: a resource check pre-filled with the admitted request's attributes."""
    scoped = _scoped(value)
    if field != "requestResource":
        raise EvaluationError(f"no such key: {field}")
    request = getattr(scoped.authorizer, "request_resource", None) or {}
    return _Check(scoped, tuple((key, str(request.get(key, ""))) for key in _REQUEST_ATTRIBUTES))


def _scoped(value: Any) -> _Scoped:
    return value if isinstance(value, _Scoped) else _Scoped(value)


def _check(check: _Check, verb: str) -> Decision:
    attributes = dict(check.attributes)
    attributes["verb"] = verb
    if check.scoped.service_account is not None:
        attributes["serviceAccountNamespace"], attributes["serviceAccountName"] = check.scoped.service_account
    decision, reason, error = check.scoped.authorizer.check(attributes)
    return Decision(decision, reason, error)


def _for_service_account(authorizer: Any, namespace: str, name: str) -> _Scoped:
    return _Scoped(_scoped(authorizer).authorizer, (namespace, name))






def authz_library(library: Library) -> None:
    add(library, "path", overload("authorizer_path", (AUTHORIZER_TYPE, STRING), PATH_CHECK_TYPE,
                                  lambda a, p: _PathCheck(_scoped(a), (("path", p),)), member=True))
    add(library, "group", overload("authorizer_group", (AUTHORIZER_TYPE, STRING), GROUP_CHECK_TYPE,
                                   lambda a, g: _GroupCheck(_scoped(a), (("group", g),)), member=True))
    add(library, "serviceAccount", overload("authorizer_serviceaccount", (AUTHORIZER_TYPE, STRING, STRING),
                                            AUTHORIZER_TYPE,
                                            _for_service_account, member=True))
    add(library, "resource", overload("groupcheck_resource", (GROUP_CHECK_TYPE, STRING), RESOURCE_CHECK_TYPE,
                                      lambda c, r: _Check(c.scoped, c.attributes).with_attribute("resource", r),
                                      member=True))
    for name in ("subresource", "namespace", "name"):
        add(library, name, overload(f"resourcecheck_{name}", (RESOURCE_CHECK_TYPE, STRING), RESOURCE_CHECK_TYPE,
                                    lambda c, v, key=name: c.with_attribute(key, v), member=True))
    add(library, "check",
        overload("pathcheck_check", (PATH_CHECK_TYPE, STRING), DECISION_TYPE, _check, member=True),
        overload("resourcecheck_check", (RESOURCE_CHECK_TYPE, STRING), DECISION_TYPE, _check, member=True))
    add(library, "allowed", overload("decision_allowed", (DECISION_TYPE,), BOOL,
                                     lambda d: d.decision == "allow", member=True))
    add(library, "reason", overload("decision_reason", (DECISION_TYPE,), STRING, lambda d: d.reason, member=True))
    add(library, "errored", overload("decision_errored", (DECISION_TYPE,), BOOL, lambda d: d.error != "", member=True))
    add(library, "error", overload("decision_error", (DECISION_TYPE,), STRING, lambda d: d.error, member=True))
