"""The operations of the OpenAPI documents, derived from the served resource specs (one model, two renderings).

For every served resource, the paths and operations kube-apiserver's installer publishes: list, create and
deletecollection on the collection; read, replace, patch and delete on the item; list across namespaces; the
deprecated `/watch/` paths; and each subresource (connect subresources with their GET/POST/... forms). Each
operation carries `x-kubernetes-action` and the `x-kubernetes-group-version-kind` of its object.

One deliberate addition: a create-only resource (SelfSubjectAccessReview, TokenReview, ...) also gets a PATCH
operation on its collection path. kubectl's default `--validate=strict` looks for the PATCH operation of an
object's kind with a `fieldValidation` parameter and, without one, falls back to the protobuf /openapi/v2,
which this server does not serve; with it, `kubectl create -f` of such kinds works. The endpoint itself still
answers 405.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.schema import DEFINITIONS_REF, TypeSchemas
from apiserver.registry.spec import ResourceSpec, Subresource, Verb

META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATUS: Final = META + "Status"
PATCH: Final = META + "Patch"
DELETE_OPTIONS: Final = META + "DeleteOptions"
WATCH_EVENT: Final = META + "WatchEvent"
API_RESOURCE_LIST: Final = META + "APIResourceList"
PATCH_TYPES: Final = (
    "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
OBJECT_TYPES: Final = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
WATCH_TYPES: Final = (
    "application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch",
)
ANY_TYPE: Final = ("*/*",)
ANY_OBJECT: Final = ""
"""The body or response of a kind without a published definition (any object); None means a plain string."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """A query or path parameter; `type` is an OpenAPI primitive type."""

    name: str
    location: str
    description: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    """One HTTP method on one path. `request`/`response` name definitions (or are ANY_OBJECT, or None: a string)."""

    method: str
    operation_id: str
    description: str
    action: str
    tag: str
    group_version_kind: tuple[str, str, str]
    parameters: tuple[Parameter, ...] = ()
    request: str | None = None
    consumes: tuple[str, ...] = ()
    response: str | None = None
    produces: tuple[str, ...] = OBJECT_TYPES
    codes: tuple[tuple[str, str], ...] = (("200", "OK"),)


@dataclass(frozen=True, slots=True)
class PathItem:
    """A path with its operations and the parameters shared by all of them."""

    path: str
    operations: tuple[Operation, ...]
    parameters: tuple[Parameter, ...] = ()


def _query(name: str, description: str, type_: str = "string") -> Parameter:
    return Parameter(name, "query", description, type_)


PRETTY: Final = _query("pretty", "If 'true', the output is indented (pretty-printed).")
DRY_RUN: Final = _query("dryRun", "When present, the request is validated and processed but nothing is persisted. "
                                  "The only valid value is All.")
FIELD_MANAGER: Final = _query("fieldManager", "The name of the actor making the change, recorded in managedFields. "
                                              "Required for apply patches.")
FIELD_VALIDATION: Final = _query(
    "fieldValidation",
    "How unknown and duplicate fields in the body are handled: Ignore drops them silently, Warn (the default) "
    "drops them with a Warning header each, Strict rejects the request.",
)
FORCE: Final = _query("force", "For apply patches: take ownership of fields other managers own instead of "
                               "failing with a conflict. Must be unset for other patch types.", "boolean")
LIST_PARAMETERS: Final = (
    _query("allowWatchBookmarks", "Ask for BOOKMARK events during a watch.", "boolean"),
    _query("continue", "The continue token of the previous page of a chunked list."),
    _query("fieldSelector", "Only return objects whose fields match this selector."),
    _query("labelSelector", "Only return objects whose labels match this selector."),
    _query("limit", "The maximum number of objects in one page.", "integer"),
    _query("resourceVersion", "The resourceVersion the list or watch starts from."),
    _query("resourceVersionMatch", "How resourceVersion is applied to a list: Exact or NotOlderThan."),
    _query("sendInitialEvents", "With watch=true: send the current state as events first.", "boolean"),
    _query("timeoutSeconds", "The time limit of a list or watch call.", "integer"),
    _query("watch", "Stream changes instead of returning a list.", "boolean"),
)
DELETE_PARAMETERS: Final = (
    DRY_RUN,
    _query("gracePeriodSeconds", "Seconds before the object is deleted; zero deletes immediately.", "integer"),
    _query("ignoreStoreReadErrorWithClusterBreakingPotential",
           "Delete an object whose stored form cannot be read (unsafe).", "boolean"),
    _query("orphanDependents", "Deprecated: use propagationPolicy.", "boolean"),
    _query("propagationPolicy", "Whether and how dependents are garbage collected: Orphan, Background or "
                                "Foreground."),
)
WRITE_PARAMETERS: Final = (DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION)
_COLLECTION_DELETE_PARAMETERS: Final = tuple(
    sorted({*LIST_PARAMETERS, *DELETE_PARAMETERS} - {LIST_PARAMETERS[0], LIST_PARAMETERS[-1]},
           key=lambda parameter: parameter.name)
)


def _path(name: str, description: str) -> Parameter:
    return Parameter(name, "path", description, required=True)


NAMESPACE: Final = _path("namespace", "The namespace of the object.")


def group_version_path(group: str, version: str) -> str:
    """`api/v1` or `apis/apps/v1`: the key of a group-version in /openapi/v3."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def group_version_paths(catalog: ResourceCatalog, group: str, version: str, schemas: TypeSchemas) -> list[PathItem]:
    """Every path of one served group-version, sorted by path as upstream documents list them."""
    names = _Names(group, version)
    items: dict[str, PathItem] = {}
    prefix = "/" + group_version_path(group, version)
    discovery = Operation("get", f"get{names.gv}APIResources", "get available resources", "", names.tag,
                          ("", "", ""), response=API_RESOURCE_LIST, produces=("application/json",
                                                                              "application/yaml",
                                                                              "application/vnd.kubernetes.protobuf"))
    items[prefix + "/"] = PathItem(prefix + "/", (discovery,))
    for spec in catalog.resources(group, version):
        for item in _ResourcePaths(spec, prefix, names, schemas).items():
            items[item.path] = item
    return [items[path] for path in sorted(items)]


