"""Login (paste a bearer token or upload a kubeconfig) and logout. There is no way in without a credential.

The credential is checked by asking the API who it is (SelfSubjectReview) through the same in-process path every
later request takes; nothing is stored unless the API accepted it.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from apiserver.client import loopback
from apiserver.client.client import ApiClient
from apiserver.client.credentials import CredentialError, verify_client_certificate
from apiserver.meta.errors import ApiError, Unauthorized
from console.auth import LOGIN_URL, safe_next
from console.kubeconfig import KubeconfigError, read_kubeconfig
from console.session import (
    CERTIFICATE,
    TOKEN,
    Credential,
    client_address,
    log_in,
    log_out,
    review_identity,
)

INVALID_CREDENTIAL = "Invalid credential: the API server did not accept it (401 Unauthorized)."


@never_cache
@csrf_protect
async def login(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request.POST.get("next") if request.method == "POST" else request.GET.get("next"))
    if request.method == "GET":  # also when logged in: logging in again replaces the session (switch user)
        return _page(request, next_url)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    method = request.POST.get("method", "")
    try:
        credential = await _credential(request, method)
        client = ApiClient(credential.transport(client_address(request)))
        user = await review_identity(client)
    except (CredentialError, KubeconfigError) as error:
        return _page(request, next_url, error=str(error), method=method, status=400)
    except Unauthorized:
        return _page(request, next_url, error=INVALID_CREDENTIAL, method=method, status=401)
    except ApiError as error:
        return _page(request, next_url, error=f"The API server refused the login check: {error.message}",
                     method=method, status=403)
    except loopback.NotInstalled:
        return _page(request, next_url, error="The console has no API server behind it.", status=503)
    await log_in(request, credential, user)
    return HttpResponseRedirect(next_url)


@csrf_protect
async def logout(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    await log_out(request)
    return HttpResponseRedirect(LOGIN_URL)


async def _credential(request: HttpRequest, method: str) -> Credential:
    if method == "token":
        token = request.POST.get("token", "").strip()
        if not token:
            raise CredentialError("Paste a bearer token.")
        return Credential(TOKEN, token=token)
    if method == "kubeconfig":
        upload = request.FILES.get("kubeconfig")
        if upload is None:
            raise CredentialError("Choose a kubeconfig file.")
        if upload.size is not None and upload.size > settings.CONSOLE_KUBECONFIG_MAX_BYTES:
            raise CredentialError("The kubeconfig is too large.")
        entry = read_kubeconfig(upload.read(), request.POST.get("context", "").strip())
        if entry.token:
            return Credential(TOKEN, token=entry.token)
        chain = verify_client_certificate(entry.certificate, entry.key, loopback.current().client_cas)
        return Credential(CERTIFICATE, chain=tuple(chain))
    raise CredentialError("Choose how to log in.")


def _page(request: HttpRequest, next_url: str, *, error: str = "", method: str = "token",
          status: int = 200) -> HttpResponse:
    return render(request, "console/login.html",
                  {"next": next_url, "error": error, "method": method}, status=status)
