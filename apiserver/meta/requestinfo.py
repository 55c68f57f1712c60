"""What a request is about, read from its method, path and query alone: `RequestInfo` and `parse_request_info`.

Mirrors kube-apiserver's RequestInfoFactory (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) with the
prefixes `api` (the legacy, groupless core group) and `apis`: authorization, admission, in-flight limits,
timeouts and routing all read the same value, so it is computed once per request by the requestinfo filter.
Pure: no I/O and no knowledge of which resources exist.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

API_PREFIXES = frozenset({"api", "apis"})
GROUPLESS_API_PREFIXES = frozenset({"api"})

# Path segments that carry the verb instead of the method (deprecated upstream, still served).
_SPECIAL_VERBS = frozenset({"proxy", "watch"})
_SPECIAL_VERBS_WITHOUT_SUBRESOURCES = frozenset({"proxy"})
# Subresources of a namespace, so that /namespaces/ns/status is not read as a resource called "status".
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_VERBS_WITH_SELECTORS = frozenset({"list", "watch", "deletecollection"})
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}

# kube-apiserver's BasicLongRunningRequestCheck and the max-in-flight filter's read-only verbs.
_LONG_RUNNING_VERBS = frozenset({"watch", "proxy"})
_LONG_RUNNING_SUBRESOURCES = frozenset({"attach", "exec", "proxy", "log", "portforward"})
_READONLY_VERBS = frozenset({"get", "list", "watch"})

# ListOptions fields that fail to decode on anything but an integer (Go's strconv.ParseInt).
_INTEGER_LIST_OPTIONS = ("limit", "timeoutSeconds")
_GO_INTEGER = re.compile(r"[+-]?[0-9]+")

Query = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The Kubernetes reading of one request.

    For a resource request (`/api/v1/...`, `/apis/group/version/...` with a resource) `verb` is the Kubernetes
    verb: get, list, watch, create, update, patch, delete, deletecollection, proxy, or "" for a method with no
    verb. For any other request `verb` is the lower-case HTTP method and only `path` is meaningful.
    `parts` are the path segments from the resource on: (resource, name, subresource, ...).
    `field_selector` and `label_selector` are the raw query values, kept only for list, watch and
    deletecollection (upstream's AuthorizeWithSelectors).
    """

    path: str
    verb: str
    is_resource_request: bool = False
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()
    field_selector: str = ""
    label_selector: str = ""

    @property
    def is_long_running(self) -> bool:
        """Watches, proxying and streaming subresources: exempt from request timeouts and in-flight limits."""
        if self.verb in _LONG_RUNNING_VERBS:
            return True
        if self.is_resource_request:
            return self.subresource in _LONG_RUNNING_SUBRESOURCES
        return self.path.startswith("/debug/pprof/")

    @property
    def is_mutating(self) -> bool:
        """Counted against the mutating in-flight limit: anything but get, list and watch."""
        return self.verb not in _READONLY_VERBS


class RequestInfoError(ValueError):
    """The path names an API but cannot be read (`/api/v1/watch`). `info` holds what was understood so far."""

    def __init__(self, message: str, info: RequestInfo) -> None:
        super().__init__(message)
        self.info = info


def parse_request_info(method: str, path: str, query: Query) -> RequestInfo:
    """Read `path` (URL-decoded) and `query` (every value of every parameter) as kube-apiserver does.

    Raises RequestInfoError for a special-verb path with nothing after the verb, as upstream fails there.
    """
    segments = _split_path(path)
    non_resource = RequestInfo(path=path, verb=method.lower())
    if len(segments) < 3 or segments[0] not in API_PREFIXES:
        return non_resource
    prefix, rest = segments[0], segments[1:]
    group = ""
    if prefix not in GROUPLESS_API_PREFIXES:
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    partial = RequestInfo(
        path=path, verb=method.lower(), is_resource_request=True, api_prefix=prefix, api_group=group,
        api_version=version,
    )
    verb_in_path = rest[0] in _SPECIAL_VERBS
    if verb_in_path:
        if len(rest) < 2:
            raise RequestInfoError("unable to determine kind and namespace from url", partial)
        verb, rest = rest[0], rest[1:]
    else:
        verb = _METHOD_VERBS.get(method.upper(), "")
    return _resource_info(partial, verb, rest, query, verb_in_path=verb_in_path)


