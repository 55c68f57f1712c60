"""The CRD naming controller: accepts a CRD's names unless another CRD of its group holds them.

The shape of apiextensions-apiserver's NamingConditionController (pkg/controller/status/naming_controller.go):
every CRD event becomes its name as a key (a CRD that goes away also queues the other CRDs of its group, which
may be waiting for the names it frees). `reconcile` compares spec.names with status.acceptedNames; each name that
differs is accepted when no CRD of the group already holds it (plural, singular and short names among resources,
kind and listKind among kinds), else the `NamesAccepted` condition is False with the conflict's reason
(`PluralConflict`, `SingularConflict`, `ShortNamesConflict`, `KindConflict`, `ListKindConflict`) and message
(`"foos" is already in use`); with no conflict it is True, `NoConflicts`, `no conflicts found`. `Established`
becomes False `NotAccepted` (`not all names are accepted`), or `Installing` (`the initial names have been
accepted`) once the names are accepted, unless it is True already. One worker, as upstream, and a record of its own
writes (the mutation cache), so two CRDs never take the same name.

Runs as the API server's loopback identity (system:apiserver in system:masters), as the extension server's
controllers do.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from apiserver.client.client import Resource
from apiserver.controllers.crd_controller import CRDController, crd_name
from apiserver.meta.objects import Clock, utc_now
from apiserver.resources.apiextensions.crd_conditions import (
    ESTABLISHED,
    NAMES_ACCEPTED,
    condition,
    find_condition,
    is_equivalent,
    set_condition,
)

JSONDict = dict[str, Any]
_NAME_FIELDS: Final = ("plural", "singular", "shortNames", "kind", "listKind", "categories")


def group_of(crd: Mapping[str, Any]) -> str:
    return str((crd.get("spec") or {}).get("group") or "")


def names_equal(spec_names: Mapping[str, Any], accepted: Mapping[str, Any]) -> bool:
    """Semantic equality of two CustomResourceDefinitionNames (absent and empty lists alike)."""
    return all((spec_names.get(key) or None) == (accepted.get(key) or None) for key in _NAME_FIELDS)


def _resource_version(obj: Mapping[str, Any]) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


class CRDNamingController(CRDController):
    name = "crd-naming-condition-controller"

    def __init__(self, clock: Clock = utc_now) -> None:
        super().__init__(clock)
        self._written: dict[str, JSONDict] = {}

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        name = crd_name(obj)
        keys = [name]
        if self._crds is not None:
            # A CRD that went away, or changed the names it holds, may free a name another CRD waits for.
            keys += [str(other["metadata"]["name"]) for other in self._crds.items()
                     if group_of(other) == group_of(obj) and other["metadata"].get("name") != name
                     and not names_equal((other.get("spec") or {}).get("names") or {},
                                         (other.get("status") or {}).get("acceptedNames") or {})]
        return keys

    def _current(self, name: str) -> JSONDict | None:
        assert self._crds is not None
        cached = self._crds.get(name)
        written = self._written.get(name)
        if cached is None:
            self._written.pop(name, None)
            return None
        if written is not None and _resource_version(written) > _resource_version(cached):
            return written
        self._written.pop(name, None)
        return cached

    def used_names(self, group: str) -> tuple[set[str], set[str]]:
        """The resource names and kinds the CRDs of a group have been given (accepted names)."""
        assert self._crds is not None
        resources: set[str] = set()
        kinds: set[str] = set()
        for item in self._crds.items():
            if group_of(item) != group:
                continue
            current = self._current(str(item["metadata"]["name"])) or item
            accepted = (current.get("status") or {}).get("acceptedNames") or {}
            resources.update(name for name in (accepted.get("plural"), accepted.get("singular"),
                                               *(accepted.get("shortNames") or ())) if name)
            kinds.update(name for name in (accepted.get("kind"), accepted.get("listKind")) if name)
        return resources, kinds

    def calculate(self, crd: Mapping[str, Any]) -> tuple[JSONDict, JSONDict, JSONDict]:
        """(accepted names, NamesAccepted condition, Established condition) for a CRD, as upstream computes."""
        resources, kinds = self.used_names(group_of(crd))
        requested = (crd.get("spec") or {}).get("names") or {}
        accepted = (crd.get("status") or {}).get("acceptedNames") or {}
        new_names: JSONDict = copy.deepcopy(dict(accepted))
        failure: tuple[str, str] | None = None
        for field, reason in (("plural", "PluralConflict"), ("singular", "SingularConflict")):
            problem = _taken(requested.get(field) or "", accepted.get(field) or "", resources)
            if problem is None:
                _set_name(new_names, field, requested.get(field))
            else:
                failure = (reason, problem)
        if (requested.get("shortNames") or []) != (accepted.get("shortNames") or []):
            problems = [problem for short in requested.get("shortNames") or ()
                        if short not in (accepted.get("shortNames") or ())
                        and short not in (accepted.get("plural"), accepted.get("singular"))
                        and (problem := _taken(short, "", resources)) is not None]
            if problems:
                failure = ("ShortNamesConflict", _aggregate(problems))
            else:
                _set_name(new_names, "shortNames", requested.get("shortNames"))
        for field, reason in (("kind", "KindConflict"), ("listKind", "ListKindConflict")):
            problem = _taken(requested.get(field) or "", accepted.get(field) or "", kinds)
            if problem is None:
                _set_name(new_names, field, requested.get(field))
            else:
                failure = (reason, problem)
        _set_name(new_names, "categories", requested.get("categories"))
        new_names = {field: new_names[field] for field in _NAME_FIELDS if field in new_names}
        if failure is None:
            names_accepted = condition(NAMES_ACCEPTED, "True", "NoConflicts", "no conflicts found")
        else:
            names_accepted = condition(NAMES_ACCEPTED, "False", *failure)
        return new_names, names_accepted, _established(crd, names_accepted)

    async def reconcile(self, key: str) -> None:
        crd = self._current(key)
        if crd is None:
            return
        spec_names = (crd.get("spec") or {}).get("names") or {}
        if names_equal(spec_names, (crd.get("status") or {}).get("acceptedNames") or {}):
            return
        names, names_accepted, established = self.calculate(crd)
        current_accepted = (crd.get("status") or {}).get("acceptedNames") or {}
        if names == current_accepted and is_equivalent(names_accepted, find_condition(crd, NAMES_ACCEPTED)):
            return
        updated = copy.deepcopy(crd)
        updated.setdefault("status", {})["acceptedNames"] = names
        now = self._clock()
        set_condition(updated, names_accepted, now)
        set_condition(updated, established, now)
        written = await self.write_status(updated)
        if written is not None:
            self._written[key] = written


def _established(crd: Mapping[str, Any], names_accepted: Mapping[str, Any]) -> JSONDict:
    old = find_condition(crd, ESTABLISHED)
    established = dict(old) if old is not None else condition(ESTABLISHED, "False", "NotAccepted",
                                                              "not all names are accepted")
    if established.get("status") != "True" and names_accepted.get("status") == "True":
        established = condition(ESTABLISHED, "False", "Installing", "the initial names have been accepted")
    return established


def _taken(requested: str, accepted: str, used: set[str]) -> str | None:
    """equalToAcceptedOrFresh: None when the name may be taken, else the conflict's message."""
    if requested == accepted or requested not in used:
        return None
    return f'"{requested}" is already in use'


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate's text: one message alone, several as `[a, b]`."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def _set_name(names: JSONDict, field: str, value: Any) -> None:
    if value:
        names[field] = copy.deepcopy(value)
    else:
        names.pop(field, None)
