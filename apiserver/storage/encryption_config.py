"""`--encryption-provider-config`: the EncryptionConfiguration file, validated as kube-apiserver v1.32 does.

The file is YAML or JSON, `apiVersion: apiserver.config.k8s.io/v1`, `kind: EncryptionConfiguration`:

    resources:
    - resources: [secrets, configmaps, "*.apps"]     # resource or resource.group; `*.` (core), `*.<group>`, `*.*`
      providers:                                      # the first writes; all read
      - aescbc: {keys: [{name: key1, secret: <base64 of 16, 24 or 32 bytes>}]}
      - aesgcm: {keys: [...]}                         # 16, 24 or 32 bytes
      - secretbox: {keys: [...]}                      # 32 bytes
      - identity: {}

Errors read as upstream's (apis/apiserver/validation/validation_encryption.go, server/options/encryptionconfig):
`error while parsing file: resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secret is
not of the expected length, got 8, expected one of [16 24 32]`. Unknown fields are refused (strict decoding).
KMS providers need a plugin over gRPC and are not supported: a configuration naming one is refused.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.meta.errors import go_quote
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, aggregate_messages
from apiserver.storage.encryption import (
    AESCBC,
    AESCBC_PREFIX,
    AESGCM,
    AESGCM_PREFIX,
    IDENTITY,
    SECRETBOX_PREFIX,
    PrefixedTransformer,
    PrefixTransformers,
    ResourceTransformers,
    Secretbox,
    Transformer,
    parse_group_resource,
)

API_VERSION: Final = "apiserver.config.k8s.io/v1"
KIND: Final = "EncryptionConfiguration"
# The order upstream's switch considers them in when an element names several.
PROVIDER_NAMES: Final = ("kms", "aesgcm", "aescbc", "secretbox", "identity")
KEYED_PROVIDERS: Final = {"aesgcm": (16, 24, 32), "aescbc": (16, 24, 32), "secretbox": (32,)}
_ANY: Final = ("*", "*")
_NON_REST_RESOURCES: Final = frozenset({"apiserveripinfo", "serviceipallocations", "servicenodeportallocations"})
_AT_LEAST_ONE = "at least one {} is required"
_NO_PROVIDER = "provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity"


class EncryptionConfigError(ValueError):
    """The configuration cannot be used; the message is what kube-apiserver prints before exiting."""


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    name: str
    secret: str  # base64, as written in the file


@dataclass(frozen=True, slots=True)
class ProviderConfiguration:
    """One element of `providers`: the provider names it sets (exactly one when valid) and their keys."""

    names: tuple[str, ...]
    keys: Mapping[str, tuple[EncryptionKey, ...]]
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceConfiguration:
    resources: tuple[str, ...]
    providers: tuple[ProviderConfiguration, ...]


@dataclass(frozen=True, slots=True)
class EncryptionConfiguration:
    resources: tuple[ResourceConfiguration, ...]


def load_encryption_config(path: str) -> ResourceTransformers:
    """Read, validate and build the transformers of the file at `path`. Raises EncryptionConfigError."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise EncryptionConfigError(
            f"error while parsing file: error while loading file: error reading encryption provider configuration "
            f"file {go_quote(path)}: {error.strerror or error}"
        ) from None
    if not data:
        raise EncryptionConfigError(
            f"error while parsing file: error while loading file: encryption provider configuration file "
            f"{go_quote(path)} is empty"
        )
    return transformers_from_config(parse_encryption_config(data, source=path))


def parse_encryption_config(data: bytes | str, *, source: str = "") -> EncryptionConfiguration:
    """Decode and validate a configuration. Raises EncryptionConfigError."""
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise _decoding_error(source, f"yaml: {error}") from None
    try:
        config = _decode(document)
    except _DecodeError as error:
        raise _decoding_error(source, str(error)) from None
    if errors := validate_encryption_config(config):
        raise EncryptionConfigError("error while parsing file: " + aggregate_messages(map(str, errors)))
    return config


def _decoding_error(source: str, reason: str) -> EncryptionConfigError:
    return EncryptionConfigError(
        f"error while parsing file: error decoding encryption provider configuration file {go_quote(source)}: "
        f"{reason}"
    )


class _DecodeError(Exception):
    pass


def _decode(document: object) -> EncryptionConfiguration:
    root = _mapping(document, "", ("apiVersion", "kind", "resources"))
    api_version, kind = root.get("apiVersion"), root.get("kind")
    if api_version != API_VERSION or kind != KIND:
        raise _DecodeError(
            f'no kind "{kind or ""}" is registered for version "{api_version or ""}"' if api_version or kind
            else "Object 'Kind' is missing in the configuration"
        )
    entries = _sequence(root.get("resources"), "resources")
    return EncryptionConfiguration(tuple(_resource_entry(entry, f"resources[{i}]") for i, entry in enumerate(entries)))


