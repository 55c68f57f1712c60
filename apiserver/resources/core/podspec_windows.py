"""Operating-system rules of a PodSpec: `spec.os`, Windows security options and HostProcess pods.

Upstream v1.32's validateOS, validateLinux, validateWindows, validateWindowsSecurityContextOptions and
validateWindowsHostProcessPod, with their messages and field paths. Containers are visited as upstream's
VisitContainersWithPath does: init containers, containers, then ephemeral containers.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1123_subdomain
from apiserver.resources.core.podspec_fields import items, mapping, text

OPERATING_SYSTEMS: Final = ("linux", "windows")
VISIT_ORDER: Final = ("initContainers", "containers", "ephemeralContainers")
WINDOWS_MESSAGE: Final = "cannot be set for a windows pod"
LINUX_MESSAGE: Final = "windows options cannot be set for a linux pod"
MAX_GMSA_SPEC_KIB: Final = 64
MAX_DOMAIN_LENGTH: Final = 256
MAX_USER_LENGTH: Final = 104
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_NETBIOS: Final = re.compile(r'[^\\/:*?"<>|.][^\\/:*?"<>|]{0,14}')
_DNS_LABEL: Final = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_WINDOWS_DOMAIN: Final = re.compile(f"{_DNS_LABEL}(?:\\.{_DNS_LABEL})*")
_BAD_USER_CHARACTERS: Final = re.compile(r'["/\\:;|=,+*?<>@\[\]]')
_DOTS_AND_SPACES: Final = re.compile(r"[. ]+")
# Pod security context fields a Windows pod may not set, in upstream's order, with the path they are reported at.
_WINDOWS_POD_FIELDS: Final = (
    ("appArmorProfile", ("securityContext", "appArmorProfile")),
    ("seLinuxOptions", ("securityContext", "seLinuxOptions")),
)
_WINDOWS_POD_CONTEXT_FIELDS: Final = ("seccompProfile", "fsGroup", "fsGroupChangePolicy")
_WINDOWS_POD_IDENTITY_FIELDS: Final = ("runAsUser", "runAsGroup", "supplementalGroups", "supplementalGroupsPolicy",
                                       "seLinuxChangePolicy")
_WINDOWS_CONTAINER_FIELDS: Final = ("appArmorProfile", "seLinuxOptions", "seccompProfile", "capabilities",
                                    "readOnlyRootFilesystem", "privileged", "allowPrivilegeEscalation", "procMount",
                                    "runAsUser", "runAsGroup")


def visit_containers(spec: Mapping[str, Any], path: FieldPath) -> Iterator[tuple[Mapping[str, Any], FieldPath]]:
    for kind in VISIT_ORDER:
        for index, container in enumerate(items(spec.get(kind))):
            yield container, path.child(kind).index(index)


def _run_as_user_name_errors(name: str) -> list[str]:
    if not name:
        return ["runAsUserName cannot be an empty string"]
    if _CONTROL.search(name):
        return ["runAsUserName cannot contain control characters"]
    parts = name.split("\\")
    if len(parts) > 2:
        return ["runAsUserName cannot contain more than one backslash"]
    domain, user = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    messages: list[str] = []
    if len(domain) >= MAX_DOMAIN_LENGTH:
        messages.append(f"runAsUserName's Domain length must be under {MAX_DOMAIN_LENGTH} characters")
    if len(parts) == 2 and not (_NETBIOS.fullmatch(domain) or _WINDOWS_DOMAIN.fullmatch(domain)):
        messages.append("runAsUserName's Domain doesn't match the NetBios nor the DNS format")
    if not user:
        messages.append("runAsUserName's User cannot be empty")
    elif len(user) > MAX_USER_LENGTH:
        messages.append(f"runAsUserName's User length must not be longer than {MAX_USER_LENGTH} characters")
    if _DOTS_AND_SPACES.fullmatch(user):
        messages.append("runAsUserName's User cannot contain only periods or spaces")
    if _BAD_USER_CHARACTERS.search(user):
        messages.append('runAsUserName\'s User cannot contain the following characters: "/\\:;|=,+*?<>@[]')
    return messages


def validate_windows_options(options: object, path: FieldPath) -> FieldErrors:
    """validateWindowsSecurityContextOptions."""
    if not isinstance(options, Mapping):
        return []
    errors: FieldErrors = []
    spec_name = options.get("gmsaCredentialSpecName")
    if spec_name is not None:
        errors.extend(FieldError.invalid(path.child("gmsaCredentialSpecName"), spec_name, message)
                      for message in is_dns1123_subdomain(text(spec_name)))
    credential_spec = options.get("gmsaCredentialSpec")
    if credential_spec is not None:
        if not credential_spec:
            errors.append(FieldError.invalid(path.child("gmsaCredentialSpec"), credential_spec,
                                             "gmsaCredentialSpec cannot be an empty string"))
        elif len(text(credential_spec).encode()) > MAX_GMSA_SPEC_KIB * 1024:
            errors.append(FieldError.invalid(path.child("gmsaCredentialSpec"), credential_spec,
                                             f"gmsaCredentialSpec size must be under {MAX_GMSA_SPEC_KIB} KiB"))
    user_name = options.get("runAsUserName")
    if user_name is not None:
        errors.extend(FieldError.invalid(path.child("runAsUserName"), user_name, message)
                      for message in _run_as_user_name_errors(text(user_name)))
    return errors


def validate_windows_host_process(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateWindowsHostProcessPod: all containers or none are HostProcess, and those pods use hostNetwork."""
    pod_value = mapping(mapping(spec.get("securityContext")).get("windowsOptions")).get("hostProcess")
    errors: FieldErrors = []
    containers = host_process = 0
    for container, container_path in visit_containers(spec, path):
        containers += 1
        value = mapping(mapping(container.get("securityContext")).get("windowsOptions")).get("hostProcess")
        if isinstance(pod_value, bool) and isinstance(value, bool) and pod_value != value:
            errors.append(FieldError.invalid(
                container_path.child("securityContext", "windowsOptions", "hostProcess"), value,
                f"pod hostProcess value must be identical if both are specified, was {str(pod_value).lower()}"))
        if value is True or (value is None and pod_value is True):
            host_process += 1
    if host_process:
        if host_process != containers:
            errors.append(FieldError.invalid(path, "", "If pod contains any hostProcess containers then all "
                                                       "containers must be HostProcess containers"))
        if spec.get("hostNetwork") is not True:
            errors.append(FieldError.invalid(path.child("hostNetwork"), False,
                                             "hostNetwork must be true if pod contains any hostProcess containers"))
    return errors


