"""What a check returns and the words upstream's checks build their details from.

`CheckResult` is allowed, or forbidden with a short reason and a detail; `pluralize`, `join_quote` and
`containers` (init containers, then containers, then ephemeral containers) are upstream's helpers, so details
read exactly as kube-apiserver writes them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CheckResult:
    allowed: bool = True
    reason: str = ""
    detail: str = ""


ALLOWED = CheckResult()
Check = Callable[[JSONDict, JSONDict], CheckResult]
"""(pod or template metadata, pod spec) → result."""


def forbid(reason: str, detail: str) -> CheckResult:
    return CheckResult(False, reason, detail)


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def containers(spec: JSONDict) -> Iterator[JSONDict]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                yield container


def security_context(holder: JSONDict) -> JSONDict | None:
    value = holder.get("securityContext")
    return value if isinstance(value, dict) else None


def pod_context(spec: JSONDict) -> JSONDict:
    return security_context(spec) or {}


def named(kind: str, names: list[str]) -> str:
    """`container "a"` / `containers "a", "b"`."""
    return f"{pluralize(kind, kind + 's', len(names))} {join_quote(names)}"


def is_windows(spec: JSONDict) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"
