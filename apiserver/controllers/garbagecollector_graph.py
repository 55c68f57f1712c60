"""The garbage collector's owner graph: every observed object as a node keyed by uid, linked to its owners.

The shape of kube-controller-manager's GraphBuilder (pkg/controller/garbagecollector/graph_builder.go): informer
events update the graph synchronously and answer the work they cause, as keys for the collector's queue —
`delete:<uid>` (attempt to delete the object, or, for an owner deleting in the foreground, to finish that) and
`orphan:<uid>` (take the owner's reference out of its dependents). An owner that is referenced but not observed
gets a *virtual* node, checked by a live read; the collector reports what it found absent back through
`virtual_delete`. Pure and synchronous: nothing here does I/O.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from apiserver.meta.objects import name_of, namespace_of, uid_of
from apiserver.meta.validation import FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN

JSONDict = dict[str, Any]
ABSENT_OWNER_CACHE_SIZE = 500  # upstream's absentOwnerCache size


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an object is: owner-reference coordinates plus the namespace ("" when cluster-scoped or unknown)."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str = ""


@dataclass(slots=True)
class Node:
    """One object in the graph. `owners` are its ownerReferences as last observed; `dependents` the uids of the
    observed objects that name it as an owner. A virtual node (`observed` False) stands for an owner only
    referenced so far. `resource_key` is the (group, plural) of the informer that observed it."""

    identity: Identity
    owners: list[JSONDict] = field(default_factory=list)
    dependents: set[str] = field(default_factory=set)
    observed: bool = False
    resource_key: tuple[str, str] | None = None
    being_deleted: bool = False
    deleting_dependents: bool = False
    waiting_for_orphaning: bool = False
    waiting_for_dependents: bool = False


def delete_key(uid: str) -> str:
    return f"delete:{uid}"


def orphan_key(uid: str) -> str:
    return f"orphan:{uid}"


def owner_references(obj: JSONDict) -> list[JSONDict]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [ref for ref in refs if isinstance(ref, dict) and ref.get("uid")]


def finalizers(obj: JSONDict) -> list[str]:
    return [str(item) for item in (obj.get("metadata") or {}).get("finalizers") or []]


def is_being_deleted(obj: JSONDict) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_blocking(ref: JSONDict) -> bool:
    return ref.get("blockOwnerDeletion") is True


def reference_identity(ref: JSONDict, namespace: str) -> Identity:
    return Identity(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), str(ref.get("name") or ""),
                    str(ref.get("uid") or ""), namespace)


class AbsentOwners:
    """Owners known to be absent, by (uid, namespace): a bounded LRU set, so a dangling reference shared by many
    dependents is read once."""

    def __init__(self, size: int = ABSENT_OWNER_CACHE_SIZE) -> None:
        self._entries: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._size = size

    def add(self, uid: str, namespace: str) -> None:
        self._entries[(uid, namespace)] = None
        self._entries.move_to_end((uid, namespace))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def has(self, uid: str, namespace: str) -> bool:
        return (uid, namespace) in self._entries


class OwnerGraph:
    """uid → Node, changed only by `observe` and `virtual_delete`, which answer the work keys they cause."""

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self.absent = AbsentOwners()

    def get(self, uid: str) -> Node | None:
        return self._nodes.get(uid)

    def __len__(self) -> int:
        return len(self._nodes)

    def dependents(self, node: Node) -> list[Node]:
        return [dependent for uid in sorted(node.dependents) if (dependent := self._nodes.get(uid)) is not None]

    def blocking_dependents(self, node: Node) -> list[Node]:
        """Dependents whose reference to `node` has blockOwnerDeletion: the ones a foreground delete waits for."""
        uid = node.identity.uid
        return [dependent for dependent in self.dependents(node)
                if any(ref.get("uid") == uid and is_blocking(ref) for ref in dependent.owners)]

    def observe(self, event_type: str, obj: JSONDict, api_version: str, kind: str,
                resource_key: tuple[str, str]) -> list[str]:
        """Apply one informer event for an object of `kind` in `api_version`; answers the work it causes."""
        uid = uid_of(obj)
        if not uid:
            return []
        if event_type == "DELETED":
            node = self._nodes.get(uid)
            return [] if node is None else self._remove(node)
        identity = Identity(api_version, kind, name_of(obj), uid, namespace_of(obj))
        node = self._nodes.get(uid)
        work: list[str] = []
        if node is None:
            node = Node(identity, owners=owner_references(obj), observed=True, resource_key=resource_key)
            self._nodes[uid] = node
            work += self._link(node, node.owners)
        else:
            work += self._update(node, identity, obj, resource_key)
        if is_being_deleted(obj):
            node.being_deleted = True
            node.deleting_dependents = node.deleting_dependents or FINALIZER_DELETE_DEPENDENTS in finalizers(obj)
        return work + self._transitions(node, obj)

    def _update(self, node: Node, identity: Identity, obj: JSONDict, resource_key: tuple[str, str]) -> list[str]:
        work: list[str] = []
        if not node.observed:
            # A virtual node seen for real: its dependents may have named it by other coordinates; each one's
            # own check reads the owner where its reference points.
            node.observed, node.identity, node.resource_key = True, identity, resource_key
            work += [delete_key(uid) for uid in sorted(node.dependents)]
        new_owners = owner_references(obj)
        old = {str(ref["uid"]): ref for ref in node.owners}
        new = {str(ref["uid"]): ref for ref in new_owners}
        added = [ref for uid, ref in new.items() if uid not in old]
        removed = [ref for uid, ref in old.items() if uid not in new]
        unblocked = [ref for uid, ref in old.items() if uid in new and is_blocking(ref) and not is_blocking(new[uid])]
        node.owners = new_owners
        if added or removed or unblocked:
            work += self._unblocked_owners([ref for ref in removed if is_blocking(ref)] + unblocked)
            work += self._link(node, added)
            for ref in removed:
                if (owner := self._nodes.get(str(ref["uid"]))) is not None:
                    owner.dependents.discard(identity.uid)
        return work

    def _link(self, node: Node, refs: list[JSONDict]) -> list[str]:
        """Add `node` to its owners' dependents, making virtual owners (to be checked) for unknown ones; a
        reference that may not match the owner it found (upstream's hasPotentiallyInvalidOwnerReference) queues
        the dependent itself, whose check reads each owner where its reference points."""
        work: list[str] = []
        suspect = False
        for ref in refs:
            owner_uid = str(ref["uid"])
            owner = self._nodes.get(owner_uid)
            if owner is None:
                owner = Node(reference_identity(ref, node.identity.namespace))
                self._nodes[owner_uid] = owner
                work.append(delete_key(owner_uid))
            else:
                suspect = suspect or _may_not_match(ref, owner, node)
                # An owner already waiting for its dependents' deletion (foreground) queued the dependents it knew
                # then; one observed later (e.g. listed after it) must be checked too, or the owner waits forever.
                suspect = suspect or owner.waiting_for_dependents
            owner.dependents.add(node.identity.uid)
        return [*work, delete_key(node.identity.uid)] if suspect else work

    def _unblocked_owners(self, refs: list[JSONDict]) -> list[str]:
        """Owners deleting in the foreground that a dependent stopped blocking: they may be done now."""
        return [delete_key(str(ref["uid"])) for ref in refs
                if (owner := self._nodes.get(str(ref["uid"]))) is not None and owner.deleting_dependents]

    def _transitions(self, node: Node, obj: JSONDict) -> list[str]:
        """Work when an object starts waiting for its dependents to be orphaned or deleted (upstream's
        processTransitions); an informer relist starts over, which the work tolerates."""
        deleting = is_being_deleted(obj)
        orphaning = deleting and FINALIZER_ORPHAN in finalizers(obj)
        foreground = deleting and FINALIZER_DELETE_DEPENDENTS in finalizers(obj)
        started_orphaning = orphaning and not node.waiting_for_orphaning
        started_foreground = foreground and not node.waiting_for_dependents
        node.waiting_for_orphaning, node.waiting_for_dependents = orphaning, foreground
        if started_orphaning:
            return [orphan_key(node.identity.uid)]
        if started_foreground:
            node.deleting_dependents = True
            return [*(delete_key(uid) for uid in sorted(node.dependents)), delete_key(node.identity.uid)]
        return []

    def virtual_delete(self, identity: Identity) -> list[str]:
        """The collector found `identity` absent by a live read (not found, or another uid there)."""
        node = self._nodes.get(identity.uid)
        if node is None:
            return []
        if node.observed and node.identity != identity:
            # The observed object is not the one found absent: keep it; dependents recheck their own references.
            return [delete_key(uid) for uid in sorted(node.dependents)]
        return self._remove(node)

    def _remove(self, node: Node) -> list[str]:
        uid = node.identity.uid
        self._nodes.pop(uid, None)
        for ref in node.owners:
            if (owner := self._nodes.get(str(ref["uid"]))) is not None:
                owner.dependents.discard(uid)
        if node.dependents:
            self.absent.add(uid, node.identity.namespace)
        work = [delete_key(dependent) for dependent in sorted(node.dependents)]
        return work + [delete_key(str(ref["uid"])) for ref in node.owners
                       if (owner := self._nodes.get(str(ref["uid"]))) is not None and owner.deleting_dependents]


def _may_not_match(ref: JSONDict, owner: Node, dependent: Node) -> bool:
    """An owner in another namespace, known by other coordinates, or virtual and cluster-scoped for a dependent
    elsewhere (possibly a namespaced owner named by a cluster-scoped object): the reference needs checking."""
    namespace = owner.identity.namespace
    if namespace and namespace != dependent.identity.namespace:
        return True
    same = reference_identity(ref, namespace)
    if same != owner.identity:
        return True
    return not namespace and namespace != dependent.identity.namespace and not owner.observed
