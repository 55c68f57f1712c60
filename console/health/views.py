"""The Health page view: the panels as the logged-in user; `?fragment=panels` returns the panels alone (the page's
script swaps them in every few seconds)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.auth import console_view
from console.health.report import fetch_health_page
from console.session import ConsoleSession

REFRESH_SECONDS = 10
PAGE_TEMPLATE = "console/health.html"
PANELS_TEMPLATE = "console/health_panels.html"


@console_view
async def health(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    page = await fetch_health_page(session.transport)
    template = PANELS_TEMPLATE if request.GET.get("fragment") == "panels" else PAGE_TEMPLATE
    context = {"health": page, "page": "health", "refresh_seconds": REFRESH_SECONDS}
    return render(request, template, context, status=page.status if page.error else 200)
