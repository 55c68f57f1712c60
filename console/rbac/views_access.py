"""who-can, the access matrix and can-i pages. All three are questions (GET forms): nothing is changed."""
from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apiserver.client.transports import Transport
from console.auth import console_view
from console.rbac.access import COMMON_RESOURCES, MATRIX_VERBS, access_matrix, can_i, custom_resources
from console.rbac.listing import binding_url, role_url, subject_link
from console.rbac.policy import fetch_policy, who_can
from console.rbac.rules import AUTHENTICATED, Request, Subject, parse_resource, service_account_user
from console.rbac.views import namespace_parameter
from console.session import ConsoleSession

VERB = re.compile(r"^[a-z*]{1,32}$")
NON_RBAC_NOTE = ("Only RBAC is visible here: members of system:masters may do everything without any binding, and "
                 "other authorizers (Node, webhooks) are not RBAC objects the console can list.")


async def resolve_group(transport: Transport, resource: str) -> str:
    """The API group of a bare resource name (core first, then the common and the custom resources)."""
    for group, plural, _ in COMMON_RESOURCES:
        if plural.split("/")[0] == resource:
            return group
    for group, plural, _ in await custom_resources(transport):
        if plural == resource:
            return group
    return ""


async def request_from_query(request: HttpRequest, session: ConsoleSession) -> Request | None:
    """The asked question, or None when the form is empty or the verb is not a verb."""
    verb = request.GET.get("verb", "").strip().lower()
    target = request.GET.get("resource", "").strip()
    if not verb or not target or not VERB.match(verb):
        return None
    namespace = namespace_parameter(request)
    if target.startswith("/"):
        return Request(verb, path=target)
    resource, group, subresource = parse_resource(target)
    if "." not in target.split("/")[0]:
        group = await resolve_group(session.transport, resource)
    return Request(verb, resource, group, subresource, request.GET.get("name", "").strip(), namespace)


@console_view
async def who_can_page(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    question = await request_from_query(request, session)
    context = {"page": "rbac", "question": question, "form": request.GET, "note": NON_RBAC_NOTE}
    if question is not None:
        policy = await fetch_policy(session.client, question.namespace, namespaced=bool(question.namespace))
        grants = who_can(policy, question)
        context["grants"] = [{
            "subject": subject_link(grant.subject),
            "binding": (grant.binding_kind, grant.binding_namespace, grant.binding_name,
                        binding_url(grant.binding_kind, grant.binding_namespace, grant.binding_name)),
            "role": (grant.role_kind, grant.role_name,
                     role_url(grant.role_kind, grant.binding_namespace, grant.role_name)),
            "rules": grant.rules} for grant in grants]
        context["denied"] = policy.denied
    return render(request, "console/rbac_whocan.html", context)


@console_view
async def can_i_page(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    question = await request_from_query(request, session)
    answer = await can_i(session.client, question) if question is not None else None
    return render(request, "console/rbac_cani.html", {"page": "rbac", "question": question, "answer": answer,
                                                      "form": request.GET})


def subject_from_query(request: HttpRequest) -> tuple[Subject, str] | None:
    kind = request.GET.get("kind", "")
    name = request.GET.get("name", "").strip()
    if not name:
        return None
    if kind == "ServiceAccount":
        namespace = namespace_parameter(request, "subject_namespace")
        if "/" in name and not namespace:
            namespace, name = name.split("/", 1)
        return (service_account_user(namespace, name), f"ServiceAccount {namespace}/{name}") if namespace else None
    if kind == "Group":
        return Subject("", (name,)), f"Group {name}"
    groups = tuple(group.strip() for group in request.GET.get("groups", "").split(",") if group.strip())
    return Subject(name, (*groups, AUTHENTICATED)), f"User {name}"


@console_view
async def matrix_page(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    subject = subject_from_query(request)
    namespace = namespace_parameter(request)
    matrix = None
    if subject is not None:
        matrix = await access_matrix(session.client, session.transport, subject[0], subject[1], namespace)
    return render(request, "console/rbac_matrix.html", {"page": "rbac", "matrix": matrix, "form": request.GET,
                                                        "verbs": MATRIX_VERBS, "note": NON_RBAC_NOTE})
