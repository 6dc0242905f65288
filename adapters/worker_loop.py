"""The loop every background worker runs: a pass now, then again when woken or after a while."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_passes(one_pass: Callable[[], Awaitable[object]], stop: asyncio.Event,
                     wake: asyncio.Event, interval: float, name: str) -> None:
    """Call `one_pass` until `stop` is set: every `interval` seconds, or at once when `wake`
    is set. A failing pass (the database briefly unavailable, say) is logged and retried."""
    while not stop.is_set():
        wake.clear()
        try:
            await one_pass()
        except Exception:
            log.exception("%s failed; trying again shortly", name)
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
        _, pending = await asyncio.wait(waits, timeout=interval,
                                        return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


def start_worker(worker, interval: float = 1.0) -> tuple[asyncio.Task, asyncio.Event]:
    """A worker's `run(stop, interval)` loop as a task, with the event that stops it."""
    stop = asyncio.Event()
    return asyncio.create_task(worker.run(stop, interval)), stop


async def stop_worker(task: asyncio.Task, stop: asyncio.Event, timeout: float = 5.0) -> None:
    stop.set()
    try:
        await asyncio.wait_for(task, timeout)
    except asyncio.TimeoutError:
        task.cancel()

