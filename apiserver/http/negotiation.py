"""Content negotiation for the resource endpoints: which format a request body is in, which one to answer in.

Mirrors k8s.io/apiserver's handlers/negotiation: Accept is parsed as goautoneg parses it (q-values, then the
more specific of equal clauses, otherwise header order) and each clause is matched against the serializers in
order (JSON, YAML, then protobuf once `apiserver.meta.protobuf` is present). Clause parameters `as`, `g` and `v`
ask for a conversion (Table, PartialObjectMetadata, PartialObjectMetadataList in meta.k8s.io v1 or v1beta1),
which only resource endpoints allow; `stream=watch` needs a streaming serializer. Request bodies are read by
Content-Type; a missing one means JSON (the Python client sends none). Messages are upstream's, since kubectl
prints them verbatim.
"""
from __future__ import annotations

import enum
import functools
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import orjson
import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.http.jsonsyntax import go_syntax_error
from apiserver.http.request import Request
from apiserver.meta.errors import NotAcceptable, UnsupportedMediaType

APPLICATION_JSON = "application/json"
APPLICATION_YAML = "application/yaml"
APPLICATION_PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

META_GROUP = "meta.k8s.io"
META_VERSIONS = ("v1", "v1beta1")
TABLE = "Table"
PARTIAL_OBJECT_METADATA = "PartialObjectMetadata"
PARTIAL_OBJECT_METADATA_LIST = "PartialObjectMetadataList"

PROTOBUF_MODULE = "apiserver.meta.protobuf"
_PROTOBUF_API = ("decode_object", "encode_object", "encode_watch_event", "UnsupportedProtobufKind")

# Browsers and command-line HTTP tools get indented JSON, as from kube-apiserver (responsewriters.isPrettyPrint).
_PRETTY_USER_AGENTS = ("curl", "Wget", "Mozilla/5.0")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class MediaType:
    """One serializer: its media type, and the media type of its watch stream ("" when it cannot stream)."""

    name: str
    stream: str = ""
    text: bool = True

    @property
    def watch_content_type(self) -> str:
        """The Content-Type of a watch response: JSON keeps its own, others add `;stream=watch`."""
        return self.name if self.name == APPLICATION_JSON else self.stream

    @property
    def type(self) -> str:
        return self.name.partition("/")[0]

    @property
    def subtype(self) -> str:
        return self.name.partition("/")[2]


JSON = MediaType(APPLICATION_JSON, stream=f"{APPLICATION_JSON};stream=watch")
YAML = MediaType(APPLICATION_YAML)
PROTOBUF = MediaType(APPLICATION_PROTOBUF, stream=f"{APPLICATION_PROTOBUF};stream=watch", text=False)


@functools.cache
def protobuf_codec() -> ModuleType | None:
    """The protobuf codec module, or None until one with the whole expected API is installed."""
    try:
        module = importlib.import_module(PROTOBUF_MODULE)
    except ImportError:
        return None
    return module if all(hasattr(module, name) for name in _PROTOBUF_API) else None


def serializers() -> tuple[MediaType, ...]:
    """The serializers in upstream's order: JSON, YAML, protobuf (when its codec is available)."""
    return (JSON, YAML, PROTOBUF) if protobuf_codec() is not None else (JSON, YAML)


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One clause of an Accept header."""

    type: str
    subtype: str
    q: float = 1.0
    params: tuple[tuple[str, str], ...] = ()


def parse_accept(header: str) -> list[MediaRange]:
    """The clauses of `header`, best first, as goautoneg.ParseAccept sorts them (an insertion sort on q, then
    specificity; clauses that compare equal keep their order)."""
    clauses = [clause for part in header.split(",") if (clause := _parse_clause(part.strip(" "))) is not None]
    for index in range(1, len(clauses)):
        position = index
        while position > 0 and _sorts_before(clauses[position], clauses[position - 1]):
            clauses[position], clauses[position - 1] = clauses[position - 1], clauses[position]
            position -= 1
    return clauses


def _parse_clause(part: str) -> MediaRange | None:
    media_range, _, raw_params = part.partition(";")
    media_type, _, rest = media_range.partition("/")
    media_type = media_type.strip(" ")
    if not rest:
        if media_type != "*":
            return None
        subtype = "*"
    elif "/" in rest:
        return None
    else:
        subtype = rest.strip(" ")
    q, params = 1.0, []
    for raw_param in raw_params.split(";") if raw_params else ():
        name, equals, value = raw_param.partition("=")
        if not equals or "=" in value:
            continue
        name = name.strip(" ")
        if name == "q":
            q = _go_parse_float(value)
        else:
            params.append((name, value.strip(" ")))
    return MediaRange(media_type, subtype, q, tuple(params))


def _go_parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 32) with the error ignored, as goautoneg does (0 on failure)."""
    try:
        return float(text)
    except ValueError:
        return 0.0


