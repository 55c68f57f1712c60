"""Security contexts of a PodSpec: the pod's and each container's, sysctls, host namespaces and user namespaces.

Upstream v1.32's validatePodSpecSecurityContext, ValidateSecurityContext, validateSysctls, validateHostUsers and
the seccomp/AppArmor profile rules (pkg/apis/core/validation), with their messages and field paths, quirks
included (`spec.HostPID`, `spec.securityContext.shareProcessNamespace`). The cluster is taken to allow privileged
containers (kube-apiserver's `--allow-privileged=true`, as kubeadm and kind run it).
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.resources.core.podspec_fields import (
    MAX_INT32,
    inclusive_range_message,
    items,
    mapping,
    number,
    text,
    validate_local_descending_path,
)
from apiserver.resources.core.podspec_windows import validate_windows_options

SECCOMP_TYPES: Final = ("Localhost", "RuntimeDefault", "Unconfined")
APPARMOR_TYPES: Final = ("Localhost", "RuntimeDefault", "Unconfined")
PROC_MOUNT_TYPES: Final = ("Default", "Unmasked")
FS_GROUP_CHANGE_POLICIES: Final = ("Always", "OnRootMismatch")
SUPPLEMENTAL_GROUPS_POLICIES: Final = ("Merge", "Strict")
SELINUX_CHANGE_POLICIES: Final = ("MountOption", "Recursive")
CONTAINER_KINDS: Final = ("containers", "initContainers", "ephemeralContainers")
SYSCTL_MAX_LENGTH: Final = 253
_SYSCTL_SEGMENT: Final = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
SYSCTL_PATTERN: Final = "^(" + _SYSCTL_SEGMENT + "[\\./])*" + _SYSCTL_SEGMENT + "$"
_SYSCTL: Final = re.compile(SYSCTL_PATTERN)
_IPC_SYSCTLS: Final = ("kernel.sem",)
_IPC_SYSCTL_PREFIXES: Final = ("kernel.shm", "kernel.msg", "fs.mqueue.")
ID_RANGE_MESSAGE: Final = inclusive_range_message(0, MAX_INT32)
HOST_USERS_MESSAGE: Final = "when `pod.Spec.HostUsers` is false"
MAX_APPARMOR_PROFILE_LENGTH: Final = 4095


def host_users(spec: Mapping[str, Any]) -> bool:
    """spec.hostUsers defaults to true: only an explicit false puts the pod in a user namespace."""
    return spec.get("hostUsers") is not False


def _id_errors(value: object, path: FieldPath) -> FieldErrors:
    """IsValidUserID / IsValidGroupID: 0 to MaxInt32."""
    identifier = number(value)
    if identifier is not None and not 0 <= identifier <= MAX_INT32:
        return [FieldError.invalid(path, identifier, ID_RANGE_MESSAGE)]
    return []


def validate_seccomp_profile(profile: object, path: FieldPath) -> FieldErrors:
    """validateSeccompProfileField."""
    if not isinstance(profile, Mapping):
        return []
    errors: FieldErrors = []
    kind = text(profile.get("type"))
    if not kind:
        errors.append(FieldError.required(path.child("type"), "type is required when seccompProfile is set"))
    elif kind not in SECCOMP_TYPES:
        errors.append(FieldError.not_supported(path.child("type"), kind, SECCOMP_TYPES))
    localhost = profile.get("localhostProfile")
    if kind == "Localhost":
        if localhost is None:
            errors.append(FieldError.required(path.child("localhostProfile"),
                                              "must be set when seccomp type is Localhost"))
        else:
            errors.extend(validate_local_descending_path(text(localhost), path.child("localhostProfile")))
    elif localhost is not None:
        errors.append(FieldError.invalid(path.child("localhostProfile"), dict(profile),
                                         "can only be set when seccomp type is Localhost"))
    return errors


def validate_apparmor_profile(profile: object, path: FieldPath) -> FieldErrors:
    """ValidateAppArmorProfileField."""
    if not isinstance(profile, Mapping):
        return []
    kind, localhost = text(profile.get("type")), profile.get("localhostProfile")
    local_path = path.child("localhostProfile")
    if kind == "Localhost":
        if localhost is None:
            return [FieldError.required(local_path, "must be set when AppArmor type is Localhost")]
        value = text(localhost)
        errors: FieldErrors = []
        if value.strip() != value:
            errors.append(FieldError.invalid(local_path, value, "must not be padded with whitespace"))
        elif not value:
            errors.append(FieldError.required(local_path, "must be set when AppArmor type is Localhost"))
        if len(value.encode()) > MAX_APPARMOR_PROFILE_LENGTH:
            errors.append(FieldError.too_long(local_path, MAX_APPARMOR_PROFILE_LENGTH))
        return errors
    if kind in ("RuntimeDefault", "Unconfined"):
        if localhost is not None:
            return [FieldError.invalid(local_path, localhost, "can only be set when AppArmor type is Localhost")]
        return []
    if not kind:
        return [FieldError.required(path.child("type"), "type is required when appArmorProfile is set")]
    return [FieldError.not_supported(path.child("type"), kind, APPARMOR_TYPES)]


def validate_security_context(context: object, path: FieldPath, *, in_host_users: bool) -> FieldErrors:
    """ValidateSecurityContext of one container."""
    if not isinstance(context, Mapping):
        return []
    errors = _id_errors(context.get("runAsUser"), path.child("runAsUser"))
    errors.extend(_id_errors(context.get("runAsGroup"), path.child("runAsGroup")))
    proc_mount = context.get("procMount")
    if proc_mount is not None:
        if proc_mount not in PROC_MOUNT_TYPES:
            errors.append(FieldError.not_supported(path.child("procMount"), proc_mount, PROC_MOUNT_TYPES))
        if in_host_users and proc_mount == "Unmasked":
            errors.append(FieldError.invalid(path.child("procMount"), proc_mount,
                                             "`hostUsers` must be false to use `Unmasked`"))
    errors.extend(validate_seccomp_profile(context.get("seccompProfile"), path.child("seccompProfile")))
    if context.get("allowPrivilegeEscalation") is False:
        if context.get("privileged") is True:
            errors.append(FieldError.invalid(path, dict(context),
                                             "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
        for capability in mapping(context.get("capabilities")).get("add") or ():
            if capability == "CAP_SYS_ADMIN":
                errors.append(FieldError.invalid(path, dict(context), "cannot set `allowPrivilegeEscalation` to false "
                                                                      "and `capabilities.Add` CAP_SYS_ADMIN"))
    errors.extend(validate_windows_options(context.get("windowsOptions"), path.child("windowsOptions")))
    errors.extend(validate_apparmor_profile(context.get("appArmorProfile"), path.child("appArmorProfile")))
    return errors


def containers_with_paths(spec: Mapping[str, Any], path: FieldPath,
                          kinds: tuple[str, ...] = CONTAINER_KINDS) -> Iterator[tuple[Mapping[str, Any], FieldPath]]:
    """Every container of the spec with its path, kind by kind in the order given."""
    for kind in kinds:
        for index, container in enumerate(items(spec.get(kind))):
            yield container, path.child(kind).index(index)


def validate_container_security_contexts(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateSecurityContext of every container, init container and ephemeral container."""
    in_host_users = host_users(spec)
    errors: FieldErrors = []
    for container, container_path in containers_with_paths(spec, path):
        errors.extend(validate_security_context(container.get("securityContext"),
                                                container_path.child("securityContext"), in_host_users=in_host_users))
    return errors


