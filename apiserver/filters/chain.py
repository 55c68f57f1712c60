"""The order of the filters, written once, and `build_chain` that wraps the router in them.

FILTERS lists the filters from the outside in, the order a request meets them. It follows kube-apiserver's
DefaultBuildHandlerChain: panic recovery outermost, then request info, cache control and request timeouts,
with the filters still to come (in-flight limits, authentication, impersonation, audit, authorization)
inserted further in, at their upstream positions. `build_chain` does not know the router: the server's
assembly passes it in as the innermost app.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apiserver.filters.cachecontrol import WithCacheControl
from apiserver.filters.metrics import WithRequestMetrics
from apiserver.filters.panics import RecoverPanics
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.filters.timeout import WithRequestTimeout
from apiserver.http.asgi import ASGIApp


@dataclass(frozen=True, slots=True)
class Filter:
    """One entry of the chain: `factory(app, **options)` builds it; `options` names the keywords it takes."""

    name: str
    factory: Callable[..., ASGIApp]
    options: tuple[str, ...] = ()


FILTERS: tuple[Filter, ...] = (
    Filter("panics", RecoverPanics),
    Filter("requestinfo", WithRequestInfo),
    Filter("metrics", WithRequestMetrics, options=("metrics", "served_resource")),
    Filter("cachecontrol", WithCacheControl),
    Filter("timeout", WithRequestTimeout, options=("request_timeout",)),
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