def _linux_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if mapping(spec.get("securityContext")).get("windowsOptions") is not None:
        errors.append(FieldError.forbidden(path.child("securityContext", "windowsOptions"), LINUX_MESSAGE))
    for container, container_path in visit_containers(spec, path):
        if mapping(container.get("securityContext")).get("windowsOptions") is not None:
            errors.append(FieldError.forbidden(container_path.child("securityContext", "windowsOptions"),
                                               LINUX_MESSAGE))
    return errors


def _windows_pod_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    context = spec.get("securityContext")
    if not isinstance(context, Mapping):
        return []
    context_path = path.child("securityContext")
    errors = [FieldError.forbidden(path.child(*where), WINDOWS_MESSAGE)
              for key, where in _WINDOWS_POD_FIELDS if context.get(key) is not None]
    # hostUsers, hostPID, hostIPC and shareProcessNamespace are PodSpec fields in v1 (the internal
    # PodSecurityContext holds them); upstream reports them at spec.<field>.
    if spec.get("hostUsers") is not None:
        errors.append(FieldError.forbidden(path.child("hostUsers"), WINDOWS_MESSAGE))
    for key in ("hostPID", "hostIPC"):
        if spec.get(key) is True:
            errors.append(FieldError.forbidden(path.child(key), WINDOWS_MESSAGE))
    errors.extend(FieldError.forbidden(context_path.child(key), WINDOWS_MESSAGE)
                  for key in _WINDOWS_POD_CONTEXT_FIELDS if context.get(key) is not None)
    if context.get("sysctls"):
        errors.append(FieldError.forbidden(context_path.child("sysctls"), WINDOWS_MESSAGE))
    if spec.get("shareProcessNamespace") is not None:
        errors.append(FieldError.forbidden(path.child("shareProcessNamespace"), WINDOWS_MESSAGE))
    errors.extend(FieldError.forbidden(context_path.child(key), WINDOWS_MESSAGE)
                  for key in _WINDOWS_POD_IDENTITY_FIELDS if context.get(key) is not None)
    return errors


def _windows_errors(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors = _windows_pod_errors(spec, path)
    for container, container_path in visit_containers(spec, path):
        context = container.get("securityContext")
        if isinstance(context, Mapping):
            errors.extend(FieldError.forbidden(container_path.child("securityContext", key), WINDOWS_MESSAGE)
                          for key in _WINDOWS_CONTAINER_FIELDS if context.get(key) is not None)
    return errors


def validate_os(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateOS, then the fields the chosen operating system forbids (validateLinux / validateWindows)."""
    os = spec.get("os")
    if not isinstance(os, Mapping):
        return []
    name = text(os.get("name"))
    if not name:
        return [FieldError.required(path.child("os", "name"), "cannot be empty")]
    if name not in OPERATING_SYSTEMS:
        return [FieldError.not_supported(path.child("os"), name, OPERATING_SYSTEMS)]
    return _linux_errors(spec, path) if name == "linux" else _windows_errors(spec, path)