def _resource_entry(entry: object, path: str) -> ResourceConfiguration:
    fields = _mapping(entry, path, ("resources", "providers"))
    resources = _sequence(fields.get("resources"), f"{path}.resources")
    if not all(isinstance(resource, str) for resource in resources):
        raise _DecodeError(f"{path}.resources: expected a list of strings")
    providers = _sequence(fields.get("providers"), f"{path}.providers")
    decoded = tuple(_provider(provider, f"{path}.providers[{i}]") for i, provider in enumerate(providers))
    return ResourceConfiguration(tuple(resources), decoded)


def _provider(element: object, path: str) -> ProviderConfiguration:
    fields = _mapping(element, path, PROVIDER_NAMES)
    # A provider written as `identity:` (null) is absent, as a nil pointer is in Go.
    names = tuple(name for name in PROVIDER_NAMES if fields.get(name) is not None)
    keys: dict[str, tuple[EncryptionKey, ...]] = {}
    for name in names:
        if name == "kms":
            continue
        allowed = () if name == "identity" else ("keys",)
        settings = _mapping(fields[name], f"{path}.{name}", allowed)
        items = _sequence(settings.get("keys"), f"{path}.{name}.keys")
        keys[name] = tuple(_key(item, f"{path}.{name}.keys[{i}]") for i, item in enumerate(items))
    return ProviderConfiguration(names, keys, dict(fields))


def _key(item: object, path: str) -> EncryptionKey:
    fields = _mapping(item, path, ("name", "secret"))
    name, secret = fields.get("name") or "", fields.get("secret") or ""
    if not isinstance(name, str) or not isinstance(secret, str):
        raise _DecodeError(f"{path}: name and secret must be strings")
    return EncryptionKey(name, secret)


