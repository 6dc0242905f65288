"""Answers what was recorded on arrival: the durable half of "acknowledge first, answer after"."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from protocol_bot.conversation import Conversation, Outgoing

log = logging.getLogger(__name__)

Respond = Callable[[dict], list[Outgoing]]


class InboxWorker:
    """Answers recorded payloads on the bot's own bounded thread pool (never the event loop's
    default one, which botbuilder's blocking calls may be using) and wakes the outbox."""

    def __init__(self, conversation: Conversation, platform: str, respond: Respond,
                 pool: ThreadPoolExecutor, on_answered: Callable[[], None] = lambda: None):
        self.conversation = conversation
        self.platform = platform
        self.respond = respond
        self.pool = pool
        self.on_answered = on_answered
        self.wake = asyncio.Event()

    async def answer_recorded(self) -> int:
        loop = asyncio.get_running_loop()
        count = await loop.run_in_executor(self.pool, self.conversation.answer_recorded,
                                           self.platform, self.respond, time.time())
        if count:
            self.on_answered()
        return count

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Answer as soon as something is recorded (woken), and every `interval` for what a
        crashed process left recorded but unanswered."""
        while not stop.is_set():
            self.wake.clear()
            try:
                while await self.answer_recorded():
                    pass
            except Exception:
                log.exception("%s: answering recorded messages failed; trying again shortly",
                              self.platform)
            waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())}
            _, pending = await asyncio.wait(waits, timeout=interval,
                                            return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