def _sorts_before(first: MediaRange, second: MediaRange) -> bool:
    if first.q > second.q:
        return True
    if first.type != "*" and second.type == "*":
        return True
    return first.subtype != "*" and second.subtype == "*"


@dataclass(frozen=True, slots=True)
class Conversion:
    """The object an Accept clause asks for instead of the resource itself (`as`, `g`, `v` parameters)."""

    group: str = ""
    version: str = ""
    kind: str = ""

    @property
    def is_meta(self) -> bool:
        return self.group == META_GROUP and self.version in META_VERSIONS

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class Restrictions(enum.Enum):
    """What an endpoint can convert its output to: nothing (errors, options) or Table and partial metadata."""

    NONE = "none"
    RESOURCE = "resource"


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """The negotiated answer: a serializer, an optional conversion, and whether to indent JSON."""

    media: MediaType
    conversion: Conversion | None = None
    pretty: bool = False

    @property
    def kind(self) -> str:
        """The conversion's kind (Table, PartialObjectMetadata, ...) or "" for the resource itself."""
        return self.conversion.kind if self.conversion is not None else ""


def negotiate_output(
    request: Request,
    restrictions: Restrictions = Restrictions.RESOURCE,
    available: Sequence[MediaType] | None = None,
) -> OutputFormat:
    """The output format for `request`'s Accept header among `available` (default: every serializer).

    Raises NotAcceptable listing the media types of `available`.
    """
    offered = tuple(available) if available is not None else serializers()
    media, conversion, pretty_param = _negotiate(request.header("accept") or "", restrictions, offered)
    if media is None:
        raise NotAcceptable([serializer.name for serializer in offered])
    return OutputFormat(media, conversion, pretty=pretty_param or is_pretty(request))


def negotiate_stream(
    request: Request,
    restrictions: Restrictions = Restrictions.RESOURCE,
    available: Sequence[MediaType] | None = None,
) -> OutputFormat:
    """The watch stream format. Raises NotAcceptable listing the streaming media types."""
    offered = tuple(available) if available is not None else serializers()
    media, conversion, _ = _negotiate(request.header("accept") or "", restrictions, offered)
    if media is None or not media.stream:
        raise NotAcceptable([serializer.stream for serializer in offered if serializer.stream])
    return OutputFormat(media, conversion)


def _negotiate(
    header: str, restrictions: Restrictions, available: Sequence[MediaType]
) -> tuple[MediaType | None, Conversion | None, bool]:
    if not header:
        return available[0], None, False
    for clause in parse_accept(header):
        for media in available:
            if not _type_matches(clause, media):
                continue
            accepted = _accept_parameters(clause, media, restrictions)
            if accepted is not None:
                return media, accepted[0], accepted[1]
    return None, None, False


def _type_matches(clause: MediaRange, media: MediaType) -> bool:
    if clause.type == "*" and clause.subtype == "*":
        return True
    return clause.type == media.type and clause.subtype in (media.subtype, "*")


def _accept_parameters(
    clause: MediaRange, media: MediaType, restrictions: Restrictions
) -> tuple[Conversion | None, bool] | None:
    """negotiation.acceptMediaTypeOptions: the clause's conversion and `pretty`, or None when not acceptable."""
    conversion: Conversion | None = None
    pretty = False
    for name, value in clause.params:
        if name in ("as", "g", "v"):
            conversion = conversion or Conversion()
            field = {"as": "kind", "g": "group", "v": "version"}[name]
            conversion = Conversion(**{**_conversion_fields(conversion), field: value})
        elif name == "stream":
            if value and (not media.stream or value != "watch"):
                return None
        elif name == "sv":
            if value:
                return None
        elif name == "pretty":
            pretty = value == "1"
    if not _allows_conversion(media, conversion, restrictions):
        return None
    return conversion, pretty


