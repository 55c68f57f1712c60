"""Background tasks owned by one object: stopped by cancelling them and waiting for the end."""
from __future__ import annotations

import asyncio


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel `task` (None: nothing to do) and wait for it to end; a CancelledError of the caller itself, or an
    error the task ended with, propagates."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