def _resource_info(
    partial: RequestInfo, verb: str, rest: list[str], query: Query, *, verb_in_path: bool
) -> RequestInfo:
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        # /namespaces/{name}/{resource}/... is a namespaced resource; /namespaces/{name}/status is not.
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 and verb not in _SPECIAL_VERBS_WITHOUT_SUBRESOURCES else ""
    if not name and verb == "get":
        verb, name = _collection_read(query)
    if not name and verb == "delete":
        verb = "deletecollection"
    field_selector = label_selector = ""
    if not verb_in_path and verb in _VERBS_WITH_SELECTORS:
        field_selector = _first(query, "fieldSelector")
        label_selector = _first(query, "labelSelector")
    return RequestInfo(
        path=partial.path, verb=verb, is_resource_request=True, api_prefix=partial.api_prefix,
        api_group=partial.api_group, api_version=partial.api_version, namespace=namespace, resource=resource,
        subresource=subresource, name=name, parts=tuple(rest), field_selector=field_selector,
        label_selector=label_selector,
    )


def _collection_read(query: Query) -> tuple[str, str]:
    """A GET without a name is a list or a watch; a `metadata.name=` field selector names its object.

    Upstream decodes the whole ListOptions first: when any option fails to decode, the name stays unset.
    """
    verb = "watch" if _go_bool(query.get("watch", ())) else "list"
    if not _list_options_decode(query):
        return verb, ""
    name = _exact_name(_first(query, "fieldSelector"))
    return verb, name if name is not None and _is_valid_path_segment(name) else ""


def _go_bool(values: Sequence[str]) -> bool:
    """Convert_Slice_string_To_bool: the first value; only "0" and (any case) "false" are false."""
    if not values:
        return False
    return values[0] != "0" and values[0].lower() != "false"


def _list_options_decode(query: Query) -> bool:
    for option in _INTEGER_LIST_OPTIONS:
        values = query.get(option, ())
        if values and values[0] and not _is_go_int64(values[0]):
            return False
    return _parse_field_selector(_first(query, "fieldSelector")) is not None


def _is_go_int64(text: str) -> bool:
    return _GO_INTEGER.fullmatch(text) is not None and -(2**63) <= int(text) < 2**63


def _exact_name(selector: str) -> str | None:
    """The value `metadata.name` must equal (`=` or `==`), as fields.Selector.RequiresExactMatch."""
    for field, operator, value in _parse_field_selector(selector) or ():
        if field == "metadata.name" and operator != "!=":
            return value
    return None


def _parse_field_selector(selector: str) -> list[tuple[str, str, str]] | None:
    """Terms of a field selector as (field, operator, value), or None when it does not parse.

    Terms are separated by unescaped commas and kept in sorted order, as fields.ParseSelector keeps them;
    `\\`, `,` and `=` in values are escaped with a backslash.
    """
    terms: list[tuple[str, str, str]] = []
    for raw_term in sorted(_split_unescaped(selector, ",")):
        if not raw_term:
            continue
        term = _parse_term(raw_term)
        if term is None:
            return None
        terms.append(term)
    return terms


def _parse_term(raw_term: str) -> tuple[str, str, str] | None:
    """Split at the first position where an operator starts, trying `!=`, `==`, `=` there (fields.splitTerm)."""
    for index in range(len(raw_term)):
        for operator in ("!=", "==", "="):
            if raw_term.startswith(operator, index):
                value = _unescape_field_value(raw_term[index + len(operator):])
                return None if value is None else (raw_term[:index], operator, value)
    return None


def _split_unescaped(text: str, separator: str) -> list[str]:
    pieces, current, escaping = [], [], False
    for char in text:
        if escaping:
            current.append(char)
            escaping = False
        elif char == "\\":
            current.append(char)
            escaping = True
        elif char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _unescape_field_value(value: str) -> str | None:
    """fields.UnescapeValue: only `\\\\`, `\\,` and `\\=` are escapes; an unescaped `,` or `=` is an error."""
    out, escaping = [], False
    for char in value:
        if escaping:
            if char not in "\\,=":
                return None
            out.append(char)
            escaping = False
        elif char == "\\":
            escaping = True
        elif char in ",=":
            return None
        else:
            out.append(char)
    return None if escaping else "".join(out)


def _is_valid_path_segment(name: str) -> bool:
    """path.IsValidPathSegmentName: not `.` or `..`, and no `/` or `%`."""
    return name not in (".", "..") and "/" not in name and "%" not in name


def _first(query: Query, key: str) -> str:
    values = query.get(key, ())
    return values[0] if values else ""


def _split_path(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []
