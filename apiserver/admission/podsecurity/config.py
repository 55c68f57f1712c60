"""PodSecurity's plugin configuration (PodSecurityConfiguration, pod-security.admission.config.k8s.io/v1).

`defaults` replaces privileged:latest for the modes a namespace does not label (enforce, audit, warn and their
`-version`s); `exemptions` lists usernames, namespaces and runtimeClasses that are never checked (the request
is allowed with the audit annotation `pod-security.kubernetes.io/exempt: user|namespace|runtimeClass`).
Validation follows upstream's ValidatePodSecurityConfiguration; a bad configuration stops the server at start.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from apiserver.admission.podsecurity.policy import LEVEL_PROBLEM, LEVELS, LevelVersion, Policy, parse_version
from apiserver.meta.validation import FieldError, FieldPath, aggregate_messages, is_dns1123_label, is_dns1123_subdomain

GROUP: Final = "pod-security.admission.config.k8s.io"
VERSIONS: Final = ("v1", "v1beta1", "v1alpha1")
KIND: Final = "PodSecurityConfiguration"


class PodSecurityConfigError(ValueError):
    """The plugin cannot start with this configuration."""


@dataclass(frozen=True, slots=True)
class PodSecurityOptions:
    defaults: Policy = field(default_factory=Policy)
    exempt_usernames: frozenset[str] = frozenset()
    exempt_namespaces: frozenset[str] = frozenset()
    exempt_runtime_classes: frozenset[str] = frozenset()


def _level_version(defaults: Mapping[str, Any], mode: str, errors: list[FieldError]) -> LevelVersion:
    level = str(defaults.get(mode, "privileged"))
    version = str(defaults.get(f"{mode}-version", "latest"))
    if level not in LEVELS:
        errors.append(FieldError.invalid(FieldPath("defaults", mode), level, LEVEL_PROBLEM))
        level = "privileged"
    minor = parse_version(version)
    if isinstance(minor, str):
        errors.append(FieldError.invalid(FieldPath("defaults", f"{mode}-version"), version, minor))
        minor = None
    return LevelVersion(level, minor)


def _names(values: Any, kind: str, problems: Any, errors: list[FieldError]) -> frozenset[str]:
    valid: list[str] = []
    for index, value in enumerate(values or ()):
        path, name = FieldPath("exemptions", kind).index(index), str(value)
        messages = problems(name)
        if messages:
            errors.append(FieldError.invalid(path, name, ", ".join(messages)))
        elif name in valid:
            errors.append(FieldError.duplicate(path, name))
        else:
            valid.append(name)
    return frozenset(valid)


def _username_problems(name: str) -> list[str]:
    return ["username must not be empty"] if not name else []


def pod_security_options(configuration: Mapping[str, Any] | None) -> PodSecurityOptions:
    """The options of a decoded configuration (None: upstream's defaults). Raises PodSecurityConfigError."""
    if configuration is None:
        return PodSecurityOptions()
    api_version, kind = str(configuration.get("apiVersion") or ""), str(configuration.get("kind") or "")
    group, _, version = api_version.rpartition("/")
    if kind != KIND or group != GROUP or version not in VERSIONS:
        raise PodSecurityConfigError(f'no kind "{kind}" is registered for version "{api_version}"')
    defaults = configuration.get("defaults") if isinstance(configuration.get("defaults"), Mapping) else {}
    exemptions = configuration.get("exemptions") if isinstance(configuration.get("exemptions"), Mapping) else {}
    assert isinstance(defaults, Mapping) and isinstance(exemptions, Mapping)
    errors: list[FieldError] = []
    enforce = _level_version(defaults, "enforce", errors)
    warn = _level_version(defaults, "warn", errors)
    audit = _level_version(defaults, "audit", errors)
    namespaces = _names(exemptions.get("namespaces"), "namespaces", is_dns1123_label, errors)
    runtime_classes = _names(exemptions.get("runtimeClasses"), "runtimeClasses", is_dns1123_subdomain, errors)
    usernames = _names(exemptions.get("usernames"), "usernames", _username_problems, errors)
    if errors:
        raise PodSecurityConfigError(f"invalid configuration: {aggregate_messages(str(error) for error in errors)}")
    return PodSecurityOptions(Policy(enforce, audit, warn), usernames, namespaces, runtime_classes)