def sysctl_namespace(name: str) -> str:
    """utilsysctl.GetNamespace: "net", "ipc" or "" for a (slash or dot separated) sysctl name."""
    separator = re.search(r"[./]", name)
    if separator is not None and separator.group() == "/":
        name = name.translate(str.maketrans("./", "/."))
    if name in _IPC_SYSCTLS or name.startswith(_IPC_SYSCTL_PREFIXES):
        return "ipc"
    return "net" if name.startswith("net.") else ""


def validate_sysctls(spec: Mapping[str, Any], sysctls: list[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    """validateSysctls with ValidateHostSysctl (namespaced sysctls of a namespace shared with the host)."""
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, sysctl in enumerate(sysctls):
        name, name_path = text(sysctl.get("name")), path.index(index).child("name")
        if not name:
            errors.append(FieldError.required(name_path))
        elif len(name) > SYSCTL_MAX_LENGTH or not _SYSCTL.match(name):
            errors.append(FieldError.invalid(name_path, name, f"must have at most {SYSCTL_MAX_LENGTH} characters "
                                                              f"and match regex {SYSCTL_PATTERN}"))
        elif name in seen:
            errors.append(FieldError.duplicate(name_path, name))
        namespace = sysctl_namespace(name)
        if spec.get("hostNetwork") is True and namespace == "net":
            errors.append(FieldError.invalid(name_path, name, "may not be specified when 'hostNetwork' is true"))
        elif spec.get("hostIPC") is True and namespace == "ipc":
            errors.append(FieldError.invalid(name_path, name, "may not be specified when 'hostIPC' is true"))
        seen.add(name)
    return errors


def _enum_errors(value: object, path: FieldPath, allowed: tuple[str, ...]) -> FieldErrors:
    return [FieldError.not_supported(path, value, allowed)] if value is not None and value not in allowed else []


def validate_pod_security_context(spec: Mapping[str, Any], spec_path: FieldPath) -> FieldErrors:
    """validatePodSpecSecurityContext (host namespaces live in the spec in v1, in the context internally)."""
    context = spec.get("securityContext")
    if not isinstance(context, Mapping):
        return []
    path = spec_path.child("securityContext")
    errors = _id_errors(context.get("fsGroup"), path.child("fsGroup"))
    errors.extend(_id_errors(context.get("runAsUser"), path.child("runAsUser")))
    errors.extend(_id_errors(context.get("runAsGroup"), path.child("runAsGroup")))
    for index, group in enumerate(context.get("supplementalGroups") or ()):
        errors.extend(_id_errors(group, path.child("supplementalGroups").index(index)))
    if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        errors.append(FieldError.invalid(path.child("shareProcessNamespace"), True,
                                         "ShareProcessNamespace and HostPID cannot both be enabled"))
    sysctls = items(context.get("sysctls"))
    if sysctls:
        errors.extend(validate_sysctls(spec, sysctls, path.child("sysctls")))
    errors.extend(_enum_errors(context.get("fsGroupChangePolicy"), path.child("fsGroupChangePolicy"),
                               FS_GROUP_CHANGE_POLICIES))
    errors.extend(validate_seccomp_profile(context.get("seccompProfile"), path.child("seccompProfile")))
    errors.extend(validate_windows_options(context.get("windowsOptions"), path.child("windowsOptions")))
    errors.extend(validate_apparmor_profile(context.get("appArmorProfile"), path.child("appArmorProfile")))
    errors.extend(_enum_errors(context.get("supplementalGroupsPolicy"), path.child("supplementalGroupsPolicy"),
                               SUPPLEMENTAL_GROUPS_POLICIES))
    errors.extend(_enum_errors(context.get("seLinuxChangePolicy"), path.child("seLinuxChangePolicy"),
                               SELINUX_CHANGE_POLICIES))
    return errors


def validate_host_users(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateHostUsers: a pod in its own user namespace shares no other namespace with the host."""
    if host_users(spec):
        return []
    errors: FieldErrors = []
    for key, shown in (("hostNetwork", "hostNetwork"), ("hostPID", "HostPID"), ("hostIPC", "HostIPC")):
        if spec.get(key) is True:
            errors.append(FieldError.forbidden(path.child(shown), HOST_USERS_MESSAGE))
    return errors


def validate_host_network_ports(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validatePodHostNetworkDeps: with hostNetwork a set hostPort must equal containerPort (pods get it defaulted)."""
    if spec.get("hostNetwork") is not True:
        return []
    errors: FieldErrors = []
    for index, container in enumerate(items(spec.get("containers"))):
        for port_index, port in enumerate(items(container.get("ports"))):
            host_port = number(port.get("hostPort")) or 0
            if host_port != 0 and host_port != number(port.get("containerPort")):
                errors.append(FieldError.invalid(
                    path.child("containers").index(index).child("ports").index(port_index).child("hostPort"),
                    host_port, "must match `containerPort` when `hostNetwork` is true"))
    return errors
