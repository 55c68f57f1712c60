"""Reading an uploaded kubeconfig for console login: the current context's user, embedded data only.

The server must never read files or run programs named by an upload, so `tokenFile`, `client-certificate`,
`client-key` (paths), `exec` plugins and `auth-provider` entries are refused with a message saying what to use
instead. Basic auth (`username`/`password`) is refused as kube-apiserver removed it in 1.19.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """An upload the console cannot log in with; the message is for the person who uploaded it."""


@dataclass(frozen=True, slots=True)
class KubeconfigUser:
    """The chosen context's credential: a token, or a certificate and key (PEM bytes)."""

    context: str
    user: str
    token: str = ""
    certificate: bytes = b""
    key: bytes = b""


def read_kubeconfig(content: bytes, context: str = "") -> KubeconfigUser:
    """The credential of `context` (default: current-context) in a kubeconfig. Raises KubeconfigError."""
    try:
        config = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        raise KubeconfigError("the file is not a kubeconfig (it is not YAML)") from None
    if not isinstance(config, dict) or config.get("kind", "Config") != "Config":
        raise KubeconfigError("the file is not a kubeconfig (kind: Config)")
    contexts = _named(config, "contexts", "context")
    name = context or str(config.get("current-context") or "")
    if not name:
        if len(contexts) != 1:
            raise KubeconfigError("the kubeconfig has no current-context; name the context to use")
        name = next(iter(contexts))
    if name not in contexts:
        raise KubeconfigError(f'context "{name}" is not in the kubeconfig')
    user_name = str(contexts[name].get("user") or "")
    users = _named(config, "users", "user")
    if user_name not in users:
        raise KubeconfigError(f'user "{user_name}" of context "{name}" is not in the kubeconfig')
    return _credential(name, user_name, users[user_name])


def _credential(context: str, user_name: str, user: dict[str, Any]) -> KubeconfigUser:
    if user.get("exec"):
        raise KubeconfigError(f'user "{user_name}" uses an exec plugin; the console never runs programs. '
                              "Paste a token the plugin prints (e.g. `kubectl create token`) instead")
    if user.get("auth-provider"):
        raise KubeconfigError(f'user "{user_name}" uses an auth-provider plugin; paste a bearer token instead')
    if user.get("tokenFile"):
        raise KubeconfigError(f'user "{user_name}" names a token file; the console reads no files from the '
                              "server's disk. Embed the token (`token:`) or paste it")
    if user.get("client-certificate") or user.get("client-key"):
        raise KubeconfigError(f'user "{user_name}" names certificate files; the console reads no files from the '
                              "server's disk. Use client-certificate-data and client-key-data "
                              "(`kubectl config view --flatten --minify --raw`)")
    if user.get("username") or user.get("password"):
        raise KubeconfigError(f'user "{user_name}" uses basic authentication, which Kubernetes no longer accepts')
    token = str(user.get("token") or "").strip()
    certificate = _data(user, "client-certificate-data", user_name)
    key = _data(user, "client-key-data", user_name)
    if token:
        return KubeconfigUser(context, user_name, token=token)
    if certificate and key:
        return KubeconfigUser(context, user_name, certificate=certificate, key=key)
    if certificate or key:
        raise KubeconfigError(f'user "{user_name}" needs both client-certificate-data and client-key-data')
    raise KubeconfigError(f'user "{user_name}" has no token and no client certificate')


def _named(config: dict[str, Any], section: str, field: str) -> dict[str, dict[str, Any]]:
    entries = config.get(section) or []
    if not isinstance(entries, list):
        raise KubeconfigError(f"the kubeconfig's {section} is not a list")
    named: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get(field), dict):
            named[str(entry.get("name") or "")] = entry[field]
    return named


def _data(user: dict[str, Any], field: str, user_name: str) -> bytes:
    value = user.get(field)
    if not value:
        return b""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f'user "{user_name}": {field} is not base64') from None
