"""The Baseline checks of the Pod Security Standards (pod-security-admission/policy/check_*.go), one function
each, with upstream's reasons and details. Each takes the pod (or template) metadata and spec and the minor
version being evaluated."""
from __future__ import annotations

from apiserver.admission.podsecurity.checkresult import (
    ALLOWED,
    CheckResult,
    JSONDict,
    containers,
    forbid,
    join_quote,
    named,
    pluralize,
    pod_context,
    security_context,
)

APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
DEFAULT_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
SYSCTLS_BY_MINOR = (
    (0, frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                   "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})),
    (27, frozenset({"net.ipv4.ip_local_reserved_ports"})),
    (29, frozenset({"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                    "net.ipv4.tcp_keepalive_probes"})),
    (32, frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES | {"container_engine_t"}
VALID_SECCOMP = ("RuntimeDefault", "Localhost")


def _setters(pod_bad: bool, bad_containers: list[str]) -> list[str]:
    setters = ["pod"] if pod_bad else []
    if bad_containers:
        setters.append(named("container", bad_containers))
    return setters


def app_armor_profile(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_values: set[str] = set()
    profile = pod_context(spec).get("appArmorProfile")
    pod_bad = isinstance(profile, dict) and profile.get("type") not in ("RuntimeDefault", "Localhost")
    if pod_bad:
        bad_values.add(str(profile.get("type") or ""))  # type: ignore[union-attr]
    bad_containers = []
    for container in containers(spec):
        profile = (security_context(container) or {}).get("appArmorProfile")
        if isinstance(profile, dict) and profile.get("type") not in ("RuntimeDefault", "Localhost"):
            bad_containers.append(str(container.get("name") or ""))
            bad_values.add(str(profile.get("type") or ""))
    setters = _setters(pod_bad, bad_containers)
    values = sorted(bad_values)
    annotations = sorted(
        f'{key}="{value}"' for key, value in ((metadata.get("annotations") or {}).items())
        if key.startswith(APPARMOR_ANNOTATION_PREFIX)
        and not (value == "runtime/default" or str(value).startswith("localhost/"))
    )
    if annotations:
        values += annotations
        setters.append(pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return ALLOWED
    return forbid(pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                  f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(values)}")


def capabilities_baseline(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_containers, added = [], set()
    for container in containers(spec):
        capabilities = (security_context(container) or {}).get("capabilities") or {}
        extra = [str(name) for name in capabilities.get("add") or () if name not in DEFAULT_CAPABILITIES]
        if extra:
            bad_containers.append(str(container.get("name") or ""))
            added.update(extra)
    if not bad_containers:
        return ALLOWED
    return forbid("non-default capabilities", f"{named('container', bad_containers)} must not include "
                                              f"{join_quote(sorted(added))} in securityContext.capabilities.add")


def host_namespaces(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    used = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field) is True]
    return forbid("host namespaces", ", ".join(used)) if used else ALLOWED


def host_path_volumes(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    names = [str(volume.get("name") or "") for volume in spec.get("volumes") or ()
             if isinstance(volume, dict) and volume.get("hostPath") is not None]
    return forbid("hostPath volumes", named("volume", names)) if names else ALLOWED


def host_ports(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_containers, ports = [], set()
    for container in containers(spec):
        used = [str(port.get("hostPort")) for port in container.get("ports") or ()
                if isinstance(port, dict) and port.get("hostPort") not in (None, 0)]
        if used:
            bad_containers.append(str(container.get("name") or ""))
            ports.update(used)
    if not bad_containers:
        return ALLOWED
    return forbid("hostPort", f"{named('container', bad_containers)} "
                              f"{pluralize('uses', 'use', len(bad_containers))} "
                              f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")


def host_process(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    def sets_host_process(context: JSONDict | None) -> bool:
        return ((context or {}).get("windowsOptions") or {}).get("hostProcess") is True

    bad_containers = [str(container.get("name") or "") for container in containers(spec)
                      if sets_host_process(security_context(container))]
    setters = _setters(sets_host_process(pod_context(spec)), bad_containers)
    if not setters:
        return ALLOWED
    return forbid("hostProcess",
                  f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true")


def privileged(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_containers = [str(container.get("name") or "") for container in containers(spec)
                      if (security_context(container) or {}).get("privileged") is True]
    if not bad_containers:
        return ALLOWED
    return forbid("privileged", f"{named('container', bad_containers)} must not set securityContext.privileged=true")


def proc_mount(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_containers, types = [], set()
    for container in containers(spec):
        mount = (security_context(container) or {}).get("procMount")
        if mount is not None and mount != "Default":
            bad_containers.append(str(container.get("name") or ""))
            types.add(str(mount))
    if not bad_containers:
        return ALLOWED
    return forbid("procMount", f"{named('container', bad_containers)} must not set securityContext.procMount to "
                               f"{join_quote(sorted(types))}")


def se_linux_options(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    allowed = SELINUX_TYPES_1_31 if minor >= 31 else SELINUX_TYPES
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(options: object) -> bool:
        if not isinstance(options, dict):
            return True
        ok = True
        if str(options.get("type") or "") not in allowed:
            ok = False
            bad_types.add(str(options.get("type") or ""))
        for key in ("user", "role"):
            if options.get(key):
                ok = False
                flags[key] = True
        return ok

    pod_bad = not valid(pod_context(spec).get("seLinuxOptions"))
    bad_containers = [str(container.get("name") or "") for container in containers(spec)
                      if not valid((security_context(container) or {}).get("seLinuxOptions"))]
    setters = _setters(pod_bad, bad_containers)
    if not setters:
        return ALLOWED
    data = [named("type", sorted(bad_types))] if bad_types else []
    data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
    return forbid("seLinuxOptions", f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: "
                                    f"{'; '.join(data)}")


def seccomp_profile_baseline(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_values: set[str] = set()
    profile = pod_context(spec).get("seccompProfile")
    pod_bad = isinstance(profile, dict) and profile.get("type") not in VALID_SECCOMP
    if pod_bad:
        bad_values.add(str(profile.get("type") or ""))  # type: ignore[union-attr]
    bad_containers = []
    for container in containers(spec):
        profile = (security_context(container) or {}).get("seccompProfile")
        if isinstance(profile, dict) and profile.get("type") not in VALID_SECCOMP:
            bad_containers.append(str(container.get("name") or ""))
            bad_values.add(str(profile.get("type") or ""))
    setters = _setters(pod_bad, bad_containers)
    if not setters:
        return ALLOWED
    return forbid("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                                    f"{join_quote(sorted(bad_values))}")


def sysctls(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    allowed: set[str] = set()
    for since, names in SYSCTLS_BY_MINOR:
        if minor >= since:
            allowed |= names
    forbidden = [str(item.get("name") or "") for item in pod_context(spec).get("sysctls") or ()
                 if isinstance(item, dict) and item.get("name") not in allowed]
    return forbid("forbidden sysctls", ", ".join(forbidden)) if forbidden else ALLOWED
