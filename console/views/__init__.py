"""Console views: one module per page family. For now only the placeholder landing page."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    """A placeholder until the console's pages arrive."""
    return render(request, "console/base.html")
