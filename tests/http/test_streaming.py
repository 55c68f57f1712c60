"""stream_until_disconnect: ends the response when the chunks run out, stops at once when the client leaves."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apiserver.http.streaming import stream_until_disconnect, wait_for_disconnect
from tests.http.asgi_harness import Client, Response


async def _chunks(items: list[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def test_stream_sends_every_chunk_then_ends_the_response() -> None:
    response = Response()
    completed = await stream_until_disconnect(response.send, Client().receive, _chunks([b"a\n", b"", b"b\n"]))
    assert completed
    assert [(m["body"], m["more_body"]) for m in response.messages] == [
        (b"a\n", True), (b"b\n", True), (b"", False),
    ]


async def test_client_disconnect_stops_an_endless_stream_and_closes_it() -> None:
    response = Response()
    client = Client()
    produced = asyncio.Event()
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"event\n"
                produced.set()
                await asyncio.sleep(3600)
        finally:
            closed.set()

    stream = asyncio.ensure_future(stream_until_disconnect(response.send, client.receive, endless()))
    async with asyncio.timeout(5):
        await produced.wait()
        client.disconnect()
        assert await stream is False
    assert closed.is_set()
    assert not response.complete
    assert response.body == b"event\n"


async def test_request_body_messages_do_not_end_the_stream() -> None:
    response = Response()
    client = Client([b"x", b"y"])
    gate = asyncio.Event()

    async def waits() -> AsyncIterator[bytes]:
        await gate.wait()
        yield b"late\n"

    stream = asyncio.ensure_future(stream_until_disconnect(response.send, client.receive, waits()))
    async with asyncio.timeout(5):
        await asyncio.sleep(0)
        gate.set()
        assert await stream is True
    assert response.body == b"late\n"


async def test_an_error_from_the_chunks_propagates_with_the_response_unfinished() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"one\n"
        raise RuntimeError("storage went away")

    response = Response()
    with pytest.raises(RuntimeError, match="storage went away"):
        await stream_until_disconnect(response.send, Client().receive, failing())
    assert not response.complete


async def test_cancelling_the_caller_cancels_both_sides_and_closes_the_chunks() -> None:
    closed = asyncio.Event()
    started = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        try:
            started.set()
            await asyncio.sleep(3600)
            yield b"never"
        finally:
            closed.set()

    stream = asyncio.ensure_future(stream_until_disconnect(Response().send, Client().receive, slow()))
    async with asyncio.timeout(5):
        await started.wait()
        stream.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stream
    assert closed.is_set()


async def test_wait_for_disconnect_skips_body_messages() -> None:
    client = Client([b"a", b"b"])
    client.disconnect()
    async with asyncio.timeout(5):
        await wait_for_disconnect(client.receive)
