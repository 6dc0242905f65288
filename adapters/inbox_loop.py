"""Answers what was recorded on arrival: the durable half of "acknowledge first, answer after"."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from protocol_bot.conversation import Conversation, Outgoing

from .worker_loop import run_passes

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
        async def answer_all() -> None:
            while await self.answer_recorded():
                pass

        await run_passes(answer_all, stop, self.wake, interval,
                         f"{self.platform}: answering recorded messages")