def _mapping(value: object, path: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _DecodeError(f"{path or 'the configuration'}: expected an object")
    for field in value:
        if field not in allowed:
            raise _DecodeError(f'strict decoding error: unknown field "{path + "." if path else ""}{field}"')
    return value


def _sequence(value: object, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _DecodeError(f"{path}: expected a list")
    return value


def validate_encryption_config(config: EncryptionConfiguration) -> FieldErrors:
    """Upstream's ValidateEncryptionConfiguration (keys are reported as REDACTED, never printed)."""
    root = FieldPath("resources")
    if not config.resources:
        return [FieldError.required(root, _AT_LEAST_ONE.format(root))]
    errors: FieldErrors = []
    for index, entry in enumerate(config.resources):
        resources_path, providers_path = root.index(index).child("resources"), root.index(index).child("providers")
        if not entry.resources:
            errors.append(FieldError.required(resources_path, _AT_LEAST_ONE.format(resources_path)))
        errors += _resource_overlap(entry.resources, resources_path)
        errors += _resource_names(entry.resources, resources_path)
        if not entry.providers:
            errors.append(FieldError.required(providers_path, _AT_LEAST_ONE.format(providers_path)))
        for position, provider in enumerate(entry.providers):
            errors += _provider_errors(provider, providers_path.index(position))
    return errors


def _resource_overlap(resources: Sequence[str], path: FieldPath) -> FieldErrors:
    # The same pairwise walk as upstream, so the same lists get the same (one or two) errors.
    parsed = [parse_group_resource(resource) for resource in resources]
    duplicate = overlap = False
    for i, first in enumerate(parsed):
        for j, second in enumerate(parsed):
            if i == j:
                continue
            if first == second and not duplicate:
                duplicate = True
                continue
            if overlap:
                continue
            if first == _ANY or (first[0] == second[0] and "*" in (first[1], second[1])):
                overlap = True
    errors: FieldErrors = []
    if duplicate:
        errors.append(FieldError.invalid(path, list(resources), "the same resource cannot be specified multiple times"))
    if overlap:
        errors.append(FieldError.invalid(
            path, list(resources),
            "using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they "
            "will be masked",
        ))
    return errors


def _resource_name_problem(resource: str) -> str:
    group, name = parse_group_resource(resource)
    if resource.lower() != resource:
        return "resource name should not contain capital letters"
    if resource == "*":
        return "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"
    if resource in _NON_REST_RESOURCES:
        return "resources which do not have REST API/s cannot be encrypted"
    if group == "events.k8s.io":
        return (
            "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the "
            "config file"
        )
    if group == "extensions":
        return "'extensions' group has been removed and cannot be used for encryption"
    if group == "*" and name != "*":
        return "encrypting the same resource across groups is not supported"
    return ""


def _resource_names(resources: Sequence[str], path: FieldPath) -> FieldErrors:
    return [
        FieldError.invalid(path.index(index), resource, problem)
        for index, resource in enumerate(resources)
        if (problem := _resource_name_problem(resource))
    ]


def _provider_errors(provider: ProviderConfiguration, path: FieldPath) -> FieldErrors:
    if not provider.names:
        return [FieldError.invalid(path, dict(provider.raw), _NO_PROVIDER)]
    errors: FieldErrors = []
    if len(provider.names) > 1:
        detail = "more than one provider specified in a single element, should split into different list elements"
        errors.append(FieldError.invalid(path, dict(provider.raw), detail))
    first = provider.names[0]
    if first == "kms":
        errors.append(FieldError.invalid(path.child("kms"), "REDACTED", "KMS providers are not supported"))
    elif first in KEYED_PROVIDERS:
        errors += _keys_errors(provider.keys[first], path.child(first, "keys"), KEYED_PROVIDERS[first])
    return errors


def _keys_errors(keys: Sequence[EncryptionKey], path: FieldPath, lengths: Sequence[int]) -> FieldErrors:
    if not keys:
        return [FieldError.required(path, _AT_LEAST_ONE.format("keys"))]
    errors: FieldErrors = []
    for index, key in enumerate(keys):
        key_path = path.index(index)
        if not key.name:
            errors.append(FieldError.required(key_path.child("name"), "name is a mandatory field for a key"))
        if not key.secret:
            errors.append(FieldError.required(key_path.child("secret"), "secret is a mandatory field for a key"))
            continue
        secret = decode_secret(key.secret)
        if secret is None:
            errors.append(FieldError.invalid(key_path.child("secret"), "REDACTED", "secrets must be base64 encoded"))
        elif len(secret) not in lengths:
            expected = "[" + " ".join(map(str, lengths)) + "]"
            detail = f"secret is not of the expected length, got {len(secret)}, expected one of {expected}"
            errors.append(FieldError.invalid(key_path.child("secret"), "REDACTED", detail))
    return errors


def decode_secret(secret: str) -> bytes | None:
    """Go's base64.StdEncoding.DecodeString: padded standard alphabet, line breaks ignored; None when invalid."""
    try:
        return base64.b64decode(secret.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None


def transformers_from_config(config: EncryptionConfiguration) -> ResourceTransformers:
    """The transformers of a validated configuration, per group-resource, entries in order.

    Raises EncryptionConfigError when a resource is masked by a `*.<group>` or `*.*` rule of an earlier entry.
    """
    chains: dict[tuple[str, str], list[PrefixedTransformer]] = {}
    for entry in config.resources:
        providers = [_prefixed(provider) for provider in entry.providers]
        for resource in entry.resources:
            group_resource = parse_group_resource(resource)
            for rule in ((group_resource[0], "*"), _ANY):
                if rule in chains:
                    raise EncryptionConfigError(
                        f"error while building transformers: resource {go_quote(_rule_text(group_resource))} is "
                        f"masked by earlier rule {go_quote(_rule_text(rule))}"
                    )
            chains.setdefault(group_resource, []).extend(providers)
    by_group_resource: dict[tuple[str, str], Transformer] = {
        group_resource: PrefixTransformers(chain) for group_resource, chain in chains.items()
    }
    return ResourceTransformers(by_group_resource)


def _rule_text(group_resource: tuple[str, str]) -> str:
    group, resource = group_resource
    if not group:
        return "*." if resource == "*" else resource
    return f"{resource}.{group}"


_CIPHERS: Final[dict[str, tuple[bytes, Callable[[bytes], Transformer], str]]] = {
    "aescbc": (AESCBC_PREFIX, AESCBC, "AES"),
    "aesgcm": (AESGCM_PREFIX, AESGCM, "AES"),
    "secretbox": (SECRETBOX_PREFIX, Secretbox, "Secretbox"),
}


def _prefixed(provider: ProviderConfiguration) -> PrefixedTransformer:
    name = provider.names[0]
    if name == "identity":
        return PrefixedTransformer(b"", IDENTITY)
    prefix, cipher, label = _CIPHERS[name]
    per_key = [
        PrefixedTransformer(key.name.encode() + b":", cipher(decode_secret(key.secret) or b""))
        for key in provider.keys[name]
    ]
    no_match = f"no matching key was found for the provided {label} transformer"
    return PrefixedTransformer(prefix, PrefixTransformers(per_key, no_match))
