"""One platform's background work: arrivals recorded, answered from the inbox, delivered from the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from protocol_bot.conversation import Conversation
from protocol_bot.pacing import Pacing
from protocol_bot.store import OutboxMessage

from .inbox_loop import InboxWorker, Respond
from .outbox_loop import OutboxWorker
from .recorder import Recorder
from .worker_loop import start_worker, stop_worker


class Pipeline:
    """What a platform adapter needs after translating a payload: `record` it (the platform
    is acknowledged once it is on disk), and the workers that answer and deliver it.

    `pool` is the bot's own bounded answering pool (button clicks are handled on it too);
    recording has a thread of its own, so it never waits behind answering.
    """

    def __init__(self, conversation: Conversation, platform: str, respond: Respond,
                 send: Callable[[OutboxMessage], Awaitable[None]],
                 destination: Callable[[OutboxMessage], str], pacing: Pacing,
                 outbox_interval: float = 1.0):
        self.pool = ThreadPoolExecutor(4, thread_name_prefix=f"{platform}-answer")
        self._record_pool = ThreadPoolExecutor(1, thread_name_prefix=f"{platform}-record")
        self.recorder = Recorder(conversation, platform, self._record_pool)
        self.outbox = OutboxWorker(conversation.deliveries, platform, send, destination, pacing)
        self.inbox = InboxWorker(conversation, platform, respond, self.pool,
                                 on_answered=self.outbox.wake.set)
        self.outbox_interval = outbox_interval
        self._tasks: list[tuple[asyncio.Task, asyncio.Event]] = []

    async def record(self, key: str, payload: dict) -> bool:
        """True when recorded now (and the inbox is woken); False for a redelivery."""
        recorded = await self.recorder.record(key, payload)
        if recorded:
            self.inbox.wake.set()
        return recorded

    def start(self) -> None:
        self._tasks = [start_worker(self.outbox, self.outbox_interval),
                       start_worker(self.inbox)]

    async def stop(self) -> None:
        for task, stop in self._tasks:
            await stop_worker(task, stop)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._record_pool.shutdown(wait=False, cancel_futures=True)
