"""RBAC list and detail pages and the binding editor (views stay thin: data comes from the modules beside)."""
from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render

from apiserver.client.client import ApiClient, Resource
from apiserver.meta.errors import ApiError, NotFound
from console.auth import console_view
from console.rbac.bindings import (
    COMMON_GROUPS,
    KINDS,
    ROLE_KINDS,
    SUBJECT_KINDS,
    BindingForm,
    SaveResult,
    form_from_binding,
    form_from_post,
    save_binding,
    subject_rows,
)
from console.rbac.listing import binding_row, binding_url, bindings_referring_to, rbac_lists, role_row
from console.rbac.policy import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
    fetch_policy,
    get_named,
    name_of,
)
from console.session import ConsoleSession

NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)


def namespace_parameter(request: HttpRequest, key: str = "namespace") -> str:
    value = str(request.GET.get(key) or request.POST.get(key) or "").strip()
    return value if NAMESPACE_NAME.match(value) else ""


@console_view
async def rbac_index(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    namespace = namespace_parameter(request)
    lists = rbac_lists(await fetch_policy(session.client, namespace))
    return render(request, "console/rbac.html", {"page": "rbac", "lists": lists, "namespace": namespace})


@console_view
async def role_detail(request: HttpRequest, session: ConsoleSession, name: str, namespace: str = "") -> HttpResponse:
    kind, resource = ("Role", ROLES) if namespace else ("ClusterRole", CLUSTER_ROLES)
    try:
        role = await get_named(session.transport, resource, name, namespace)
    except NotFound as error:
        raise Http404(error.message) from None
    except ApiError as error:
        return _forbidden(request, f"{kind} {name}", error)
    policy = await fetch_policy(session.client, namespace, namespaced=bool(namespace))
    return render(request, "console/rbac_role.html", {
        "page": "rbac", "role": role_row(kind, role), "bindings": bindings_referring_to(policy, kind, namespace, name),
        "denied": policy.denied})


@console_view
async def binding_detail(request: HttpRequest, session: ConsoleSession, name: str,
                         namespace: str = "") -> HttpResponse:
    kind, resource = ("RoleBinding", ROLE_BINDINGS) if namespace else ("ClusterRoleBinding", CLUSTER_ROLE_BINDINGS)
    try:
        binding = await get_named(session.transport, resource, name, namespace)
    except NotFound as error:
        raise Http404(error.message) from None
    except ApiError as error:
        return _forbidden(request, f"{kind} {name}", error)
    return render(request, "console/rbac_binding.html", {
        "page": "rbac", "binding": binding_row(kind, binding), "uid": (binding.get("metadata") or {}).get("uid"),
        "saved": request.GET.get("saved", "")})


def _forbidden(request: HttpRequest, what: str, error: ApiError) -> HttpResponse:
    return render(request, "console/rbac_forbidden.html", {"page": "rbac", "what": what, "message": error.message},
                  status=error.code)


@console_view
async def binding_edit(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    """GET: a new binding (or `?kind=&namespace=&name=` to edit one); POST: save it (see bindings.py)."""
    if request.method == "POST":
        form = form_from_post(request.POST, request.POST.getlist)
        if form.problems:
            return await _editor(request, session, form, status=400)
        result = await save_binding(session.client, form)
        if result.ok:
            url = binding_url(form.kind, form.namespace, form.name)
            return HttpResponseRedirect(f"{url}?saved={result.action}")
        return await _editor(request, session, form, result=result, status=_status(result))
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    kind = request.GET.get("kind", "")
    name = request.GET.get("name", "")
    namespace = namespace_parameter(request)
    form = BindingForm(namespace=namespace or "default")
    if kind in KINDS and name:
        resource = ROLE_BINDINGS if kind == "RoleBinding" else CLUSTER_ROLE_BINDINGS
        try:
            form = form_from_binding(await get_named(session.transport, resource, name, namespace))
        except ApiError as error:
            return _forbidden(request, f"{kind} {name}", error)
    elif kind in KINDS:
        form.kind = kind
    return await _editor(request, session, form)


def _status(result: SaveResult) -> int:
    return 403 if result.missing or "forbidden" in result.error else 422


async def _editor(request: HttpRequest, session: ConsoleSession, form: BindingForm, *,
                  result: SaveResult | None = None, status: int = 200) -> HttpResponse:
    choices = await _choices(session.client, form.namespace)
    return render(request, "console/rbac_binding_edit.html", {
        "page": "rbac", "form": form, "result": result, "rows": subject_rows(form.subjects),
        "kinds": KINDS, "role_kinds": ROLE_KINDS, "subject_kinds": SUBJECT_KINDS, "groups": COMMON_GROUPS,
        **choices}, status=status)


async def _names(client: ApiClient, resource: Resource, namespace: str = "") -> tuple[list[Any], str]:
    try:
        answer = await client.list(resource, namespace=namespace)
    except ApiError as error:
        return [], error.message
    return list(answer.get("items") or ()), ""


async def _choices(client: ApiClient, namespace: str) -> dict[str, Any]:
    """The pickers' options: ClusterRoles, Roles of the namespace, ServiceAccounts and namespaces the user may
    list (all namespaces' ServiceAccounts when allowed, else the binding's namespace only)."""
    cluster_roles, cluster_roles_denied = await _names(client, CLUSTER_ROLES)
    roles, roles_denied = await _names(client, ROLES, namespace) if namespace else ([], "")
    accounts, accounts_denied = await _names(client, SERVICE_ACCOUNTS)
    if accounts_denied and namespace:
        accounts, accounts_denied = await _names(client, SERVICE_ACCOUNTS, namespace)
    namespaces, _ = await _names(client, NAMESPACES)
    return {
        "cluster_role_names": sorted(name_of(item) for item in cluster_roles),
        "role_names": sorted(name_of(item) for item in roles),
        "service_accounts": sorted(f"{(item.get('metadata') or {}).get('namespace')}/{name_of(item)}"
                                   for item in accounts),
        "namespace_names": sorted(name_of(item) for item in namespaces),
        "picker_denied": [message for message in (cluster_roles_denied, roles_denied, accounts_denied) if message],
    }
