"""The Events stream view: filters from the query string, the first rows, then live.js keeps the table current."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.auth import console_view
from console.events.data import LIMIT, TYPES, EventFilters, build_events
from console.session import ConsoleSession


@console_view
async def events(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    filters = EventFilters.from_query(request.GET)
    page = await build_events(session.transport, filters)
    return render(request, "console/events.html", {"events": page, "types": TYPES, "limit": LIMIT,
                                                   "page": "events"})
