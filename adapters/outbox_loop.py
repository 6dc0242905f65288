"""Delivers the outbox for one platform: paced per destination, retried, never blocking the others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from protocol_bot.delivery import Deliveries, RetryLater
from protocol_bot.pacing import Pacer, Pacing
from protocol_bot.store import OutboxMessage

from .worker_loop import run_passes

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage], Awaitable[None]]
Destination = Callable[[OutboxMessage], str]


class OutboxWorker:
    """Claims due messages, groups them by destination, and sends each group in order at the
    platform's pace: a rate-limited or slow destination holds up only itself."""

    def __init__(self, deliveries: Deliveries, platform: str, send: Send,
                 destination: Destination, pacing: Pacing = Pacing(),
                 clock: Callable[[], float] = time.time):
        self.deliveries = deliveries
        self.platform = platform
        self.send = send
        self.destination = destination
        self.pacing = pacing
        self.clock = clock
        self.pacer = Pacer(pacing, clock)
        self.wake = asyncio.Event()
        self._queues: dict[str, list[OutboxMessage]] = {}  # claimed, waiting their turn
        self._draining: dict[str, asyncio.Task] = {}  # destinations being sent to now
        self._gate = asyncio.Semaphore(pacing.concurrency)
        self._pass_now = 0.0

    async def deliver_due(self, now: float | None = None) -> int:
        """One pass, waited for: send what is due; returns how many were delivered."""
        started = await self._claim(self.clock() if now is None else now)
        return sum(await asyncio.gather(*started))

    async def _claim(self, now: float) -> list[asyncio.Task]:
        """Claim what is due and start each destination's own task (or queue the message
        behind the one already running): a slow or rate-limited destination holds up nothing
        else, and the loop never waits for a send."""
        self._pass_now = now  # what the store records (tests pass their own time)
        started = []
        for message in await asyncio.to_thread(self.deliveries.claim, self.platform, now):
            dest = self.destination(message)
            self._queues.setdefault(dest, []).append(message)
            if dest not in self._draining:
                self._draining[dest] = asyncio.ensure_future(self._drain(dest))
                started.append(self._draining[dest])
        return started

    async def _drain(self, dest: str) -> int:
        delivered = 0
        try:
            queue = self._queues[dest]
            while queue:
                wait = self.pacer.wait(dest)
                if wait > self.pacing.pass_budget:  # the rest waits for its turn, unclaimed
                    for message in queue:
                        await asyncio.to_thread(self.deliveries.postpone, message,
                                                self.pacer.not_before(dest))
                    queue.clear()
                    break
                if wait > 0:  # pacing: waiting holds no slot, others send meanwhile
                    await asyncio.sleep(wait)
                async with self._gate:  # at most `concurrency` sends in flight
                    delivered += await self._send_one(dest, queue.pop(0))
        finally:
            self._draining.pop(dest, None)
            if not self._queues.get(dest):
                self._queues.pop(dest, None)
        return delivered

    async def _send_one(self, dest: str, message: OutboxMessage) -> int:
        # A message that waited in the queue past its lease may be claimed again: send only
        # while the claim is still this worker's, with time for the send to finish.
        message = await asyncio.to_thread(self.deliveries.still_ours, message, self.clock(),
                                          self.pacing.send_timeout + 1.0)
        if message is None:
            return 0
        error: Exception | None = None
        try:
            await asyncio.wait_for(self.send(message), self.pacing.send_timeout)
        except asyncio.TimeoutError:
            error = RetryLater(f"no answer in {self.pacing.send_timeout:.0f} s",
                               outcome_unknown=True)
        except Exception as exc:  # classified by the core: retry, fall back, or give up
            error = exc
        self.pacer.sent(dest, getattr(error, "retry_after", None))
        await asyncio.to_thread(self.deliveries.settle, message, error, self._pass_now)
        return int(error is None)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Deliver due messages until `stop` is set: every `interval`, or at once when woken."""
        log.info("%s outbox delivery started", self.platform)
        await run_passes(lambda: self._claim(self.clock()), stop, self.wake, interval,
                         f"{self.platform} outbox delivery pass")
        for task in list(self._draining.values()):  # claimed: due again after the lease
            task.cancel()
        log.info("%s outbox delivery stopped", self.platform)


async def deliver_due(deliveries: Deliveries, platform: str, send: Send,
                      now: float | None = None) -> int:
    """One unpaced pass for `platform` (tests and tools): every due message, once."""
    worker = OutboxWorker(deliveries, platform, send, lambda m: str(m.id))
    return await worker.deliver_due(now)
