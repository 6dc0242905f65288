"""Delivers the outbox: each platform adapter runs this loop with its own `send`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

from protocol_bot.store import EscalationStore, OutboxMessage

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage], Awaitable[None]]

# After this many failures a message is still retried, but the log says so loudly.
LOUD_AFTER_ATTEMPTS = 5


async def deliver_due(store: EscalationStore, platform: str, send: Send,
                      now: float | None = None) -> int:
    """Send every due message for `platform` once; returns how many were delivered.

    A failed send (any exception) is recorded and retried later with exponential backoff; a
    message is marked delivered only after `send` returns. Store calls run in a thread so a
    busy database never stalls the adapter's event loop.
    """
    now = time.time() if now is None else now
    messages = await asyncio.to_thread(store.claim_due, platform, now)
    delivered = 0
    for message in messages:
        if message.reply_to is None:
            # The recipient may have messaged the bot since this was queued (Teams needs that).
            reference = await asyncio.to_thread(store.get_reference, message.recipient)
            if reference is not None:
                message = dataclasses.replace(message, reply_to=reference)
        try:
            await send(message)
        except Exception as exc:  # any failure: keep the message and try again later
            error = f"{type(exc).__name__}: {exc}"
            await asyncio.to_thread(store.mark_failed, message.id, error, now)
            level = logging.ERROR if message.attempts + 1 >= LOUD_AFTER_ATTEMPTS else logging.WARNING
            log.log(level, "%s message %d (%s, ticket %s) not delivered, attempt %d: %s; will retry",
                    platform, message.id, message.kind, message.ticket_id, message.attempts + 1,
                    type(exc).__name__)
            continue
        await asyncio.to_thread(store.mark_delivered, message.id, now)
        delivered += 1
        log.info("%s message %d (%s, ticket %s) delivered", platform, message.id, message.kind,
                 message.ticket_id)
    return delivered


async def run_outbox(store: EscalationStore, platform: str, send: Send, stop: asyncio.Event,
                     interval: float = 1.0) -> None:
    """Deliver due messages every `interval` seconds until `stop` is set."""
    log.info("%s outbox delivery started", platform)
    while not stop.is_set():
        try:
            await deliver_due(store, platform, send)
        except Exception:  # e.g. the database briefly unavailable: keep the loop alive
            log.exception("%s outbox delivery pass failed; trying again shortly", platform)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
    log.info("%s outbox delivery stopped", platform)
