"""Group commit for arrivals: a burst of questions is recorded in one transaction, not one each."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from protocol_bot.conversation import Conversation


class Recorder:
    """`await record(key, payload)` -> recorded (True) or a redelivery (False). Arrivals that
    come while a write is on disk wait for the next one and share it, so a burst of 500 costs a
    few disk flushes instead of 500 (the platform's acknowledgement waits for the write)."""

    def __init__(self, conversation: Conversation, platform: str, pool: ThreadPoolExecutor,
                 batch: int = 200):
        self.conversation = conversation
        self.platform = platform
        self.pool = pool
        self.batch = batch
        self._waiting: list[tuple[str, dict, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None

    async def record(self, key: str, payload: dict) -> bool:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((key, payload, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.ensure_future(self._write_all())
        return await future

    async def _write_all(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            items, self._waiting = self._waiting[:self.batch], self._waiting[self.batch:]
            try:
                recorded = await loop.run_in_executor(
                    self.pool, self.conversation.record_many, self.platform,
                    [(key, payload) for key, payload, _ in items])
            except Exception as exc:  # the platform gets an error and will redeliver
                for _, _, future in items:
                    future.set_exception(exc)
                continue
            for (_, _, future), new in zip(items, recorded):
                future.set_result(new)
