"""Background tasks owned by one object: stopped by cancelling them and waiting for the end."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def cancel_and_wait(task: asyncio.Task[None] | None, *, quiet: bool = False) -> None:
    """Cancel `task` (None: nothing to do) and wait for it to end; a CancelledError of the caller itself, or an
    error the task ended with, propagates (with `quiet`, the task's own error is dropped: a stop that must go on
    whatever the task died of)."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
    except Exception:
        if not quiet:
            raise


async def repeat_forever(step: Callable[[], Awaitable[None]], *, pause: float, logger: logging.Logger,
                         failure_event: str) -> None:
    """Run `step` again and again until cancelled, `pause` seconds apart: a worker loop that logs a failure
    (`failure_event`, with its traceback) and goes on (STYLE.md §5)."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception(failure_event)
        await asyncio.sleep(pause)
