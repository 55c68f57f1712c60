"""The overview page: server version, health, accessible namespaces, counts and recent Warning events."""
from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.auth import console_view
from console.overview import build_overview
from console.session import ConsoleSession, remember_namespace, remembered_namespaces

# A DNS-1123 label, as namespace names are; anything else is ignored rather than sent to the API.
NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@console_view
async def overview(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    namespace = request.GET.get("namespace", "").strip()
    if namespace and not NAMESPACE_NAME.match(namespace):
        namespace = ""
    candidates = []
    if session.user.service_account is not None:
        candidates.append(session.user.service_account[0])
    candidates += ["default", *await remembered_namespaces(request)]
    if namespace:
        candidates.append(namespace)
    data = await build_overview(session.client, session.transport, candidates=candidates, namespace=namespace)
    if namespace and data.namespaces is not None and namespace in data.namespaces.names:
        await remember_namespace(request, namespace)
    return render(request, "console/overview.html", {"overview": data, "page": "overview"})
