"""Overload protection: `--max-requests-inflight` and `--max-mutating-requests-inflight`.

Upstream: WithMaxInFlightLimit (k8s.io/apiserver/pkg/server/filters/maxinflight.go), which kube-apiserver runs
when API Priority and Fairness is off (`--enable-priority-and-fairness=false`; flowcontrol.py otherwise). Reads
(get, list, watch) and writes have separate budgets; a limit of 0 means unlimited. A request over its budget is
answered at once with Go's plain-text 429 "Too many requests, please try again later." and `Retry-After: 1`.
Long-running requests (watches, logs, exec, proxy) are never counted, and neither are members of `system:masters`
(the admin and the server's own loopback clients must always get through); the user is the one impersonation
settled on, as upstream's filter sees it.
"""
from __future__ import annotations

from apiserver.auth.user import SYSTEM_MASTERS
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import request_info_of, user_of
from apiserver.http.responses import send_plain_error

TOO_MANY_REQUESTS = "Too many requests, please try again later."
RETRY_AFTER = (b"retry-after", b"1")
READ_ONLY_VERBS = frozenset({"get", "list", "watch"})


class WithMaxInFlightLimit:
    """Reject requests over the in-flight limits with 429; never limit long-running ones."""

    def __init__(
        self, app: ASGIApp, *, max_requests_inflight: int = 400, max_mutating_requests_inflight: int = 200
    ) -> None:
        if max_requests_inflight < 0 or max_mutating_requests_inflight < 0:
            raise ValueError("in-flight limits must not be negative")
        self.app = app
        self._readonly = _Budget(max_requests_inflight)
        self._mutating = _Budget(max_mutating_requests_inflight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        info = request_info_of(scope)
        if info.is_long_running or _is_privileged(scope):
            return await self.app(scope, receive, send)
        budget = self._readonly if info.verb in READ_ONLY_VERBS else self._mutating
        if not budget.try_take():
            return await send_plain_error(send, 429, TOO_MANY_REQUESTS, headers=[RETRY_AFTER])
        try:
            await self.app(scope, receive, send)
        finally:
            budget.give_back()


def _is_privileged(scope: Scope) -> bool:
    user = user_of(scope)
    return user is not None and SYSTEM_MASTERS in user.groups


class _Budget:
    """A count of requests in flight against a limit (0: unlimited). Event-loop confined, so no lock."""

    __slots__ = ("_in_flight", "_limit")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_flight = 0

    def try_take(self) -> bool:
        if self._limit and self._in_flight >= self._limit:
            return False
        self._in_flight += 1
        return True

    def give_back(self) -> None:
        self._in_flight -= 1

