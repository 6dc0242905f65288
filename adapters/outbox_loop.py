"""Delivers the outbox: each platform adapter runs this loop with its own `send`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from protocol_bot.delivery import Deliveries
from protocol_bot.store import OutboxMessage

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage], Awaitable[None]]


async def deliver_due(deliveries: Deliveries, platform: str, send: Send,
                      now: float | None = None) -> int:
    """Send every due message for `platform` once; returns how many were delivered.

    A message is marked delivered only after `send` returns; any exception keeps it for a
    later try. Store calls run in a thread so a busy database never stalls the event loop.
    """
    now = time.time() if now is None else now
    delivered = 0
    for message in await asyncio.to_thread(deliveries.claim, platform, now):
        try:
            await send(message)
        except Exception as exc:  # any failure: keep the message and try again later
            await asyncio.to_thread(deliveries.failed, message, f"{type(exc).__name__}: {exc}",
                                    now)
            continue
        await asyncio.to_thread(deliveries.delivered, message, now)
        delivered += 1
    return delivered


async def run_outbox(deliveries: Deliveries, platform: str, send: Send, stop: asyncio.Event,
                     interval: float = 1.0) -> None:
    """Deliver due messages every `interval` seconds until `stop` is set."""
    log.info("%s outbox delivery started", platform)
    while not stop.is_set():
        try:
            await deliver_due(deliveries, platform, send)
        except Exception:  # e.g. the database briefly unavailable: keep the loop alive
            log.exception("%s outbox delivery pass failed; trying again shortly", platform)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
    log.info("%s outbox delivery stopped", platform)


def start_outbox(deliveries: Deliveries, platform: str, send: Send,
                 interval: float = 1.0) -> tuple[asyncio.Task, asyncio.Event]:
    """The delivery loop as a task, with the event that stops it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_outbox(deliveries, platform, send, stop, interval))
    return task, stop


async def stop_outbox(task: asyncio.Task, stop: asyncio.Event, timeout: float = 5.0) -> None:
    stop.set()
    try:
        await asyncio.wait_for(task, timeout)
    except asyncio.TimeoutError:
        task.cancel()
