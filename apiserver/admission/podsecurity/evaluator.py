"""Which checks a level runs at a version, in upstream's order, and how failures are worded.

Upstream's check registry: Baseline checks sorted by ID, then Restricted checks sorted by ID; Restricted runs
every Baseline check except those a Restricted check overrides (from the version that check appeared in).
A forbidden result reads `<reason> (<detail>)`, joined by `, `.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apiserver.admission.podsecurity import checks_baseline as baseline
from apiserver.admission.podsecurity import checks_restricted as restricted
from apiserver.admission.podsecurity.checkresult import CheckResult, JSONDict
from apiserver.admission.podsecurity.policy import LevelVersion

VersionedCheck = Callable[[JSONDict, JSONDict, int], CheckResult]


@dataclass(frozen=True, slots=True)
class RegisteredCheck:
    id: str
    level: str
    run: VersionedCheck
    since: int = 0
    overrides: tuple[str, ...] = ()


CHECKS = (
    RegisteredCheck("appArmorProfile", "baseline", baseline.app_armor_profile),
    RegisteredCheck("capabilities_baseline", "baseline", baseline.capabilities_baseline),
    RegisteredCheck("hostNamespaces", "baseline", baseline.host_namespaces),
    RegisteredCheck("hostPathVolumes", "baseline", baseline.host_path_volumes),
    RegisteredCheck("hostPorts", "baseline", baseline.host_ports),
    RegisteredCheck("hostProcess", "baseline", baseline.host_process),
    RegisteredCheck("privileged", "baseline", baseline.privileged),
    RegisteredCheck("procMount", "baseline", baseline.proc_mount),
    RegisteredCheck("seLinuxOptions", "baseline", baseline.se_linux_options),
    RegisteredCheck("seccompProfile_baseline", "baseline", baseline.seccomp_profile_baseline),
    RegisteredCheck("sysctls", "baseline", baseline.sysctls),
    RegisteredCheck("allowPrivilegeEscalation", "restricted", restricted.allow_privilege_escalation, 8),
    RegisteredCheck("capabilities_restricted", "restricted", restricted.capabilities_restricted, 22,
                    ("capabilities_baseline",)),
    RegisteredCheck("restrictedVolumes", "restricted", restricted.restricted_volumes, 0, ("hostPathVolumes",)),
    RegisteredCheck("runAsNonRoot", "restricted", restricted.run_as_non_root),
    RegisteredCheck("runAsUser", "restricted", restricted.run_as_user, 23),
    RegisteredCheck("seccompProfile_restricted", "restricted", restricted.seccomp_profile_restricted, 19,
                    ("seccompProfile_baseline",)),
)


def checks_for(level_version: LevelVersion) -> list[RegisteredCheck]:
    if level_version.level == "privileged":
        return []
    minor = level_version.effective_minor
    present = [check for check in CHECKS if check.since <= minor]
    if level_version.level == "baseline":
        return [check for check in present if check.level == "baseline"]
    overridden = {name for check in present if check.level == "restricted" for name in check.overrides}
    return [check for check in present if check.id not in overridden]


def evaluate_pod(level_version: LevelVersion, metadata: JSONDict, spec: JSONDict) -> list[CheckResult]:
    """The failed checks of a pod (or template) at a level and version, in upstream's order."""
    minor = level_version.effective_minor
    results = (check.run(metadata, spec, minor) for check in checks_for(level_version))
    return [result for result in results if not result.allowed]


def forbidden_detail(failures: list[CheckResult]) -> str:
    parts = []
    for failure in failures:
        reason = failure.reason or "unknown forbidden reason"
        parts.append(f"{reason} ({failure.detail})" if failure.detail else reason)
    return ", ".join(parts)
