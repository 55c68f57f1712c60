"""Streaming a response body until it ends or the client goes away, whichever comes first.

Under Daphne a client's disconnect reaches the app only as an `http.disconnect` message on `receive()`, and
every `send()` after it is dropped silently. A stream that never listens keeps producing for nobody until the
server kills it (10 s later by default), so every long stream races its writer against a listener.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from apiserver.http.asgi import Receive, Send


async def wait_for_disconnect(receive: Receive) -> None:
    """Return once the client has gone, discarding any request body that arrives meanwhile."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def stream_until_disconnect(send: Send, receive: Receive, chunks: AsyncIterator[bytes]) -> bool:
    """Send each chunk as a body part, then end the response; stop early when the client goes away.

    The response must already be started. Returns True when `chunks` ran out and the response was ended,
    False when the client left first (the rest of `chunks` is then never asked for). An exception from `chunks`
    or `send` propagates with the response unfinished, which makes the server abort the connection.
    `chunks` is closed (`aclose`) in every case, so a generator's `finally` runs before this returns.
    """
    writer = asyncio.ensure_future(_send_all(send, chunks))
    listener = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        await asyncio.wait((writer, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        writer.cancel()
        listener.cancel()
        await asyncio.gather(writer, listener, return_exceptions=True)
        await _close(chunks)
    if not listener.cancelled() and (error := listener.exception()) is not None:
        raise error
    if writer.cancelled():
        return False
    writer.result()
    return True


async def _send_all(send: Send, chunks: AsyncIterator[bytes]) -> None:
    async for chunk in chunks:
        if chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
