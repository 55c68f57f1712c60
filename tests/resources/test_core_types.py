"""Secrets and ConfigMaps: upstream v1.32's defaults, stringData, key and size rules, types and immutability."""
from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import FORB, INV, REQ, invalid
from tests.support.resource_app import ResourceApp, resource_app

SECRETS = "/api/v1/namespaces/default/secrets"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
TOO_LONG = "FieldValueTooLong"
KEY_RULE = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
            "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
IMMUTABLE = "field is immutable when `immutable` is set"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str = "s", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields}


def config_map(name: str = "c", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **fields}


async def test_secret_type_defaults_to_opaque_and_string_data_merges_into_data(api: ResourceApp) -> None:
    body = secret(data={"user": b64("old"), "keep": b64("k")}, stringData={"user": "admin", "pass": "s3cr3t"})
    created = (await api.request("POST", SECRETS, body)).json()
    assert created["type"] == "Opaque"
    assert created["data"] == {"user": b64("admin"), "keep": b64("k"), "pass": b64("s3cr3t")}
    assert "stringData" not in created
    assert "stringData" not in (await api.request("GET", f"{SECRETS}/s")).json()


async def test_string_data_on_update_merges_and_is_dropped(api: ResourceApp) -> None:
    current = (await api.request("POST", SECRETS, secret(data={"a": b64("1")}))).json()
    current["stringData"] = {"b": "2"}
    updated = (await api.request("PUT", f"{SECRETS}/s", current)).json()
    assert updated["data"] == {"a": b64("1"), "b": b64("2")} and "stringData" not in updated


