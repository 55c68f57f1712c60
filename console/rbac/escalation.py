"""Reading the server's RBAC escalation refusal so the page can list the missing permissions.

The API refuses a Role or binding write that grants more than the writer holds with a 403 whose message ends
`is attempting to grant RBAC permissions not currently held:` followed by one rule per line in upstream's compact
form, e.g. `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`, and optionally
`; resolution errors: [...]`. The console shows the server's message as it is, plus these rules as a table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "attempting to grant RBAC permissions not currently held:"
_FIELD = re.compile(r"(APIGroups|Resources|NonResourceURLs|ResourceNames|Verbs):\[([^\]]*)\]")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_LABELS = {"APIGroups": "api_groups", "Resources": "resources", "NonResourceURLs": "non_resource_urls",
           "ResourceNames": "resource_names", "Verbs": "verbs"}


@dataclass(frozen=True, slots=True)
class MissingRule:
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()


def is_escalation(message: str) -> bool:
    return MARKER in message


def missing_permissions(message: str) -> list[MissingRule]:
    """The rules listed after the marker (empty when the message is not an escalation refusal)."""
    if MARKER not in message:
        return []
    tail = message.split(MARKER, 1)[1].split("; resolution errors:", 1)[0]
    rules = []
    for line in tail.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        values = {_LABELS[label]: tuple(_unquote(value) for value in _QUOTED.findall(body))
                  for label, body in _FIELD.findall(line)}
        rules.append(MissingRule(**values))
    return rules


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)
