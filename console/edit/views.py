"""The editor, create and delete pages (thin: the modules beside this one do the work, as the user).

URLs name the resource as discovery does: `/console/edit/<group or "core">/<version>/<plural>/<name>/?namespace=`
and the same under `/console/delete/`; `/console/create/` takes pasted or uploaded YAML. Every POST is a Django
form with its CSRF token (the middleware refuses any other).
"""
from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect

from console.auth import console_view
from console.edit import editor
from console.edit.apply import PROPAGATION_POLICIES
from console.edit.create import ERROR, ObjectResult, apply_documents
from console.edit.deletion import delete_object
from console.edit.documents import MAX_YAML_BYTES, YAMLError
from console.edit.editor import EditTarget
from console.edit.resolver import DiscoveryFailed, KindResolver, UnknownKind
from console.session import ConsoleSession

# A DNS-1123 label, as namespace names are; anything else is refused rather than sent to the API.
NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
EDIT_TEMPLATE = "console/edit.html"
DELETE_TEMPLATE = "console/edit_delete.html"
CREATE_TEMPLATE = "console/create.html"


class BadTarget(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def edit_url(target: EditTarget, action: str = "edit") -> str:
    """The console URL of `target`'s editor (or its delete page, with action="delete")."""
    resource = target.kind.resource
    query = f"?{urlencode({'namespace': target.namespace})}" if target.namespace else ""
    name = quote(target.name, safe=":@")
    return f"/console/{action}/{target.group_segment}/{resource.version}/{resource.plural}/{name}/{query}"


async def _target(request: HttpRequest, session: ConsoleSession, group: str, version: str, plural: str,
                  name: str) -> EditTarget:
    try:
        kind = await KindResolver(session.transport).by_plural("" if group == "core" else group, version, plural)
    except UnknownKind as error:
        raise BadTarget(str(error), 404) from None
    except DiscoveryFailed as error:
        raise BadTarget(error.problem.message, error.problem.code) from None
    namespace = request.GET.get("namespace", "") if kind.resource.namespaced else ""
    if kind.resource.namespaced and not NAMESPACE_NAME.match(namespace):
        raise BadTarget(f"{plural} are namespaced: name a valid namespace (?namespace=…)", 400)
    return EditTarget(kind, namespace, name)


async def _requested_target(request: HttpRequest, session: ConsoleSession, group: str, version: str, plural: str,
                            name: str) -> EditTarget | HttpResponse:
    """The object a GET or POST of the editor or delete page names, or the answer when there is none."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        return await _target(request, session, group, version, plural, name)
    except BadTarget as error:
        return render(request, EDIT_TEMPLATE, {"page": "resources", "target_error": str(error)}, status=error.status)


@console_view
@csrf_protect
async def edit(request: HttpRequest, session: ConsoleSession, group: str, version: str, plural: str,
               name: str) -> HttpResponse:
    target = await _requested_target(request, session, group, version, plural, name)
    if isinstance(target, HttpResponse):
        return target
    status = 200
    if request.method == "GET":
        page = await editor.open_editor(session.transport, target)
        status = page.problem.code if page.problem is not None else 200
    else:
        action = request.POST.get("action", "")
        if action not in editor.ACTIONS:
            action = editor.DRY_RUN
        page = await editor.submit(session.transport, target, request.POST.get("yaml", ""), action,
                                   force_confirmed=request.POST.get("confirm_force") == "yes")
    context = {"page": "resources", "editor": page, "form_url": edit_url(target),
               "delete_url": edit_url(target, "delete")}
    return render(request, EDIT_TEMPLATE, context, status=status)


@console_view
@csrf_protect
async def delete(request: HttpRequest, session: ConsoleSession, group: str, version: str, plural: str,
                 name: str) -> HttpResponse:
    target = await _requested_target(request, session, group, version, plural, name)
    if isinstance(target, HttpResponse):
        return target
    context: dict[str, object] = {"page": "resources", "target": target, "policies": PROPAGATION_POLICIES,
                                  "form_url": edit_url(target, "delete"), "edit_url": edit_url(target)}
    if request.method == "POST":
        propagation = request.POST.get("propagationPolicy", "Background")
        if propagation not in PROPAGATION_POLICIES:
            propagation = "Background"
        context["outcome"] = await delete_object(session.transport, target, propagation)
    return render(request, DELETE_TEMPLATE, context)


@console_view
@csrf_protect
async def create(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    namespace = request.POST.get("namespace", "").strip() or "default"
    context: dict[str, object] = {"page": "create", "namespace": namespace, "text": "",
                                  "max_bytes": MAX_YAML_BYTES}
    if request.method == "GET":
        return render(request, CREATE_TEMPLATE, context)
    dry_run = request.POST.get("action") == "dry-run"
    context["dry_run"] = dry_run
    try:
        text = await _submitted_yaml(request)
        context["text"] = text
        if not NAMESPACE_NAME.match(namespace):
            raise YAMLError(f"{namespace!r} is not a valid namespace name")
        results = await apply_documents(session.transport, text, namespace=namespace, dry_run=dry_run)
    except YAMLError as error:
        context["error"] = str(error)
        return render(request, CREATE_TEMPLATE, context, status=400)
    context["rows"] = [(result, _result_link(result, dry_run)) for result in results]
    if not results:
        context["error"] = "The YAML holds no objects."
    return render(request, CREATE_TEMPLATE, context)


def _result_link(result: ObjectResult, dry_run: bool) -> str:
    """The editor of an object the create stored ("" for errors and dry-runs)."""
    if result.target is None or result.outcome == ERROR or dry_run:
        return ""
    return edit_url(EditTarget(result.target, result.namespace, result.name))


async def _submitted_yaml(request: HttpRequest) -> str:
    """The uploaded file when one was chosen, else the pasted text."""
    upload = request.FILES.get("file")
    if upload is None:
        return request.POST.get("yaml", "")
    if upload.size is not None and upload.size > MAX_YAML_BYTES:
        raise YAMLError(f"the file is larger than {MAX_YAML_BYTES} bytes")
    try:
        return upload.read().decode("utf-8")
    except UnicodeDecodeError:
        raise YAMLError("the file is not UTF-8 text") from None
