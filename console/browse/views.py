"""Resource pages: the discovery index, a type's list, an object's detail, and the palette's JSON."""
from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from console.auth import console_view
from console.browse.detail import DEPENDENT_LIMIT, fetch_detail
from console.browse.discovery import CORE, Catalog, ResourceType, fetch_catalog
from console.browse.kubectl import list_command
from console.browse.listing import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, fetch_listing
from console.browse.palette import palette_entries
from console.overview import NamespaceAccess, accessible_namespaces
from console.session import ConsoleSession, remember_namespace, remembered_namespaces

# A DNS-1123 label, as namespace names are; anything else is ignored rather than sent to the API.
NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PAGE_SIZES = (25, 50, 100, 250, 500)


@console_view
async def index(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    catalog = await fetch_catalog(session.transport)
    namespace = _namespace_param(request)
    return render(request, "console/resources.html", {
        "catalog": catalog, "namespace": namespace, "page": "resources"})


@console_view
async def resource_list(request: HttpRequest, session: ConsoleSession, group: str, version: str,
                        plural: str) -> HttpResponse:
    catalog = await fetch_catalog(session.transport)
    resource_type = _resolve(catalog, group, version, plural)
    if resource_type is None:
        return _not_served(request, catalog, group, version, plural)
    access: NamespaceAccess | None = None
    all_namespaces = resource_type.namespaced and request.GET.get("all") == "1"
    namespace = ""
    if resource_type.namespaced:
        requested = _namespace_param(request)
        access = await accessible_namespaces(session.client, await _candidates(request, session, requested))
        namespace = requested or _default_namespace(access)
        if requested and requested in access.names:
            await remember_namespace(request, requested)
    query = ListQuery(namespace="" if all_namespaces else namespace, all_namespaces=all_namespaces,
                      label_selector=request.GET.get("labelSelector", "").strip(),
                      name=request.GET.get("name", "").strip(), limit=_limit(request.GET.get("limit", "")),
                      continue_token=request.GET.get("continue", ""), sort=request.GET.get("sort", ""),
                      descending=request.GET.get("desc") == "1", wide=request.GET.get("wide") == "1")
    listing = await fetch_listing(session.transport, resource_type, query)
    listing.kubectl = list_command(resource_type, query)
    status = listing.error_code if listing.error_code in (400, 403, 404, 410) else 200
    return render(request, "console/resources_list.html", {
        "listing": listing, "type": resource_type, "query": query, "access": access, "namespace": namespace,
        "page_sizes": sorted({*PAGE_SIZES, query.limit}), "page": "resources"}, status=status)


@console_view
async def resource_detail(request: HttpRequest, session: ConsoleSession, group: str, version: str, plural: str,
                          name: str) -> HttpResponse:
    catalog = await fetch_catalog(session.transport)
    resource_type = _resolve(catalog, group, version, plural)
    if resource_type is None:
        return _not_served(request, catalog, group, version, plural)
    namespace = (_namespace_param(request) or "default") if resource_type.namespaced else ""
    detail = await fetch_detail(session.client, session.transport, catalog, resource_type, name, namespace)
    status = detail.error_code if detail.error_code in (403, 404) else 200
    return render(request, "console/resources_detail.html", {
        "detail": detail, "type": resource_type, "namespace": namespace, "dependent_limit": DEPENDENT_LIMIT,
        "page": "resources"}, status=status)


@console_view
async def palette(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    catalog = await fetch_catalog(session.transport)
    access = await accessible_namespaces(session.client, await _candidates(request, session, ""))
    return JsonResponse(palette_entries(catalog, access.names))


def _resolve(catalog: Catalog, group: str, version: str, plural: str) -> ResourceType | None:
    return catalog.find("" if group == CORE else group, version, plural)


def _not_served(request: HttpRequest, catalog: Catalog, group: str, version: str, plural: str) -> HttpResponse:
    return render(request, "console/resources.html", {
        "catalog": catalog, "namespace": _namespace_param(request), "page": "resources",
        "missing": f"{plural}.{version}.{group}"}, status=404)


def _namespace_param(request: HttpRequest) -> str:
    namespace = request.GET.get("namespace", "").strip()
    return namespace if NAMESPACE_NAME.match(namespace) else ""


async def _candidates(request: HttpRequest, session: ConsoleSession, requested: str) -> list[str]:
    candidates = []
    if session.user.service_account is not None:
        candidates.append(session.user.service_account[0])
    candidates += ["default", *await remembered_namespaces(request)]
    if requested:
        candidates.append(requested)
    return candidates


def _default_namespace(access: NamespaceAccess) -> str:
    if "default" in access.names or not access.names:
        return "default"
    return access.names[0]


def _limit(value: str) -> int:
    try:
        return min(max(int(value), 1), MAX_LIMIT)
    except ValueError:
        return DEFAULT_LIMIT
