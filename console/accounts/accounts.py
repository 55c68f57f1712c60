"""ServiceAccounts as the logged-in user sees them: the list, one account's bindings and legacy token Secrets."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.meta.errors import ApiError
from console.rbac.listing import BindingRow, binding_row
from console.rbac.policy import fetch_policy
from console.rbac.rules import service_account_user, subject_applies

SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
SECRETS = Resource("", "v1", "secrets")
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name"
JSONDict = dict[str, Any]


@dataclass
class AccountList:
    namespace: str
    items: list[JSONDict] = field(default_factory=list)
    forbidden: str = ""


@dataclass
class AccountDetail:
    namespace: str
    name: str
    account: JSONDict = field(default_factory=dict)
    error: str = ""
    bindings: list[BindingRow] = field(default_factory=list)
    bindings_denied: dict[str, str] = field(default_factory=dict)
    secrets: list[JSONDict] = field(default_factory=list)
    secrets_forbidden: str = ""


async def list_accounts(client: ApiClient, namespace: str) -> AccountList:
    try:
        answer = await client.list(SERVICE_ACCOUNTS, namespace=namespace)
    except ApiError as error:
        return AccountList(namespace, forbidden=error.message)
    items = sorted(answer.get("items") or (), key=lambda item: (item["metadata"].get("namespace"),
                                                                 item["metadata"]["name"]))
    return AccountList(namespace, items)


async def create_account(client: ApiClient, namespace: str, name: str) -> JSONDict:
    return await client.create(SERVICE_ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                  "metadata": {"name": name}}, namespace=namespace)


async def account_detail(client: ApiClient, namespace: str, name: str) -> AccountDetail:
    detail = AccountDetail(namespace, name)
    try:
        detail.account = await client.get(SERVICE_ACCOUNTS, name, namespace=namespace)
    except ApiError as error:
        detail.error = error.message
        return detail
    detail.bindings, detail.bindings_denied = await account_bindings(client, namespace, name)
    try:
        detail.secrets = await token_secrets(client, namespace, name)
    except ApiError as error:
        detail.secrets_forbidden = error.message
    return detail


async def account_bindings(client: ApiClient, namespace: str, name: str) -> tuple[list[BindingRow], dict[str, str]]:
    """Bindings naming the account (as ServiceAccount, or through its groups), in every namespace the user may
    list RoleBindings in (all namespaces when allowed, else the account's own)."""
    policy = await fetch_policy(client, "")
    if "rolebindings" in policy.denied:
        own = await fetch_policy(client, namespace)
        if "rolebindings" not in own.denied:
            policy.role_bindings, policy.roles = own.role_bindings, own.roles
            policy.denied.pop("rolebindings")
    subject = service_account_user(namespace, name)
    rows = []
    for kind, bindings in (("ClusterRoleBinding", policy.cluster_role_bindings),
                           ("RoleBinding", policy.role_bindings)):
        for binding in bindings:
            binding_namespace = str((binding.get("metadata") or {}).get("namespace") or "")
            if any(subject_applies(entry, subject, binding_namespace) for entry in binding.get("subjects") or ()):
                rows.append(binding_row(kind, binding))
    return rows, {key: value for key, value in policy.denied.items() if key.endswith("bindings")}


async def token_secrets(client: ApiClient, namespace: str, name: str) -> list[JSONDict]:
    """Legacy token Secrets of the account: type service-account-token, annotated with its name."""
    answer = await client.list(SECRETS, namespace=namespace, fieldSelector=f"type={TOKEN_SECRET_TYPE}")
    return [secret for secret in answer.get("items") or ()
            if ((secret.get("metadata") or {}).get("annotations") or {}).get(SERVICE_ACCOUNT_NAME_ANNOTATION) == name]


async def revoke_secret(client: ApiClient, namespace: str, account: str, secret: str) -> None:
    """Delete a legacy token Secret of `account` (refuses a Secret that is not one: NotFound from the check)."""
    current = await client.get(SECRETS, secret, namespace=namespace)
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if current.get("type") != TOKEN_SECRET_TYPE or annotations.get(SERVICE_ACCOUNT_NAME_ANNOTATION) != account:
        raise ValueError(f"Secret {secret} is not a token Secret of ServiceAccount {account}")
    uid = (current.get("metadata") or {}).get("uid")
    await client.delete(SECRETS, secret, namespace=namespace,
                        options={"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}})
