"""The outbox as a platform's sender sees it: claim what is due, then say how each send went."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Protocol

from .store import CLAIM_LEASE_SECONDS, ConversationRefs, Outbox, OutboxMessage

log = logging.getLogger(__name__)

# After this many failures a message is still retried, but the log says so loudly.
LOUD_AFTER_ATTEMPTS = 5
# Messages to people (not notices to the MO) whose failure the MO is told about.
TO_ASKERS = ("reply", "ticket_answered")


class RetryLater(Exception):
    """The platform said "not now" (rate limit, 5xx) or did not answer in time."""

    def __init__(self, reason: str, *, retry_after: float | None = None,
                 outcome_unknown: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class Refused(Exception):
    """This destination will not take the bot's messages (removed from the channel, archived).
    `fallback`: where the adapter could reach the person privately instead, if anywhere."""

    def __init__(self, reason: str, fallback: dict | None = None):
        super().__init__(reason)
        self.fallback = fallback


class Undeliverable(Exception):
    """The message can never be delivered as it is."""


# What a platform's "no" means for a message; each adapter maps its own errors to one of these.
RETRY = "retry"  # not now: a rate limit, a server error; try again (at Retry-After, if given)
TIMEOUT = "timeout"  # no answer in time: it may have arrived, so retry as "outcome unknown"
REFUSED = "refused"  # this place will not take the bot's messages: the person's private chat
PERMANENT = "permanent"  # never, as it is


def http_kind(status: int) -> str:
    """An HTTP status a platform answered a send with, as one of the kinds above."""
    if status in (412, 429) or status >= 500:
        return RETRY
    return REFUSED if status in (403, 404) else PERMANENT


def refusal(kind: str, reason: str, *, retry_after: float | str | None = None,
            fallback: dict | None = None) -> Exception:
    """The exception a sender raises for `failed` to act on; `fallback`: where the adapter
    could reach the person privately instead (refused only)."""
    if kind == REFUSED:
        return Refused(reason, fallback)
    if kind == PERMANENT:
        return Undeliverable(reason)
    return RetryLater(reason, retry_after=float(retry_after) if retry_after else None,
                      outcome_unknown=kind == TIMEOUT)


class OutboxStore(Outbox, ConversationRefs, Protocol):
    """What delivery needs of the store."""


class Deliveries:
    """One platform worker's view of the outbox (synchronous; the worker calls it off its loop)."""

    def __init__(self, store: OutboxStore, notify: Callable[[str], None] | None = None,
                 lease: float = CLAIM_LEASE_SECONDS):
        self.store = store
        self.lease = lease  # how long a claimed message is hidden from other senders
        self.notify = notify  # tells the monitoring officers about a delivery problem

    def claim(self, platform: str, now: float) -> list[OutboxMessage]:
        """Due messages for `platform`, leased to this sender; a message queued before its
        recipient first talked to the bot gets their conversation reference now."""
        claimed = []
        for message in self.store.claim_due(platform, now, lease=self.lease):
            if message.reply_to is None:
                reference = self.store.get_reference(message.recipient)
                if reference is not None:
                    message = dataclasses.replace(message, reply_to=reference)
            claimed.append(message)
        return claimed

    def still_ours(self, message: OutboxMessage, now: float,
                   needed: float) -> OutboxMessage | None:
        """The claimed message if this sender still holds it for `needed` more seconds (the
        lease renewed when it runs shorter); None when the lease ran out and another sender
        (or this one's next pass) may have claimed it: then it must not be sent from here."""
        if message.next_attempt_at - now >= needed:
            return message
        until = now + max(self.lease, needed)
        if self.store.renew_claim(message.id, message.next_attempt_at, until):
            return dataclasses.replace(message, next_attempt_at=until)
        log.info("%s message %d: its lease ran out before it could be sent; another sender "
                 "has it", message.platform, message.id)
        return None

    def settle(self, message: OutboxMessage, error: Exception | None, now: float) -> None:
        """Record how one send went: delivered (no `error`), or `failed`."""
        if error is None:
            self.delivered(message, now)
        else:
            self.failed(message, error, now)

    def delivered(self, message: OutboxMessage, now: float) -> None:
        self.store.mark_delivered(message.id, now)
        log.info("%s message %d (%s, ticket %s) delivered", message.platform, message.id,
                 message.kind, message.ticket_id)

    def failed(self, message: OutboxMessage, error: Exception | str, now: float) -> None:
        """Keep the message and retry later (at the platform's Retry-After, or with backoff);
        a refused destination falls back to the person's private chat; what can never be
        delivered is given up, and the monitoring officers are told."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if isinstance(error, Refused):
            self._refused(message, error, text, now)
            return
        if isinstance(error, Undeliverable):
            self._give_up(message, text, now)
            return
        retry_at = unknown = None
        if isinstance(error, RetryLater):
            retry_at = None if error.retry_after is None else now + error.retry_after
            unknown = error.outcome_unknown
        self.store.mark_failed(message.id, text, now, retry_at=retry_at,
                               outcome_unknown=bool(unknown))
        loud = message.attempts + 1 >= LOUD_AFTER_ATTEMPTS
        log.log(logging.ERROR if loud else logging.INFO if retry_at else logging.WARNING,
                "%s message %d (%s, ticket %s) not delivered, attempt %d: %s; will retry",
                message.platform, message.id, message.kind, message.ticket_id,
                message.attempts + 1, text.split(":", 1)[0])

    def _refused(self, message: OutboxMessage, error: Refused, text: str, now: float) -> None:
        fallback = error.fallback or self.store.get_reference(message.recipient)
        if message.kind not in TO_ASKERS or not fallback or fallback == message.reply_to:
            self._give_up(message, text, now)
            return
        self.store.redirect(message.id, reply_to=fallback, error=text, now=now)
        log.warning("%s message %d refused where it was asked (%s): sent privately instead",
                    message.platform, message.id, error)
        self._tell_mos(message, f"A reply to {message.recipient} could not be posted where they "
                                f"asked ({error}), so it was sent to them privately instead.")

    def _give_up(self, message: OutboxMessage, text: str, now: float) -> None:
        self.store.give_up(message.id, text, now)
        log.error("%s message %d (%s, ticket %s) cannot be delivered: %s", message.platform,
                  message.id, message.kind, message.ticket_id, text)
        self._tell_mos(message, f"A message to {message.recipient} could not be delivered "
                                f"({text}). It is listed in `protocol-bot report`.")

    def _tell_mos(self, message: OutboxMessage, text: str) -> None:
        if self.notify is not None and message.kind in TO_ASKERS:
            try:
                self.notify(text)
            except Exception:
                log.exception("could not tell the monitoring officers about a delivery problem")

    def postpone(self, message: OutboxMessage, until: float) -> None:
        self.store.postpone(message.id, until)

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        return self.store.undelivered(platform)
