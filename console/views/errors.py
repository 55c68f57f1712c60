"""Error pages the console renders itself."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (missing or wrong CSRF token, foreign Origin): explain, change nothing."""
    return render(request, "console/csrf_failure.html", {"reason": reason}, status=403)