def _conversion_fields(conversion: Conversion) -> dict[str, str]:
    return {"group": conversion.group, "version": conversion.version, "kind": conversion.kind}


def _allows_conversion(media: MediaType, conversion: Conversion | None, restrictions: Restrictions) -> bool:
    """RequestScope.AllowsMediaTypeTransform: Table only as JSON or YAML; partial metadata in any format."""
    if conversion is None:
        return True
    if restrictions is Restrictions.NONE or not conversion.is_meta:
        return False
    if conversion.kind == TABLE:
        return media.type == "application" and media.subtype in ("json", "yaml")
    return conversion.kind in (PARTIAL_OBJECT_METADATA, PARTIAL_OBJECT_METADATA_LIST)


def is_pretty(request: Request) -> bool:
    """`?pretty=<bool>` when given, else whether the client looks like a browser or curl (upstream's rule)."""
    query_string: bytes = request.scope.get("query_string", b"")
    if b"pretty" in query_string and (value := request.query_value("pretty")):
        return _go_parse_bool(value) or False
    agent = request.header("user-agent") or ""
    return agent.startswith(_PRETTY_USER_AGENTS)


def _go_parse_bool(value: str) -> bool | None:
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def negotiate_input(request: Request, accepted: Sequence[MediaType] | None = None) -> MediaType:
    """The serializer for the request body by its Content-Type (JSON when there is none).

    Raises UnsupportedMediaType listing what is accepted, as NegotiateInputSerializer does.
    """
    available = tuple(accepted) if accepted is not None else serializers()
    content_type = request.header("content-type") or available[0].name
    media_type = parse_media_type(content_type)
    for media in available:
        if media_type == media.name:
            return media
    raise UnsupportedMediaType([media.name for media in available])


def parse_media_type(content_type: str) -> str | None:
    """The lower-cased `type/subtype` of a Content-Type, or None when Go's mime.ParseMediaType rejects it."""
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    kind, slash, subtype = media_type.partition("/")
    if not (_TOKEN.fullmatch(kind) and slash and _TOKEN.fullmatch(subtype)):
        return None
    for param in params.split(";") if params else ():
        name, equals, value = param.strip().partition("=")
        if not param.strip():
            continue
        if not (equals and _TOKEN.fullmatch(name.strip()) and _valid_param_value(value.strip())):
            return None
    return media_type


def _valid_param_value(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value)) or (len(value) >= 2 and value[0] == value[-1] == '"')


class DecodeError(Exception):
    """A body that cannot be decoded; the message is the decoder's own (Go's) wording, unwrapped."""


def decode_json(body: bytes) -> Any:
    """One JSON document. Raises DecodeError with encoding/json's syntax error text."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        message = go_syntax_error(body)
        if message is None:  # valid for Go (for example invalid UTF-8 that Go replaces, or huge numbers)
            import json

            return json.loads(body.decode("utf-8", "replace"))
        raise DecodeError(message) from None


class _YAMLLoader(yaml.CSafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader without timestamp resolution: sigs.k8s.io/yaml keeps unquoted dates as strings."""


_YAMLLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_to_json(body: bytes) -> Any:
    """The first YAML document as JSON values (sigs.k8s.io/yaml's YAMLToJSON). Raises DecodeError."""
    try:
        document = next(yaml.load_all(body, Loader=_YAMLLoader), None)
    except yaml.YAMLError as error:
        raise DecodeError(f"error converting YAML to JSON: {_yaml_message(error)}") from None
    try:
        return orjson.loads(orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS))
    except TypeError as error:
        raise DecodeError(f"error converting YAML to JSON: {error}") from None


def _yaml_message(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"yaml: {problem}"
    return f"yaml: line {mark.line + 1}: {problem}"


def decode_document(body: bytes, media: MediaType) -> Any:
    """A JSON or YAML body as JSON values, as the object decoders read it (protobuf is the codec's business).

    Raises DecodeError worded as upstream's serializers: JSON syntax errors come from reading the body's
    apiVersion and kind (`couldn't get version/kind; json parse error: ...`), YAML ones from its conversion.
    """
    if media.name == APPLICATION_YAML:
        return yaml_to_json(body)
    try:
        return decode_json(body)
    except DecodeError as error:
        raise DecodeError(f"couldn't get version/kind; json parse error: {error}") from None
