"""The order of the filters, written once, and `build_chain` that wraps the router in them.

FILTERS lists the filters from the outside in, the order a request meets them. It follows kube-apiserver's
DefaultBuildHandlerChain: the audit ID outermost, panic recovery, request info, metrics, cache control and
request timeouts, then the failed-authentication audit around authentication, the audit of authenticated
requests, impersonation, API Priority and Fairness (or the in-flight limits) and authorization innermost.
`build_chain` does not know the router: the server's assembly passes it in as the innermost app.

The security filters need their collaborators: without an `authenticator` there is no authentication filter
(and then no user for impersonation and authorization to act on), without an `authorizer` no impersonation or
authorization, without an audit policy no audit. Only tests of other filters build such chains; the server
always passes all of them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apiserver.audit.backend import AuditBackend
from apiserver.audit.policy import AuditPolicy
from apiserver.auth.authn.requestheader import StrippedHeaders, headers_to_strip
from apiserver.auth.authn.union import RequestAuthenticator
from apiserver.auth.authz.interface import Authorizer
from apiserver.filters.audit import WithAudit, WithAuditID, WithFailedAuthenticationAudit
from apiserver.filters.authentication import WithAuthentication
from apiserver.filters.authorization import WithAuthorization
from apiserver.filters.cachecontrol import WithCacheControl
from apiserver.filters.flowcontrol import FlowControlObjects, WithPriorityAndFairness
from apiserver.filters.flowcontrol_loop import LoopLoad
from apiserver.filters.impersonation import WithImpersonation
from apiserver.filters.inflight import WithMaxInFlightLimit
from apiserver.filters.metrics import WithRequestMetrics
from apiserver.filters.panics import RecoverPanics
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.filters.timeout import WithRequestTimeout
from apiserver.http.asgi import ASGIApp
from apiserver.http.request import user_of


@dataclass(frozen=True, slots=True)
class Filter:
    """One entry of the chain: `factory(app, **options)` builds it; `options` names the keywords it takes."""

    name: str
    factory: Callable[..., ASGIApp]
    options: tuple[str, ...] = ()


def _failed_authentication_audit(
    app: ASGIApp, *, audit_policy: AuditPolicy | None = None, audit_backend: AuditBackend | None = None
) -> ASGIApp:
    if audit_policy is None or audit_backend is None:
        return app
    return WithFailedAuthenticationAudit(app, policy=audit_policy, backend=audit_backend)


def _authentication(
    app: ASGIApp, *, authenticator: RequestAuthenticator | None = None, strip_headers: StrippedHeaders | None = None
) -> ASGIApp:
    if authenticator is None:
        return app
    return WithAuthentication(app, authenticator=authenticator, strip=strip_headers or headers_to_strip(None))


def _audit(
    app: ASGIApp, *, audit_policy: AuditPolicy | None = None, audit_backend: AuditBackend | None = None
) -> ASGIApp:
    if audit_policy is None or audit_backend is None:
        return app
    return WithAudit(app, policy=audit_policy, backend=audit_backend, user_of=user_of)


def _impersonation(app: ASGIApp, *, authorizer: Authorizer | None = None) -> ASGIApp:
    return app if authorizer is None else WithImpersonation(app, authorize=authorizer.authorize)


def _flow_control(
    app: ASGIApp, *, max_requests_inflight: int = 400, max_mutating_requests_inflight: int = 200,
    flow_control_objects: FlowControlObjects | None = None, flow_control_wait_limit: float = 15.0,
    flow_control_loop_load: LoopLoad | None = None,
) -> ASGIApp:
    """API Priority and Fairness when the server passes its FlowSchemas (--enable-priority-and-fairness, the
    default), else upstream's max-in-flight limits."""
    if flow_control_objects is None:
        return WithMaxInFlightLimit(app, max_requests_inflight=max_requests_inflight,
                                    max_mutating_requests_inflight=max_mutating_requests_inflight)
    return WithPriorityAndFairness(app, objects=flow_control_objects, wait_limit=flow_control_wait_limit,
                                   server_limit=max(1, max_requests_inflight + max_mutating_requests_inflight),
                                   loop_load=flow_control_loop_load)


def _authorization(app: ASGIApp, *, authorizer: Authorizer | None = None) -> ASGIApp:
    return app if authorizer is None else WithAuthorization(app, authorizer=authorizer)


_AUDIT_OPTIONS = ("audit_policy", "audit_backend")

FILTERS: tuple[Filter, ...] = (
    Filter("auditid", WithAuditID),
    Filter("panics", RecoverPanics),
    Filter("requestinfo", WithRequestInfo),
    Filter("metrics", WithRequestMetrics, options=("metrics", "served_resource")),
    Filter("cachecontrol", WithCacheControl),
    Filter("timeout", WithRequestTimeout, options=("request_timeout",)),
    Filter("failedauthenticationaudit", _failed_authentication_audit, options=_AUDIT_OPTIONS),
    Filter("authentication", _authentication, options=("authenticator", "strip_headers")),
    Filter("audit", _audit, options=_AUDIT_OPTIONS),
    Filter("impersonation", _impersonation, options=("authorizer",)),
    Filter("inflight", _flow_control, options=("max_requests_inflight", "max_mutating_requests_inflight",
                                               "flow_control_objects", "flow_control_wait_limit",
                                               "flow_control_loop_load")),
    Filter("authorization", _authorization, options=("authorizer",)),
)


def build_chain(app: ASGIApp, **options: object) -> ASGIApp:
    """Wrap `app` in every filter of FILTERS, handing each the options it declares.

    Raises TypeError for an option no filter takes, so a misspelt setting fails at start-up.
    """
    known = {option for entry in FILTERS for option in entry.options}
    if unknown := sorted(set(options) - known):
        raise TypeError(f"no filter takes option(s): {', '.join(unknown)}")
    for entry in reversed(FILTERS):
        app = entry.factory(app, **{name: options[name] for name in entry.options if name in options})
    return app
