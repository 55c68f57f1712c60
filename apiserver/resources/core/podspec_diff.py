"""A go-cmp style report of what differs between two objects, for the Forbidden errors that end with a diff.

Upstream prints `cmp.Diff(old, new)` of its internal Go structs; go-cmp's output is unstable by design (it even
varies its whitespace), so clients cannot depend on its bytes. This prints the same shape: the Go type, Go field
names, `-` lines for the old value and `+` lines for the new, and runs of identical fields elided.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

_GO_NAMES: Final = {
    "dnsPolicy": "DNSPolicy", "dnsConfig": "DNSConfig", "hostIPC": "HostIPC", "hostPID": "HostPID",
    "tty": "TTY", "hostIP": "HostIP", "apiVersion": "APIVersion", "uid": "UID", "iscsi": "ISCSI", "nfs": "NFS",
    "csi": "CSI", "fc": "FC", "rbd": "RBD", "downwardAPI": "DownwardAPI", "httpGet": "HTTPGet",
    "grpc": "GRPC", "os": "OS",
}


def _go_name(key: str) -> str:
    return _GO_NAMES.get(key) or key[:1].upper() + key[1:]


def _literal(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def spec_diff(old: Mapping[str, Any], new: Mapping[str, Any], type_name: str = "core.PodSpec") -> str:
    """What differs between `old` and `new` (`-` old, `+` new), headed by the Go type name; ends with a newline."""
    lines = [f"  {type_name}{{"]
    _diff_fields(old, new, 1, lines)
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _diff_fields(old: Mapping[str, Any], new: Mapping[str, Any], depth: int, lines: list[str]) -> None:
    indent = "\t" * depth
    identical = 0
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            identical += 1
            continue
        if identical:
            lines.append(f"  {indent}... // {identical} identical fields")
            identical = 0
        _diff_value(f"{_go_name(key)}: ", before, after, depth, lines)
    if identical:
        lines.append(f"  {indent}... // {identical} identical fields")


def _diff_value(label: str, before: Any, after: Any, depth: int, lines: list[str]) -> None:
    indent = "\t" * depth
    if isinstance(before, dict) and isinstance(after, dict):
        lines.append(f"  {indent}{label}{{")
        _diff_fields(before, after, depth + 1, lines)
        lines.append(f"  {indent}}},")
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        lines.append(f"  {indent}{label}{{")
        for old_item, new_item in zip(before, after, strict=True):
            if old_item == new_item:
                lines.append(f"  {indent}\t{_literal(old_item) if not isinstance(old_item, dict) else '{...}'},")
            else:
                _diff_value("", old_item, new_item, depth + 1, lines)
        lines.append(f"  {indent}}},")
    else:
        lines.append(f"- {indent}{label}{_literal(before)},")
        lines.append(f"+ {indent}{label}{_literal(after)},")
