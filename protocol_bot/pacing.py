"""How fast a platform may be sent to: per destination, its pace or the Retry-After it asked for."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Pacing:
    """How fast one destination (a channel, a chat) may be sent to, and how many at once."""

    interval: float = 0.0  # seconds between two sends to one destination (Slack: ~1 s)
    concurrency: int = 8  # destinations served at the same time
    send_timeout: float = 15.0  # a send that takes longer has an unknown outcome
    pass_budget: float = 10.0  # a destination's backlog beyond this waits for the next pass


class Pacer:
    """When each destination may next be sent to: `interval` after its last send, or later
    when the platform asked for a pause (Retry-After)."""

    def __init__(self, pacing: Pacing, clock: Callable[[], float] = time.time):
        self.pacing = pacing
        self.clock = clock
        self._not_before: dict[str, float] = {}

    def not_before(self, dest: str) -> float:
        return self._not_before.get(dest, 0.0)

    def wait(self, dest: str) -> float:
        """Seconds until `dest` may be sent to; 0 or less: now."""
        return self.not_before(dest) - self.clock()

    def sent(self, dest: str, retry_after: float | None = None) -> None:
        """A send to `dest` is over (delivered, or refused with a Retry-After)."""
        self._not_before[dest] = self.clock() + max(self.pacing.interval, retry_after or 0.0)
