"""The escalation store interface: tickets, the outbox, conversation references, handled events."""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Asker, Ticket

# Failed deliveries are retried after 5 s, 10 s, 20 s ... at most an hour apart, for ever:
# an answer is never dropped, however long a platform is down.
BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 3600.0
# A message being sent is hidden from other senders this long; if the sender dies mid-send
# it becomes due again (delivery is at least once).
CLAIM_LEASE_SECONDS = 120.0


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after `attempts` failed ones."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, attempts - 1))


def ticket_id_for(seq: int) -> str:
    return f"MO-{seq:04d}"


def ticket_seq(ticket_id: str) -> int:
    """'MO-0042', 'mo-42' or '42' -> 42; anything else is not a ticket id."""
    text = ticket_id.strip().upper().removeprefix("MO-")
    if not text.isdigit() or int(text) < 1:
        raise TicketNotFound(f"'{ticket_id}' is not a ticket id (they look like MO-0042).")
    return int(text)


@dataclass(frozen=True)
class OutboxMessage:
    """A message the bot owes someone, kept until a platform adapter confirms delivery.

    `kind` says what to render ("ticket_opened" for the MO, "ticket_answered" for the asker,
    "ticket_assigned", ...); `recipient` is a principal ("slack:U123"); `reply_to` is the
    platform's conversation reference to deliver into (opaque to the core).
    """

    id: int
    platform: str
    recipient: str
    reply_to: dict
    kind: str
    ticket_id: str | None
    body: dict
    attempts: int
    next_attempt_at: float
    delivered_at: float | None
    last_error: str | None


class TicketNotFound(LookupError):
    pass


class InvalidTransition(ValueError):
    """The ticket is not in a status the change can be made from (checked inside the write)."""

    def __init__(self, ticket_id: str, status: str):
        self.ticket_id = ticket_id
        self.status = status
        super().__init__(f"{ticket_id} is {status}")


class StoreError(RuntimeError):
    """The database cannot be used (e.g. written by a newer version)."""


@dataclass(frozen=True)
class AuditEntry:
    """Something done or refused: who, what, to what, and how it went."""

    id: int
    at: float
    actor: str
    action: str  # e.g. "tickets.answer", "kb.reload", "kb.changed"
    target: str  # a ticket id, a file, or ""
    outcome: str  # "ok", "refused", "failed"
    detail: dict


@dataclass(frozen=True)
class LoggedQuestion:
    """One question the bot was asked. Asker identity only when the council configures it."""

    id: int
    at: float
    question: str
    normalised: str
    answered: bool
    refs: tuple[str, ...]
    asker: str | None
    helpful: bool | None = None


@dataclass(frozen=True)
class Feedback:
    id: int
    at: float
    log_id: int | None
    question: str
    normalised: str
    refs: tuple[str, ...]
    helpful: bool
    asker: str | None


class EscalationStore(abc.ABC):
    """Where tickets, the outbox and conversation references live.

    Every write is committed before the method returns: a caller may tell a person that a
    ticket exists as soon as `open_ticket` has returned.
    """

    def now(self) -> float:
        """The store's clock (seconds since the epoch); tests substitute their own."""
        return time.time()

    # --- tickets ---------------------------------------------------------------------------
    @abc.abstractmethod
    def open_ticket(self, *, asker: Asker, question: str, idempotency_key: str,
                    reply_to: dict | None = None, context: str = "",
                    bot_refs: Sequence[str] = (), outbox: Sequence[dict] = ()) -> tuple[Ticket, bool]:
        """Open a ticket, or return the one already opened with this key. bool: newly created.

        `outbox` messages (as for update_ticket) are queued in the same commit, only when the
        ticket is newly created; their ticket_id and body["ticket_id"] are filled in.
        """

    @abc.abstractmethod
    def get_ticket(self, ticket_id: str) -> Ticket:
        """The ticket, or TicketNotFound."""

    @abc.abstractmethod
    def list_tickets(self, status: str | None = None) -> list[Ticket]:
        """Tickets, oldest first, optionally of one status."""

    @abc.abstractmethod
    def update_ticket(self, ticket_id: str, *, actor: str, event: str, status: str | None = None,
                      assignee: str | None = None, answer: str | None = None,
                      outbox: Sequence[dict] = (), allowed_from: Sequence[str] | None = None,
                      detail: dict | None = None) -> Ticket:
        """Change a ticket, record the event, and enqueue `outbox` messages in the same commit.

        Each outbox dict has platform, recipient, reply_to, kind, body (ticket_id is filled in).
        `allowed_from`: the statuses the change may be made from, checked inside the write
        (InvalidTransition otherwise), so two people acting at once cannot both succeed.
        `detail` is stored with the event.
        """

    # --- outbox ----------------------------------------------------------------------------
    @abc.abstractmethod
    def enqueue(self, *, platform: str, recipient: str, reply_to: dict | None, kind: str,
                ticket_id: str | None, body: dict) -> int:
        """Queue a message to deliver; returns its id."""

    @abc.abstractmethod
    def due_messages(self, platform: str, now: float, limit: int = 50) -> list[OutboxMessage]:
        """Undelivered messages for this platform whose next attempt is due."""

    @abc.abstractmethod
    def claim_due(self, platform: str, now: float, limit: int = 50,
                  lease: float = CLAIM_LEASE_SECONDS) -> list[OutboxMessage]:
        """Due messages, hidden from other senders for `lease` seconds while this one sends."""

    @abc.abstractmethod
    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        """Every message not yet delivered, oldest first (for the report and `doctor`)."""

    @abc.abstractmethod
    def mark_delivered(self, message_id: int, now: float) -> None: ...

    @abc.abstractmethod
    def mark_failed(self, message_id: int, error: str, now: float) -> None:
        """Record a failed attempt and schedule the next one with exponential backoff."""

    # --- conversation references and handled events -----------------------------------------
    @abc.abstractmethod
    def save_reference(self, principal: str, reference: dict) -> None:
        """Remember how to reach a person proactively (Teams needs this)."""

    @abc.abstractmethod
    def get_reference(self, principal: str) -> dict | None: ...

    @abc.abstractmethod
    def claim_event(self, key: str) -> bool:
        """True the first time a platform event/action key is seen, False on every repeat."""

    # --- audit: refusals, knowledge changes ---------------------------------------------------
    @abc.abstractmethod
    def record_audit(self, *, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict | None = None) -> int: ...

    @abc.abstractmethod
    def audit_entries(self, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """Newest first."""

    @abc.abstractmethod
    def swap_snapshot(self, key: str, value: dict) -> dict | None:
        """Store `value` under `key` and return what was there, in one write (knowledge state)."""

    # --- question log ---------------------------------------------------------------------------
    @abc.abstractmethod
    def log_question(self, *, question: str, normalised: str, answered: bool,
                     refs: Sequence[str], asker: str | None) -> int: ...

    @abc.abstractmethod
    def log_feedback(self, *, log_id: int | None, question: str, normalised: str,
                     refs: Sequence[str], helpful: bool, asker: str | None) -> int:
        """Record feedback; when log_id names a logged question, mark it helpful or not."""

    @abc.abstractmethod
    def logged_questions(self, since: float = 0.0) -> list[LoggedQuestion]: ...

    @abc.abstractmethod
    def feedback_entries(self, since: float = 0.0) -> list[Feedback]: ...

    @abc.abstractmethod
    def purge_log(self, before: float) -> dict[str, int]:
        """Delete question-log rows, feedback, delivered messages and handled-event keys older
        than `before`. Returns how many of each."""
