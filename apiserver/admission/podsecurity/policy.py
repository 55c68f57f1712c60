"""Levels, versions and the namespace labels that select them (upstream's pod-security-admission/api).

A namespace chooses, per mode (enforce, audit, warn), a level (`pod-security.kubernetes.io/<mode>`) and a
version (`pod-security.kubernetes.io/<mode>-version`, `latest` or `v1.<minor>`). Unset modes are
`privileged:latest`. Without its own warn label, warn follows a stricter enforce level (and its version).
Invalid labels are field errors at `metadata.labels[<label>]`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from apiserver.meta.validation import FieldError, FieldPath

LABEL_PREFIX = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
LATEST_MINOR = 32  # this server is v1.32: "latest" evaluates v1.32's checks
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")
LEVEL_PROBLEM = "must be one of privileged, baseline, restricted"
VERSION_PROBLEM = 'must be "latest" or "v1.x"'


@dataclass(frozen=True, slots=True)
class LevelVersion:
    """A level at a version; `minor` None is `latest`."""

    level: str = "privileged"
    minor: int | None = None

    def __str__(self) -> str:
        return f"{self.level}:{'latest' if self.minor is None else f'v1.{self.minor}'}"

    @property
    def effective_minor(self) -> int:
        return LATEST_MINOR if self.minor is None else min(self.minor, LATEST_MINOR)


@dataclass(frozen=True, slots=True)
class Policy:
    enforce: LevelVersion = field(default_factory=LevelVersion)
    audit: LevelVersion = field(default_factory=LevelVersion)
    warn: LevelVersion = field(default_factory=LevelVersion)

    @property
    def fully_privileged(self) -> bool:
        return all(mode.level == "privileged" for mode in (self.enforce, self.audit, self.warn))


def compare_levels(left: str, right: str) -> int:
    return LEVELS.index(left) - LEVELS.index(right)


def parse_version(value: str) -> int | str | None:
    """The minor of a version label (None for latest), or the problem text."""
    if value == "latest":
        return None
    match = _VERSION.match(value)
    return int(match.group(1)) if match else VERSION_PROBLEM


def policy_of(labels: Mapping[str, str] | None,
              defaults: Policy | None = None) -> tuple[Policy, list[FieldError]]:
    """PolicyToEvaluate: the namespace's policy and the errors of its labels (bad values keep the defaults).

    `defaults` are the configured ones (PodSecurityConfiguration), privileged:latest for every mode otherwise.
    """
    labels = labels or {}
    defaults = defaults or Policy()
    errors: list[FieldError] = []
    modes: dict[str, LevelVersion] = {}
    for mode in ("enforce", "audit", "warn"):
        current: LevelVersion = getattr(defaults, mode)
        if (level := labels.get(LABEL_PREFIX + mode)) is not None:
            if level in LEVELS:
                current = replace(current, level=level)
            else:
                errors.append(_invalid(LABEL_PREFIX + mode, level, LEVEL_PROBLEM))
        if (text := labels.get(f"{LABEL_PREFIX}{mode}-version")) is not None:
            minor = parse_version(text)
            if isinstance(minor, str):
                errors.append(_invalid(f"{LABEL_PREFIX}{mode}-version", text, minor))
            else:
                current = replace(current, minor=minor)
        modes[mode] = current
    enforce, warn = modes["enforce"], modes["warn"]
    has_enforce = labels.get(LABEL_PREFIX + "enforce") in LEVELS
    if LABEL_PREFIX + "warn" not in labels and has_enforce and compare_levels(enforce.level, warn.level) > 0:
        minor = warn.minor if f"{LABEL_PREFIX}warn-version" in labels else enforce.minor
        modes["warn"] = LevelVersion(enforce.level, minor)
    return Policy(modes["enforce"], modes["audit"], modes["warn"]), errors


def _invalid(label: str, value: str, problem: str) -> FieldError:
    return FieldError.invalid(FieldPath("metadata", "labels").key(label), value, problem)
