"""Watch: a stream of events, one JSON object per line (or one length-prefixed protobuf frame), each flushed.

As kube-apiserver's serveWatchHandler and WatchServer.HandleHTTP: the store's watch is opened first (its
errors are answered as Status), then Table options and the streaming format are negotiated, then the 200 goes
out and events follow until the first of: the stream ends (the cache closed a slow watcher, or a 410 ERROR was
sent), `timeoutSeconds` (else the server's 30-60 min jittered default), the server shutting down, or the client
leaving. Each event is `{"type": …, "object": …}`; with a Table Accept every object becomes a one-row Table
whose column definitions are sent in the first event only, as upstream does.
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from apiserver.endpoints.answers import go_escape, include_object
from apiserver.http.negotiation import (
    APPLICATION_PROTOBUF,
    PARTIAL_OBJECT_METADATA,
    TABLE,
    OutputFormat,
    negotiate_stream,
    protobuf_codec,
)
from apiserver.http.streaming import stream_until_disconnect
from apiserver.observability.metrics import default_metrics

# At most this many already-queued events are joined into one write of an HTTP watch.
MAX_EVENTS_PER_WRITE = 100

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest
    from apiserver.registry.context import ListOptions
    from apiserver.registry.watch import WatchEvent, WatchStream


async def serve(resource: ResourceRequest, options: ListOptions, output: OutputFormat) -> None:
    """Open the watch and stream it; errors before the first byte propagate as Status answers."""
    timeout = float(options.timeout_seconds or 0) or watch_timeout(resource.server.min_request_timeout)
    stream = await resource.store.watch(resource.namespace, options)
    try:
        encoder = _EventEncoder(resource, output)
        stream_format = negotiate_stream(resource.request, available=resource.serializers)
    except BaseException:
        await stream.aclose()
        raise
    await resource.send({
        "type": "http.response.start", "status": 200,
        "headers": [(b"content-type", stream_format.media.watch_content_type.encode())],
    })
    # Upstream flushes the headers at once; servers (Daphne among them) hold them until the first body bytes,
    # and a quiet watch would otherwise leave clients such as `kubectl wait` without a response until an event.
    await resource.send({"type": "http.response.body", "body": b"", "more_body": True})
    encoder.media = stream_format.media.name
    events = _event_chunks(resource, stream, encoder, timeout, bookmarks=options.allow_watch_bookmarks)
    await stream_until_disconnect(resource.send, resource.receive, events)


async def serve_websocket(resource: ResourceRequest, options: ListOptions) -> None:
    """A watch over a WebSocket (browsers): each event one message, text for JSON, binary for protobuf.

    As upstream's golang.org/x/net/websocket handler: a handshake without an Origin is refused (403), the
    client's messages are ignored, and the connection is closed when the watch ends. Errors before the
    handshake is accepted propagate (the caller refuses the handshake).
    """
    if not resource.request.header("origin"):
        await resource.send({"type": "websocket.close", "code": 1008})
        return
    output = negotiate_stream(resource.request, available=resource.serializers)
    timeout = float(options.timeout_seconds or 0) or watch_timeout(resource.server.min_request_timeout)
    encoder = _EventEncoder(resource, output)
    encoder.media = output.media.name
    stream = await resource.store.watch(resource.namespace, options)
    await resource.send({"type": "websocket.accept"})
    events = _event_chunks(resource, stream, encoder, timeout, bookmarks=options.allow_watch_bookmarks, batch=False)
    writer = asyncio.ensure_future(_send_messages(resource, events, text=output.media.text))
    listener = asyncio.ensure_future(_wait_for_websocket_close(resource))
    try:
        await asyncio.wait((writer, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (writer, listener):
            task.cancel()
        await asyncio.gather(writer, listener, return_exceptions=True)
        await events.aclose()


async def _send_messages(resource: ResourceRequest, events: AsyncIterator[bytes], *, text: bool) -> None:
    async for event in events:
        message = {"type": "websocket.send", "text": event.decode()} if text else {"type": "websocket.send",
                                                                                   "bytes": event}
        await resource.send(message)
    await resource.send({"type": "websocket.close", "code": 1000})


async def _wait_for_websocket_close(resource: ResourceRequest) -> None:
    while (await resource.receive())["type"] != "websocket.disconnect":
        pass


def watch_timeout(min_request_timeout: float) -> float:
    """The default length of a watch: the minimum request timeout times a random factor in [1, 2)."""
    return min_request_timeout * (1.0 + random.random())


async def _event_chunks(
    resource: ResourceRequest, stream: WatchStream, encoder: _EventEncoder, timeout: float, *, bookmarks: bool,
    batch: bool = True,
) -> AsyncGenerator[bytes, None]:
    """Encoded events until the stream ends, the timeout passes or the server begins shutting down.

    With `batch`, events already due are joined into one chunk (HTTP streams); without, each chunk is one
    event (WebSocket messages)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    stopping = asyncio.ensure_future(resource.server.stopping.wait())
    timer = asyncio.ensure_future(_request_bookmarks(stream, resource.server.bookmark_interval)) if bookmarks else None
    events = stream.__aiter__()
    spec = resource.spec
    metrics = default_metrics()
    metrics.watcher_registered(spec.group, spec.version, spec.kind)
    sent = metrics.watch_event_recorder(spec.group, spec.version, spec.kind)
    server_stopping = resource.server.stopping
    following: asyncio.Future[WatchEvent] | None = None
    try:
        while (remaining := deadline - loop.time()) > 0 and not server_stopping.is_set():
            # Events already due are taken without a task and a wait each: the cost that matters under load.
            event = stream.poll()
            if event is None:
                following = asyncio.ensure_future(events.__anext__())
                done, _ = await asyncio.wait({following, stopping}, timeout=remaining,
                                             return_when=asyncio.FIRST_COMPLETED)
                if following not in done:
                    following.cancel()
                    await asyncio.gather(following, return_exceptions=True)
                    return
                try:
                    event = following.result()
                except StopAsyncIteration:
                    return
            chunks = [encoder.encode(event)]
            # A burst already queued goes out as one body part: one write and one TLS record, not one per event.
            while batch and len(chunks) < MAX_EVENTS_PER_WRITE and (more := stream.poll()) is not None:
                chunks.append(encoder.encode(more))
            for chunk in chunks:
                sent(len(chunk))
            yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        metrics.watcher_unregistered(spec.group, spec.version, spec.kind)
        # A cancelled stream (client gone, server stopping) leaves the pending read behind: cancel and reap it too.
        for task in (stopping, timer, following):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(task for task in (stopping, timer, following) if task is not None),
                             return_exceptions=True)
        await stream.aclose()


