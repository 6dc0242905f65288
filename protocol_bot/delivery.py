"""The outbox as a platform's sender sees it: claim what is due, then say how each send went."""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

from .store import ConversationRefs, Outbox, OutboxMessage

log = logging.getLogger(__name__)

# After this many failures a message is still retried, but the log says so loudly.
LOUD_AFTER_ATTEMPTS = 5


class OutboxStore(Outbox, ConversationRefs, Protocol):
    """What delivery needs of the store."""


class Deliveries:
    """One platform worker's view of the outbox (synchronous; the worker calls it off its loop)."""

    def __init__(self, store: OutboxStore):
        self.store = store

    def claim(self, platform: str, now: float) -> list[OutboxMessage]:
        """Due messages for `platform`, leased to this sender; a message queued before its
        recipient first talked to the bot gets their conversation reference now."""
        claimed = []
        for message in self.store.claim_due(platform, now):
            if message.reply_to is None:
                reference = self.store.get_reference(message.recipient)
                if reference is not None:
                    message = dataclasses.replace(message, reply_to=reference)
            claimed.append(message)
        return claimed

    def delivered(self, message: OutboxMessage, now: float) -> None:
        self.store.mark_delivered(message.id, now)
        log.info("%s message %d (%s, ticket %s) delivered", message.platform, message.id,
                 message.kind, message.ticket_id)

    def failed(self, message: OutboxMessage, error: str, now: float) -> None:
        """Keep the message and retry later, with exponential backoff."""
        self.store.mark_failed(message.id, error, now)
        loud = message.attempts + 1 >= LOUD_AFTER_ATTEMPTS
        log.log(logging.ERROR if loud else logging.WARNING,
                "%s message %d (%s, ticket %s) not delivered, attempt %d: %s; will retry",
                message.platform, message.id, message.kind, message.ticket_id,
                message.attempts + 1, error.split(":", 1)[0])

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        return self.store.undelivered(platform)
