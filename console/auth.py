"""`console_view`: every console page except login requires a live session; anonymous → the login page."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from console.session import ConsoleSession, current_session

LOGIN_URL = "/console/login/"

View = Callable[..., Awaitable[HttpResponse]]


def console_view(view: Callable[..., Awaitable[HttpResponse]]) -> View:
    """Runs `view(request, session, ...)` with the request's session, or redirects to login with `next`."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        session: ConsoleSession | None = await current_session(request)
        if session is None:
            return HttpResponseRedirect(f"{LOGIN_URL}?{urlencode({'next': request.get_full_path()})}")
        request.console = session  # type: ignore[attr-defined]  # the templates' header reads it
        response = await view(request, session, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapper


def safe_next(value: str | None) -> str:
    """A post-login destination inside the console only (no open redirect)."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"
