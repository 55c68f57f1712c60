"""ServiceAccount pages. Mutations are POST forms with CSRF (Django's middleware); tokens are never stored."""
from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render

from apiserver.meta.errors import ApiError
from console.accounts.accounts import account_detail, create_account, list_accounts, revoke_secret
from console.accounts.tokens import issue_token, kubeconfig, root_ca
from console.auth import console_view
from console.rbac.views import NAMESPACE_NAME, namespace_parameter
from console.session import ConsoleSession

BOUND_TOKENS_NOTE = ("Tokens issued here are bound tokens: they expire, and they stop working as soon as the "
                     "ServiceAccount is deleted (deleting the ServiceAccount invalidates every token it was issued).")
DEFAULT_EXPIRATION = 3600
TOKEN_TEMPLATE = "console/accounts_token.html"


def _account_url(namespace: str, name: str) -> str:
    return f"/console/serviceaccounts/{namespace}/{name}/"


@console_view
async def account_list(request: HttpRequest, session: ConsoleSession) -> HttpResponse:
    namespace = namespace_parameter(request)
    error = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        target = namespace or "default"
        try:
            await create_account(session.client, target, name)
        except ApiError as failure:
            error = failure.message
        else:
            return HttpResponseRedirect(_account_url(target, name) + "?created=1")
    listing = await list_accounts(session.client, namespace)
    return render(request, "console/accounts.html", {"page": "serviceaccounts", "listing": listing,
                                                     "namespace": namespace, "error": error,
                                                     "note": BOUND_TOKENS_NOTE}, status=403 if error else 200)


def _valid(namespace: str, name: str) -> bool:
    return bool(NAMESPACE_NAME.match(namespace)) and 0 < len(name) <= 253 and "/" not in name


@console_view
async def account_page(request: HttpRequest, session: ConsoleSession, namespace: str, name: str) -> HttpResponse:
    if not _valid(namespace, name):
        return HttpResponse("Invalid namespace or name.", status=400, content_type="text/plain")
    detail = await account_detail(session.client, namespace, name)
    return render(request, "console/accounts_detail.html", {
        "page": "serviceaccounts", "detail": detail, "note": BOUND_TOKENS_NOTE, "created": request.GET.get("created"),
        "revoked": request.GET.get("revoked", ""), "default_expiration": DEFAULT_EXPIRATION},
        status=403 if detail.error else 200)


def _token_parameters(request: HttpRequest) -> tuple[list[str], int | None, str]:
    audiences = [value.strip() for value in request.POST.get("audiences", "").replace(",", " ").split()]
    raw = request.POST.get("expiration_seconds", "").strip()
    if not raw:
        return audiences, None, ""
    try:
        return audiences, int(raw), ""
    except ValueError:
        return audiences, None, f"expirationSeconds must be a whole number of seconds, not {raw!r}."


@dataclass(frozen=True, slots=True)
class _TokenForm:
    """A valid POST of the token form: the page's context and the token's parameters."""

    context: dict[str, object]
    audiences: list[str]
    expiration: int | None

    def failed(self, request: HttpRequest, message: str, status: int) -> HttpResponse:
        return render(request, TOKEN_TEMPLATE, {**self.context, "error": message}, status=status)


def _token_form(request: HttpRequest, namespace: str, name: str) -> _TokenForm | HttpResponse:
    """The token form's parameters, or the answer to a request that is not a valid POST of it."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not _valid(namespace, name):
        return HttpResponse("Invalid namespace or name.", status=400, content_type="text/plain")
    audiences, expiration, problem = _token_parameters(request)
    form = _TokenForm({"page": "serviceaccounts", "namespace": namespace, "name": name, "note": BOUND_TOKENS_NOTE},
                      audiences, expiration)
    return form.failed(request, problem, 400) if problem else form


@console_view
async def token(request: HttpRequest, session: ConsoleSession, namespace: str, name: str) -> HttpResponse:
    """POST: issue a token and show it once (the response is no-store; nothing is kept)."""
    form = _token_form(request, namespace, name)
    if isinstance(form, HttpResponse):
        return form
    try:
        issued = await issue_token(session.client, namespace, name, form.audiences, form.expiration)
    except ApiError as error:
        return form.failed(request, error.message, error.code)
    return render(request, TOKEN_TEMPLATE, {**form.context, "issued": issued})


@console_view
async def download_kubeconfig(request: HttpRequest, session: ConsoleSession, namespace: str,
                              name: str) -> HttpResponse:
    """POST: issue a token and answer a kubeconfig file with it (attachment, never cached)."""
    form = _token_form(request, namespace, name)
    if isinstance(form, HttpResponse):
        return form
    try:
        ca_pem = await root_ca(session.client, namespace)
        issued = await issue_token(session.client, namespace, name, form.audiences, form.expiration)
    except ApiError as error:
        return form.failed(request, error.message, error.code)
    server = request.build_absolute_uri("/").rstrip("/")
    response = HttpResponse(kubeconfig(server, ca_pem, namespace, name, issued.token),
                            content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="kubeconfig-{namespace}-{name}.yaml"'
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@console_view
async def revoke(request: HttpRequest, session: ConsoleSession, namespace: str, name: str,
                 secret: str) -> HttpResponse:
    """GET: the confirmation page; POST with `confirm=yes`: delete the legacy token Secret."""
    if not _valid(namespace, name) or not _valid(namespace, secret):
        return HttpResponse("Invalid namespace or name.", status=400, content_type="text/plain")
    context = {"page": "serviceaccounts", "namespace": namespace, "name": name, "secret": secret}
    if request.method == "GET":
        return render(request, "console/accounts_revoke.html", context)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.POST.get("confirm") != "yes":
        return render(request, "console/accounts_revoke.html", {**context, "error": "Confirm the revocation."},
                      status=400)
    try:
        await revoke_secret(session.client, namespace, name, secret)
    except ApiError as error:
        return render(request, "console/accounts_revoke.html", {**context, "error": error.message},
                      status=error.code)
    except ValueError as error:
        return render(request, "console/accounts_revoke.html", {**context, "error": str(error)}, status=400)
    return HttpResponseRedirect(_account_url(namespace, name) + f"?revoked={secret}")
