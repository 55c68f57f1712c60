"""The Restricted checks of the Pod Security Standards (pod-security-admission/policy/check_*.go), with upstream's
reasons and details. Since v1.25 pods with `spec.os.name: windows` are exempt from the Linux-only ones."""
from __future__ import annotations

from apiserver.admission.podsecurity.checkresult import (
    ALLOWED,
    CheckResult,
    JSONDict,
    containers,
    forbid,
    is_windows,
    join_quote,
    named,
    pluralize,
    pod_context,
    security_context,
)

ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                          "projected", "secret")
RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)


def _exempt_windows(spec: JSONDict, minor: int) -> bool:
    return minor >= 25 and is_windows(spec)


def allow_privilege_escalation(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    if minor < 8 or _exempt_windows(spec, minor):
        return ALLOWED
    bad = [str(container.get("name") or "") for container in containers(spec)
           if (security_context(container) or {}).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return ALLOWED
    return forbid("allowPrivilegeEscalation != false",
                  f"{named('container', bad)} must set securityContext.allowPrivilegeEscalation=false")


def capabilities_restricted(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    if _exempt_windows(spec, minor):
        return ALLOWED
    missing_drop, adding, added = [], [], set()
    for container in containers(spec):
        name = str(container.get("name") or "")
        capabilities = (security_context(container) or {}).get("capabilities")
        if not isinstance(capabilities, dict):
            missing_drop.append(name)
            continue
        if "ALL" not in (capabilities.get("drop") or ()):
            missing_drop.append(name)
        extra = [str(item) for item in capabilities.get("add") or () if item != "NET_BIND_SERVICE"]
        if extra:
            adding.append(name)
            added.update(extra)
    details = []
    if missing_drop:
        details.append(f'{named("container", missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{named('container', adding)} must not include {join_quote(sorted(added))} in "
                       "securityContext.capabilities.add")
    return forbid("unrestricted capabilities", "; ".join(details)) if details else ALLOWED


def restricted_volumes(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    bad_volumes, bad_types = [], set()
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, dict) or any(volume.get(source) is not None for source in ALLOWED_VOLUME_SOURCES):
            continue
        bad_volumes.append(str(volume.get("name") or ""))
        source = next((source for source in RESTRICTED_VOLUME_SOURCES if volume.get(source) is not None), "unknown")
        bad_types.add(source)
    if not bad_volumes:
        return ALLOWED
    return forbid("restricted volume types",
                  f"{named('volume', bad_volumes)} {pluralize('uses', 'use', len(bad_volumes))} "
                  f"{pluralize('restricted volume type', 'restricted volume types', len(bad_types))} "
                  f"{join_quote(sorted(bad_types))}")


def run_as_non_root(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    pod_value = pod_context(spec).get("runAsNonRoot")
    setters = ["pod"] if pod_value is False else []
    explicit, implicit = [], []
    for container in containers(spec):
        value = (security_context(container) or {}).get("runAsNonRoot")
        if value is False:
            explicit.append(str(container.get("name") or ""))
        elif value is None and pod_value is not True:
            implicit.append(str(container.get("name") or ""))
    if explicit:
        setters.append(named("container", explicit))
    if setters:
        return forbid("runAsNonRoot != true",
                      f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return forbid("runAsNonRoot != true",
                      f"pod or {named('container', implicit)} must set securityContext.runAsNonRoot=true")
    return ALLOWED


def run_as_user(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    if minor < 23:
        return ALLOWED
    setters = ["pod"] if pod_context(spec).get("runAsUser") == 0 else []
    explicit = [str(container.get("name") or "") for container in containers(spec)
                if (security_context(container) or {}).get("runAsUser") == 0]
    if explicit:
        setters.append(named("container", explicit))
    return forbid("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else ALLOWED


def seccomp_profile_restricted(metadata: JSONDict, spec: JSONDict, minor: int) -> CheckResult:
    if _exempt_windows(spec, minor):
        return ALLOWED
    bad_values: set[str] = set()
    profile = pod_context(spec).get("seccompProfile")
    pod_set = isinstance(profile, dict) and profile.get("type") in ("RuntimeDefault", "Localhost")
    setters = []
    if isinstance(profile, dict) and not pod_set:
        setters.append("pod")
        bad_values.add(str(profile.get("type") or ""))
    explicit, implicit = [], []
    for container in containers(spec):
        own = (security_context(container) or {}).get("seccompProfile")
        if isinstance(own, dict):
            if own.get("type") not in ("RuntimeDefault", "Localhost"):
                explicit.append(str(container.get("name") or ""))
                bad_values.add(str(own.get("type") or ""))
        elif not pod_set:
            implicit.append(str(container.get("name") or ""))
    if explicit:
        setters.append(named("container", explicit))
    if setters:
        return forbid("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type "
                                        f"to {join_quote(sorted(bad_values))}")
    if implicit:
        return forbid("seccompProfile", f"pod or {named('container', implicit)} must set "
                                        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return ALLOWED