class _Names:
    """Upstream's naming of operations and tags for one group-version (`CoreV1`, `rbacAuthorization_v1`)."""

    def __init__(self, group: str, version: str) -> None:
        parts = group.removesuffix(".k8s.io").split(".") if group else ["core"]
        camel = "".join(part[:1].upper() + part[1:] for part in parts)
        self.gv = camel + version[:1].upper() + version[1:]
        self.tag = f"{camel[:1].lower()}{camel[1:]}_{version}"


class _ResourcePaths:
    """The path items of one resource: collection, item, all-namespaces, watch and subresource paths."""

    def __init__(self, spec: ResourceSpec, prefix: str, names: _Names, schemas: TypeSchemas) -> None:
        self.spec = spec
        self.names = names
        self.schemas = schemas
        scope = f"{prefix}/namespaces/{{namespace}}" if spec.namespaced else prefix
        self.collection = f"{scope}/{spec.plural}"
        self.item = f"{self.collection}/{{name}}"
        self.watch_collection = f"{prefix}/watch/{'namespaces/{namespace}/' if spec.namespaced else ''}{spec.plural}"
        self.object = schemas.definition_name(spec.group, spec.version, spec.kind) or ANY_OBJECT
        self.list = schemas.definition_name(spec.group, spec.version, spec.list_kind) or ANY_OBJECT
        self.namespaced = "Namespaced" if spec.namespaced else ""
        self.gvk = (spec.group, spec.version, spec.kind)
        self.scope_parameters = (NAMESPACE,) if spec.namespaced else ()
        self.name_parameter = _path("name", f"The name of the {spec.kind}.")

    def items(self) -> list[PathItem]:
        found = [self._collection(), self._item(), *self._all_namespaces(), *self._watches()]
        found.extend(self._subresource(subresource) for subresource in self.spec.subresources)
        return [item for item in found if item is not None and item.operations]

    def _id(self, verb: str, suffix: str = "", *, namespaced: bool = True) -> str:
        scope = self.namespaced if namespaced else ""
        return f"{verb}{self.names.gv}{scope}{self.spec.kind}{suffix}"

    def _operation(
        self, method: str, verb: str, description: str, action: str, *, parameters: tuple[Parameter, ...] = (),
        request: str | None = None, consumes: tuple[str, ...] = (), response: str | None = None,
        produces: tuple[str, ...] = OBJECT_TYPES, codes: tuple[tuple[str, str], ...] = (("200", "OK"),),
    ) -> Operation:
        return Operation(method, self._id(verb), description, action, self.names.tag, self.gvk, parameters, request,
                         consumes, response, produces, codes)

    def _collection(self) -> PathItem:
        verbs, kind = self.spec.verbs, self.spec.kind
        operations: list[Operation] = []
        if Verb.LIST in verbs:
            operations.append(self._operation(
                "get", "list", f"list or watch objects of kind {kind}", "list", parameters=LIST_PARAMETERS,
                response=self.list, produces=WATCH_TYPES))
        if Verb.CREATE in verbs:
            operations.append(self._operation(
                "post", "create", f"create a {kind}", "post", parameters=WRITE_PARAMETERS, request=self.object,
                consumes=ANY_TYPE, response=self.object,
                codes=(("200", "OK"), ("201", "Created"), ("202", "Accepted"))))
        if Verb.DELETECOLLECTION in verbs:
            operations.append(Operation(
                "delete", f"delete{self.names.gv}Collection{self.namespaced}{kind}", f"delete collection of {kind}",
                "deletecollection", self.names.tag, self.gvk, _COLLECTION_DELETE_PARAMETERS, DELETE_OPTIONS,
                ANY_TYPE, STATUS))
        if Verb.CREATE in verbs and Verb.PATCH not in verbs:
            operations.append(self._operation(
                "patch", "patch", f"not served (405): lets clients see that {kind} supports fieldValidation", "patch",
                parameters=(*WRITE_PARAMETERS, FORCE), request=PATCH, consumes=PATCH_TYPES, response=self.object))
        return PathItem(self.collection, tuple(operations), (*self.scope_parameters, PRETTY))

    def _item(self) -> PathItem:
        verbs, kind = self.spec.verbs, self.spec.kind
        operations: list[Operation] = []
        if Verb.GET in verbs:
            operations.append(self._operation("get", "read", f"read the specified {kind}", "get",
                                              response=self.object))
        if Verb.UPDATE in verbs:
            operations.append(self._operation(
                "put", "replace", f"replace the specified {kind}", "put", parameters=WRITE_PARAMETERS,
                request=self.object, consumes=ANY_TYPE, response=self.object,
                codes=(("200", "OK"), ("201", "Created"))))
        if Verb.PATCH in verbs:
            operations.append(self._operation(
                "patch", "patch", f"partially update the specified {kind}", "patch",
                parameters=(*WRITE_PARAMETERS, FORCE), request=PATCH, consumes=PATCH_TYPES, response=self.object,
                codes=(("200", "OK"), ("201", "Created"))))
        if Verb.DELETE in verbs:
            operations.append(self._operation(
                "delete", "delete", f"delete a {kind}", "delete", parameters=DELETE_PARAMETERS,
                request=DELETE_OPTIONS, consumes=ANY_TYPE, response=STATUS,
                codes=(("200", "OK"), ("202", "Accepted"))))
        return PathItem(self.item, tuple(operations), (self.name_parameter, *self.scope_parameters, PRETTY))

    def _all_namespaces(self) -> list[PathItem]:
        if not self.spec.namespaced or Verb.LIST not in self.spec.verbs:
            return []
        prefix = self.collection.split("/namespaces/")[0]
        operation = Operation(
            "get", self._id("list", "ForAllNamespaces", namespaced=False),
            f"list or watch objects of kind {self.spec.kind}", "list", self.names.tag, self.gvk, response=self.list,
            produces=WATCH_TYPES)
        return [PathItem(f"{prefix}/{self.spec.plural}", (operation,), (*LIST_PARAMETERS, PRETTY))]

    def _watches(self) -> list[PathItem]:
        if Verb.WATCH not in self.spec.verbs:
            return []
        kind = self.spec.kind
        watch_list = self._watch(f"watch individual changes to a list of {kind}. deprecated: use the 'watch' "
                                 "parameter with a list operation instead.", "List")
        watch_item = self._watch(f"watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter "
                                 "with a list operation instead, filtered to a single item with the 'fieldSelector' "
                                 "parameter.", "")
        found = [
            PathItem(self.watch_collection, (watch_list,), (*LIST_PARAMETERS, *self.scope_parameters, PRETTY)),
            PathItem(f"{self.watch_collection}/{{name}}", (watch_item,),
                     (*LIST_PARAMETERS, self.name_parameter, *self.scope_parameters, PRETTY)),
        ]
        if self.spec.namespaced:
            prefix = self.watch_collection.split("/namespaces/")[0]
            every = Operation("get", self._id("watch", "ListForAllNamespaces", namespaced=False),
                              watch_list.description, "watchlist", self.names.tag, self.gvk, response=WATCH_EVENT,
                              produces=WATCH_TYPES)
            found.append(PathItem(f"{prefix}/{self.spec.plural}", (every,), (*LIST_PARAMETERS, PRETTY)))
        return found

    def _watch(self, description: str, suffix: str) -> Operation:
        action = "watchlist" if suffix else "watch"
        return Operation("get", self._id("watch", suffix), description, action, self.names.tag, self.gvk,
                         response=WATCH_EVENT, produces=WATCH_TYPES)

    def _subresource(self, subresource: Subresource) -> PathItem:
        group, version, kind = subresource.response_kind(self.spec.group, self.spec.version)
        path = f"{self.item}/{subresource.name}"
        suffix = subresource.name[:1].upper() + subresource.name[1:]
        parameters = (self.name_parameter, *self.scope_parameters)
        if subresource.connect:
            return PathItem(path, tuple(self._connect(subresource, suffix, (group, version, kind))), parameters)
        definition = self.schemas.definition_name(group, version, kind) or ANY_OBJECT
        sub = _Subresource(self, subresource, suffix, (group, version, kind), definition)
        return PathItem(path, tuple(sub.operations()), (*parameters, PRETTY))

    def _connect(self, subresource: Subresource, suffix: str, gvk: tuple[str, str, str]) -> list[Operation]:
        methods = {Verb.GET: "get", Verb.CREATE: "post", Verb.UPDATE: "put", Verb.PATCH: "patch",
                   Verb.DELETE: "delete"}
        operations = []
        for verb in sorted(subresource.verbs, key=list(methods).index):
            method = methods[verb]
            operations.append(Operation(
                method, f"connect{self.names.gv}{method.capitalize()}{self.namespaced}{self.spec.kind}{suffix}",
                f"connect {method.upper()} requests to {subresource.name} of {self.spec.kind}", "connect",
                self.names.tag, gvk, response=None, produces=ANY_TYPE))
        return operations


