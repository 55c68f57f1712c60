"""Create from multi-document YAML with `kubectl apply --server-side` semantics, one result per object.

Each document is applied in order with server-side apply (PATCH `application/apply-patch+yaml`, field manager
`pilothouse-console`, strict field validation): the object is created when it does not exist and updated when it
does, so pasting the same YAML twice is safe. A failing document does not stop the ones after it (kubectl also
goes on and reports every error). Results say what plain `kubectl apply` would print: created, configured or
unchanged, or the server's refusal; "unchanged" is decided by comparing the object before and after without
managedFields and resourceVersion, so a dry-run can say it too.

A namespaced object without `metadata.namespace` goes to the namespace chosen on the page (kubectl's default
namespace); a cluster-scoped object never gets one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apiserver.client.transports import Transport
from console.edit import apply
from console.edit.documents import Document, applied_intent, load_documents
from console.edit.resolver import DiscoveryFailed, KindResolver, ResolvedKind, UnknownKind
from console.edit.status import Cause

CREATED = "created"
CONFIGURED = "configured"
UNCHANGED = "unchanged"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class ObjectResult:
    index: int
    kind: str
    name: str
    namespace: str
    outcome: str
    message: str = ""
    causes: tuple[Cause, ...] = ()
    warnings: tuple[str, ...] = ()
    target: ResolvedKind | None = None

    @property
    def reference(self) -> str:
        """`kind/name`, as kubectl prints it."""
        return f"{self.kind or '(no kind)'}/{self.name or '(no name)'}"


async def apply_documents(transport: Transport, text: str, *, namespace: str,
                          dry_run: bool = False) -> list[ObjectResult]:
    """Apply every document of `text` in order (raises documents.YAMLError for text that is not YAML)."""
    documents = load_documents(text)
    resolver = KindResolver(transport)
    return [await _apply_document(transport, resolver, document, namespace, dry_run) for document in documents]


async def _apply_document(transport: Transport, resolver: KindResolver, document: Document, default_namespace: str,
                          dry_run: bool) -> ObjectResult:
    obj = document.obj
    if obj is None:
        return ObjectResult(document.index, "", "", "", ERROR, document.error)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind, api_version = str(obj.get("kind") or ""), str(obj.get("apiVersion") or "")
    name, namespace = str(metadata.get("name") or ""), str(metadata.get("namespace") or "")
    failed = _identity_error(api_version, kind, name)
    if failed:
        return ObjectResult(document.index, kind, name, namespace, ERROR, failed)
    try:
        target = await resolver.by_kind(api_version, kind)
    except (UnknownKind, DiscoveryFailed) as error:
        message = f"{error}; ensure CRDs are installed first" if isinstance(error, UnknownKind) else str(error)
        return ObjectResult(document.index, kind, name, namespace, ERROR, message)
    namespace = (namespace or default_namespace) if target.resource.namespaced else ""
    intent = applied_intent(obj)
    if namespace:
        intent["metadata"] = {**intent.get("metadata", {}), "namespace": namespace}
    return await _send(transport, document.index, target, namespace, name, intent, dry_run)


async def _send(transport: Transport, index: int, target: ResolvedKind, namespace: str, name: str,
                intent: dict[str, Any], dry_run: bool) -> ObjectResult:
    resource = target.resource
    before = await apply.fetch(transport, resource, namespace, name)
    answer = await apply.server_side_apply(transport, resource, namespace, name, intent, dry_run=dry_run)
    if answer.problem is not None:
        return ObjectResult(index, target.kind, name, namespace, ERROR, answer.problem.message, answer.problem.causes,
                            answer.warnings, target)
    if answer.status == 201:
        outcome = CREATED
    elif before.obj is not None and _comparable(before.obj) == _comparable(answer.obj or {}):
        outcome = UNCHANGED
    else:
        outcome = CONFIGURED
    return ObjectResult(index, target.kind, name, namespace, outcome, warnings=answer.warnings, target=target)


def _identity_error(api_version: str, kind: str, name: str) -> str:
    """kubectl's complaint about a document that cannot name its resource, or ""."""
    if not kind:
        return "Object 'Kind' is missing: every document needs apiVersion and kind"
    if not api_version:
        return "Object 'apiVersion' is missing: every document needs apiVersion and kind"
    if not name:
        return "metadata.name is required: server-side apply names the object it creates or updates"
    return ""


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    volatile = ("managedFields", "resourceVersion")
    return {**obj, "metadata": {key: value for key, value in metadata.items() if key not in volatile}}
