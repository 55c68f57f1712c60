"""The YAML editor's page data: open an object for editing, then dry-run, apply or force-apply the edited text.

The editor holds the object's applied intent (no status, no managedFields, no server-owned metadata; see
documents.applied_intent), which is also what is sent, so the console's field manager owns exactly what the user
sees. A dry-run answers the object the server would store: the page diffs it against the live object before the
user applies. A conflict lists who owns which field; forcing needs an explicit confirmation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apiserver.client.transports import Transport
from console.edit import apply
from console.edit.apply import Answer
from console.edit.diff import DiffLine, object_diff
from console.edit.documents import YAMLError, applied_intent, dump_yaml, load_object
from console.edit.resolver import ResolvedKind
from console.edit.status import FieldConflict, Problem, field_conflicts

DRY_RUN = "dry-run"
APPLY = "apply"
FORCE = "force"
ACTIONS = (DRY_RUN, APPLY, FORCE)
FORCE_NOT_CONFIRMED = "Forcing takes the conflicting fields from their managers: tick the confirmation to force."


@dataclass(frozen=True, slots=True)
class EditTarget:
    kind: ResolvedKind
    namespace: str
    name: str

    @property
    def group_segment(self) -> str:
        """The URL segment naming the group: "core" for the legacy group."""
        return self.kind.resource.group or "core"


@dataclass(frozen=True, slots=True)
class EditorPage:
    target: EditTarget
    text: str = ""
    problem: Problem | None = None  # the last request's refusal (GET, dry-run or apply)
    yaml_error: str = ""
    action: str = ""
    done: bool = False  # the action succeeded (dry-run answered, or the apply stored)
    diff: tuple[DiffLine, ...] = ()
    warnings: tuple[str, ...] = ()
    conflicts: tuple[FieldConflict, ...] = ()
    notice: str = ""
    exists: bool = True
    result: dict[str, Any] | None = field(default=None)


async def open_editor(transport: Transport, target: EditTarget) -> EditorPage:
    """The editor filled with the live object's intent, or the server's refusal."""
    live = await apply.fetch(transport, target.kind.resource, target.namespace, target.name)
    if live.problem is not None:
        return EditorPage(target, problem=live.problem, exists=False, warnings=live.warnings)
    return EditorPage(target, text=editable_text(live.obj or {}), warnings=live.warnings)


async def submit(transport: Transport, target: EditTarget, text: str, action: str, *,
                 force_confirmed: bool = False) -> EditorPage:
    """Run `action` (dry-run, apply or force) on the edited `text`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown editor action {action!r}")
    try:
        intent = applied_intent(load_object(text))
    except YAMLError as error:
        return EditorPage(target, text=text, yaml_error=str(error), action=action)
    if action == FORCE and not force_confirmed:
        return EditorPage(target, text=text, action=action, notice=FORCE_NOT_CONFIRMED)
    resource = target.kind.resource
    live = await apply.fetch(transport, resource, target.namespace, target.name)
    answer = await apply.server_side_apply(transport, resource, target.namespace, target.name, intent,
                                           dry_run=action == DRY_RUN, force=action == FORCE)
    return _answered(target, text, action, live, answer)


def editable_text(obj: dict[str, Any]) -> str:
    return dump_yaml(applied_intent(obj))


def _answered(target: EditTarget, text: str, action: str, live: Answer, answer: Answer) -> EditorPage:
    warnings = answer.warnings
    if answer.problem is not None:
        return EditorPage(target, text=text, problem=answer.problem, action=action, warnings=warnings,
                          conflicts=field_conflicts(answer.problem))
    result = answer.obj or {}
    diff = object_diff(live.obj, result, live_label="live", proposed_label="dry-run" if action == DRY_RUN
                       else "applied")
    stored_text = text if action == DRY_RUN else editable_text(result)
    return EditorPage(target, text=stored_text, action=action, done=True, diff=diff, warnings=warnings,
                      result=result)