SECRET_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("bad-key", {"data": {"bad key": b64("x")}}, [(INV, "data[bad key]", f'Invalid value: "bad key": {KEY_RULE}')]),
    ("dot-dot-key", {"stringData": {"..x": "y"}}, [(INV, "data[..x]", "Invalid value: \"..x\": must not start with "
                                                                      "'..'")]),
    ("too-large", {"data": {"big": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}},
     [(TOO_LONG, "data", "Too long: may not be more than 1048576 bytes")]),
    ("tls-without-keys", {"type": "kubernetes.io/tls", "data": {}},
     [(REQ, "data[tls.crt]", "Required value"), (REQ, "data[tls.key]", "Required value")]),
    ("dockerconfigjson-missing", {"type": "kubernetes.io/dockerconfigjson"},
     [(REQ, "data[.dockerconfigjson]", "Required value")]),
    ("dockerconfigjson-not-json", {"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "{"}},
     [(INV, "data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": unexpected end of JSON input')]),
    ("dockerconfigjson-array", {"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "[]"}},
     [(INV, "data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": json: cannot unmarshal array '
                                       "into Go value of type map[string]interface {}")]),
    ("service-account-token-without-annotation", {"type": "kubernetes.io/service-account-token"},
     [(REQ, "metadata.annotations[kubernetes.io/service-account.name]", "Required value")]),
    ("basic-auth-empty", {"type": "kubernetes.io/basic-auth"},
     [(REQ, "data[username]", "Required value"), (REQ, "data[password]", "Required value")]),
    ("ssh-auth-empty", {"type": "kubernetes.io/ssh-auth"}, [(REQ, "data[ssh-privatekey]", "Required value")]),
]


@pytest.mark.parametrize(("fields", "causes"), [case[1:] for case in SECRET_CASES],
                         ids=[case[0] for case in SECRET_CASES])
async def test_invalid_secrets(api: ResourceApp, fields: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", SECRETS, secret("bad", **fields))
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="Secret"))
    assert await api.stored_keys("/registry/secrets/") == []


async def test_valid_typed_secrets_are_accepted(api: ResourceApp) -> None:
    bodies = [
        secret("tls", type="kubernetes.io/tls", stringData={"tls.crt": "c", "tls.key": "k"}),
        secret("reg", type="kubernetes.io/dockerconfigjson", stringData={".dockerconfigjson": '{"auths":{}}'}),
        secret("sa", type="kubernetes.io/service-account-token",
               metadata={"name": "sa", "annotations": {"kubernetes.io/service-account.name": "default"}}),
        secret("basic", type="kubernetes.io/basic-auth", stringData={"username": "u"}),
    ]
    for body in bodies:
        answer = await api.request("POST", SECRETS, body)
        assert answer.status == 201, answer.json()


async def test_secret_type_is_immutable(api: ResourceApp) -> None:
    current = (await api.request("POST", SECRETS, secret(type="kubernetes.io/tls",
                                                         stringData={"tls.crt": "c", "tls.key": "k"}))).json()
    current["type"] = "Opaque"
    answer = await api.request("PUT", f"{SECRETS}/s", current)
    assert answer.json() == invalid("s", [(INV, "type", 'Invalid value: "Opaque": field is immutable')], kind="Secret")


async def test_immutable_secret_keeps_its_data(api: ResourceApp) -> None:
    current = (await api.request("POST", SECRETS, secret(immutable=True, stringData={"a": "1"}))).json()
    changed = {**current, "stringData": {"a": "2"}}
    answer = await api.request("PUT", f"{SECRETS}/s", changed)
    assert answer.json() == invalid("s", [(FORB, "data", f"Forbidden: {IMMUTABLE}")], kind="Secret")
    unlocked = {**current, "immutable": False}
    answer = await api.request("PUT", f"{SECRETS}/s", unlocked)
    assert answer.json() == invalid("s", [(FORB, "immutable", f"Forbidden: {IMMUTABLE}")], kind="Secret")
    labelled = {**current, "metadata": {**current["metadata"], "labels": {"a": "b"}}}
    assert (await api.request("PUT", f"{SECRETS}/s", labelled)).status == 200
    assert (await api.request("GET", f"{SECRETS}/s")).json()["data"] == {"a": b64("1")}


CONFIG_MAP_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("bad-key", {"data": {"a/b": "x"}}, [(INV, "data[a/b]", f'Invalid value: "a/b": {KEY_RULE}')]),
    ("key-in-both", {"data": {"k": "x"}, "binaryData": {"k": b64("y")}},
     [(INV, "data[k]", 'Invalid value: "k": duplicate of key present in binaryData'),
      (INV, "binaryData[k]", 'Invalid value: "k": duplicate of key present in data')]),
    ("too-large", {"data": {"a": "x" * (512 * 1024), "b": "y" * (512 * 1024 + 1)}},
     [(TOO_LONG, "[]", "Too long: may not be more than 1048576 bytes")]),
]


@pytest.mark.parametrize(("fields", "causes"), [case[1:] for case in CONFIG_MAP_CASES],
                         ids=[case[0] for case in CONFIG_MAP_CASES])
async def test_invalid_config_maps(api: ResourceApp, fields: dict[str, Any],
                                   causes: list[tuple[str, str, str]]) -> None:
    answer = await api.request("POST", CONFIGMAPS, config_map("bad", **fields))
    assert (answer.status, answer.json()) == (422, invalid("bad", causes, kind="ConfigMap"))


async def test_immutable_config_map_refuses_data_changes(api: ResourceApp) -> None:
    current = (await api.request("POST", CONFIGMAPS, config_map(immutable=True, data={"a": "1"},
                                                                binaryData={"b": b64("2")}))).json()
    changed = {**current, "data": {"a": "changed"}, "binaryData": {}, "immutable": False}
    answer = await api.request("PUT", f"{CONFIGMAPS}/c", changed)
    assert answer.json() == invalid("c", [(FORB, "immutable", f"Forbidden: {IMMUTABLE}"),
                                          (FORB, "data", f"Forbidden: {IMMUTABLE}"),
                                          (FORB, "binaryData", f"Forbidden: {IMMUTABLE}")], kind="ConfigMap")
    assert (await api.request("GET", f"{CONFIGMAPS}/c")).json() == current


async def test_mutable_config_map_can_become_immutable(api: ResourceApp) -> None:
    current = (await api.request("POST", CONFIGMAPS, config_map(data={"a": "1"}))).json()
    current["data"]["a"] = "2"
    current["immutable"] = True
    answer = await api.request("PUT", f"{CONFIGMAPS}/c", current)
    assert answer.status == 200 and answer.json()["immutable"] is True