async def _request_bookmarks(stream: WatchStream, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        stream.request_bookmark()


class _EventEncoder:
    """Encodes watch events in the negotiated media type, converting objects as the Accept header asked."""

    def __init__(self, resource: ResourceRequest, output: OutputFormat) -> None:
        self._resource = resource
        self._output = output
        self._include_object = include_object(resource.request) if output.kind == TABLE else ""
        self._headers_sent = False
        self.media = ""

    def encode(self, event: WatchEvent) -> bytes:
        if self.media == APPLICATION_PROTOBUF:
            return self._protobuf(event)
        if event.type == "ERROR" or self._output.kind not in (TABLE, PARTIAL_OBJECT_METADATA):
            # The plain line depends only on the event: made once, shared by every watcher of the object.
            frames = event.object.frames
            line = frames.get(event.type)
            if line is None:
                line = frames[event.type] = self._line(event.type, event.object.json)
            return line
        return self._line(event.type, self._object_json(event))

    @staticmethod
    def _line(event_type: str, object_json: bytes) -> bytes:
        return b'{"type":"' + event_type.encode() + b'","object":' + go_escape(object_json) + b"}\n"

    def _object_json(self, event: WatchEvent) -> bytes:
        # Upstream sends an object it cannot transform (an ERROR Status, or anything asked for as
        # PartialObjectMetadataList, which a single object is not) as it is.
        if event.type == "ERROR" or self._output.kind not in (TABLE, PARTIAL_OBJECT_METADATA):
            return event.object.json
        if self._output.kind == PARTIAL_OBJECT_METADATA:
            return orjson.dumps(self._partial(event.object.read()))
        return self._table(event)

    def _table(self, event: WatchEvent) -> bytes:
        from apiserver.registry.tables import table_for

        resource = self._resource
        assert self._output.conversion is not None
        items = [] if event.type == "BOOKMARK" else [event.object]
        table = table_for(
            resource.spec, items, list_resource_version=event.object.resource_version,
            continue_token="", remaining=None, include_object=self._include_object, now=resource.server.clock(),
            table_version=self._output.conversion.version,
        )
        if self._headers_sent:
            document = orjson.loads(table)
            document["columnDefinitions"] = None
            table = orjson.dumps(document)
        self._headers_sent = True
        return table

    def _partial(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        from apiserver.registry.tables import partial_object_metadata

        assert self._output.conversion is not None
        partial: dict[str, Any] = partial_object_metadata(dict(obj), version=self._output.conversion.version)
        return partial

    def _protobuf(self, event: WatchEvent) -> bytes:
        codec = protobuf_codec()
        assert codec is not None
        obj = event.object.read()
        if event.type == "ERROR":
            return bytes(codec.encode_watch_event(event.type, obj, api_version="v1", kind="Status"))
        if self._output.kind == PARTIAL_OBJECT_METADATA and event.type != "ERROR":
            partial = self._partial(obj)
            return bytes(codec.encode_watch_event(event.type, partial, api_version=partial["apiVersion"],
                                                  kind=PARTIAL_OBJECT_METADATA))
        spec = self._resource.spec
        return bytes(codec.encode_watch_event(event.type, obj, api_version=spec.group_version, kind=spec.kind))
