"""The binding editor: a RoleBinding or ClusterRoleBinding from form fields, saved as the logged-in user.

A binding's `roleRef` is immutable in the API (an update changing it is refused as Invalid), so changing the role
of an existing binding REPLACES it: the old binding is deleted (preconditioned on its uid and resourceVersion, so
a concurrent change is not lost) and a new one with the same name is created, as `kubectl auth reconcile
--remove-extra-subjects` and rbac-manager do. If the server refuses the new binding (e.g. an escalation check),
the old one is put back as it was, and the page says so.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apiserver.client.client import ApiClient
from apiserver.meta.errors import ApiError
from console.rbac.escalation import MissingRule, missing_permissions
from console.rbac.policy import CLUSTER_ROLE_BINDINGS, ROLE_BINDINGS
from console.rbac.rules import RBAC_GROUP

KINDS = ("RoleBinding", "ClusterRoleBinding")
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")
ROLE_KINDS = ("ClusterRole", "Role")
COMMON_GROUPS = ("system:authenticated", "system:unauthenticated", "system:serviceaccounts", "system:masters",
                 "system:nodes", "system:bootstrappers", "system:monitoring")
JSONDict = dict[str, Any]


@dataclass
class BindingForm:
    """The editor's fields; `original_name` is set when editing an existing binding."""

    kind: str = "RoleBinding"
    namespace: str = ""
    name: str = ""
    role_kind: str = "ClusterRole"
    role_name: str = ""
    subjects: list[JSONDict] = field(default_factory=list)
    original_name: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def resource_kind(self) -> str:
        return self.kind if self.kind in KINDS else "RoleBinding"

    def to_object(self) -> JSONDict:
        metadata: JSONDict = {"name": self.name}
        if self.kind == "RoleBinding":
            metadata["namespace"] = self.namespace
        return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": self.kind, "metadata": metadata,
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": self.role_kind, "name": self.role_name},
                "subjects": self.subjects}


@dataclass
class SaveResult:
    ok: bool
    action: str = ""  # "created" | "updated" | "replaced"
    saved: JSONDict = field(default_factory=dict)
    error: str = ""
    missing: list[MissingRule] = field(default_factory=list)
    restored: bool = False


def form_from_post(data: Mapping[str, Any], get_list: Any) -> BindingForm:
    """Fields from a POST (`get_list` is QueryDict.getlist); problems are collected, nothing raises."""
    form = BindingForm(kind=str(data.get("kind") or "RoleBinding"), namespace=str(data.get("namespace") or "").strip(),
                       name=str(data.get("name") or "").strip(), role_kind=str(data.get("role_kind") or "ClusterRole"),
                       role_name=str(data.get("role_name") or "").strip(),
                       original_name=str(data.get("original_name") or "").strip())
    if form.kind not in KINDS:
        form.problems.append(f"Unknown binding kind {form.kind!r}.")
    if form.role_kind not in ROLE_KINDS:
        form.problems.append(f"Unknown role kind {form.role_kind!r}.")
    if form.kind == "ClusterRoleBinding" and form.role_kind == "Role":
        form.problems.append("A ClusterRoleBinding can only refer to a ClusterRole.")
    if form.kind == "RoleBinding" and not form.namespace:
        form.problems.append("A RoleBinding needs a namespace.")
    rows = zip(get_list("subject_kind"), get_list("subject_name"), get_list("subject_namespace"), strict=False)
    form.subjects = [subject for subject in (_subject(*row) for row in rows) if subject]
    return form


def _subject(kind: str, name: str, namespace: str) -> JSONDict | None:
    name, namespace = name.strip(), namespace.strip()
    if not name:
        return None
    if kind == "ServiceAccount":
        if "/" in name and not namespace:  # picked from the list as namespace/name
            namespace, name = name.split("/", 1)
        return {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    return {"kind": kind, "apiGroup": RBAC_GROUP, "name": name}


def form_from_binding(binding: Mapping[str, Any]) -> BindingForm:
    metadata = binding.get("metadata") or {}
    role_ref = binding.get("roleRef") or {}
    return BindingForm(kind=str(binding.get("kind") or "RoleBinding"), namespace=str(metadata.get("namespace") or ""),
                       name=str(metadata.get("name") or ""), role_kind=str(role_ref.get("kind") or "ClusterRole"),
                       role_name=str(role_ref.get("name") or ""), subjects=list(binding.get("subjects") or ()),
                       original_name=str(metadata.get("name") or ""))


def _resource(kind: str) -> Any:
    return ROLE_BINDINGS if kind == "RoleBinding" else CLUSTER_ROLE_BINDINGS


async def save_binding(client: ApiClient, form: BindingForm) -> SaveResult:
    """Create, update or replace (see the module docstring) as the user; ApiErrors become a failed result."""
    resource = _resource(form.kind)
    namespace = form.namespace if form.kind == "RoleBinding" else ""
    wanted = form.to_object()
    try:
        if not form.original_name:
            return SaveResult(True, "created", await client.create(resource, wanted, namespace=namespace))
        current = await client.get(resource, form.original_name, namespace=namespace)
    except ApiError as error:
        return _failed(error)
    if form.name != form.original_name:
        return SaveResult(False, error="A binding cannot be renamed; create a new one instead.")
    if (current.get("roleRef") or {}) == wanted["roleRef"]:
        updated = {**current, "subjects": form.subjects}
        try:
            return SaveResult(True, "updated", await client.update(resource, updated, namespace=namespace))
        except ApiError as error:
            return _failed(error)
    return await _replace(client, resource, namespace, current, wanted)


async def _replace(client: ApiClient, resource: Any, namespace: str, current: JSONDict, wanted: JSONDict) -> SaveResult:
    metadata = current.get("metadata") or {}
    preconditions = {"uid": metadata.get("uid"), "resourceVersion": metadata.get("resourceVersion")}
    wanted["metadata"] = {**_kept_metadata(metadata), **wanted["metadata"]}
    try:
        await client.delete(resource, str(metadata.get("name")), namespace=namespace,
                            options={"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": preconditions})
    except ApiError as error:
        return _failed(error)
    try:
        return SaveResult(True, "replaced", await client.create(resource, wanted, namespace=namespace))
    except ApiError as error:
        result = _failed(error)
    old = {**current, "metadata": _kept_metadata(metadata) | {"name": metadata.get("name")}}
    if namespace:
        old["metadata"]["namespace"] = namespace
    try:
        await client.create(resource, old, namespace=namespace)
        result.restored = True
    except ApiError as error:
        result.error += f" (restoring the old binding failed too: {error.message})"
    return result


def _kept_metadata(metadata: Mapping[str, Any]) -> JSONDict:
    """Labels and annotations carry over to a replacement; server-set fields do not."""
    return {key: metadata[key] for key in ("labels", "annotations") if metadata.get(key)}


def _failed(error: ApiError) -> SaveResult:
    return SaveResult(False, error=error.message, missing=missing_permissions(error.message))


def subject_rows(subjects: Sequence[Mapping[str, Any]], blank: int = 2) -> list[JSONDict]:
    """Editor rows: the binding's subjects, then `blank` empty rows."""
    rows = [{"kind": str(s.get("kind") or "User"), "name": str(s.get("name") or ""),
             "namespace": str(s.get("namespace") or "")} for s in subjects]
    return rows + [{"kind": "User", "name": "", "namespace": ""} for _ in range(blank)]