@dataclass(frozen=True, slots=True)
class _Subresource:
    parent: _ResourcePaths
    subresource: Subresource
    suffix: str
    gvk: tuple[str, str, str]
    definition: str

    def _id(self, verb: str) -> str:
        return self.parent._id(verb, self.suffix)

    def operations(self) -> Sequence[Operation]:
        verbs, name, kind = self.subresource.verbs, self.subresource.name, self.parent.spec.kind
        tag, found = self.parent.names.tag, []
        if Verb.GET in verbs:
            found.append(Operation("get", self._id("read"), f"read {name} of the specified {kind}", "get", tag,
                                   self.gvk, response=self.definition))
        if Verb.CREATE in verbs:
            found.append(Operation("post", self._id("create"), f"create {name} of a {kind}", "post", tag, self.gvk,
                                   WRITE_PARAMETERS, self.definition, ANY_TYPE, self.definition,
                                   codes=(("200", "OK"), ("201", "Created"), ("202", "Accepted"))))
        if Verb.UPDATE in verbs:
            found.append(Operation("put", self._id("replace"), f"replace {name} of the specified {kind}", "put", tag,
                                   self.gvk, WRITE_PARAMETERS, self.definition, ANY_TYPE, self.definition,
                                   codes=(("200", "OK"), ("201", "Created"))))
        if Verb.PATCH in verbs:
            found.append(Operation("patch", self._id("patch"), f"partially update {name} of the specified {kind}",
                                   "patch", tag, self.gvk, (*WRITE_PARAMETERS, FORCE), PATCH, PATCH_TYPES,
                                   self.definition, codes=(("200", "OK"), ("201", "Created"))))
        return found


def referenced_definitions(items: Sequence[PathItem]) -> list[str]:
    """The definitions the operations of `items` name directly, in first-use order."""
    names: dict[str, None] = {}
    for item in items:
        for operation in item.operations:
            for name in (operation.request, operation.response):
                if name:
                    names[name] = None
    return list(names)


def transitive_definitions(definitions: Mapping[str, Any], roots: Sequence[str]) -> list[str]:
    """`roots` (those that exist) and every definition their `$ref`s reach, sorted by name."""
    seen: set[str] = set()
    stack = [name for name in roots if name in definitions]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(_references(definitions[name], DEFINITIONS_REF))
    return sorted(seen)


def _references(value: Any, prefix: str) -> list[str]:
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith(prefix):
                found.append(reference[len(prefix):])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
