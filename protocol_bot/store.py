"""The store's interfaces, one small protocol per concern; SqliteStore implements them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
    unknown_outcomes: int = 0  # sends that timed out or died mid-way: maybe seen twice
    given_up_at: float | None = None  # cannot be delivered at all (shown in the report)


class TicketNotFound(LookupError):
    pass


class EntryNotFound(LookupError):
    """No FAQ entry or taught question with that id."""


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


@dataclass(frozen=True)
class FaqRecord:
    """A monitoring officer's FAQ entry, kept with the ticket it answers (one per ticket)."""

    id: str  # the ticket's id, e.g. MO-0042: also the passage ref in the FAQ document
    question: str  # the asker's question
    variants: tuple[str, ...]  # other wordings, kept across re-saves
    text: str  # the public FAQ text (not the personal reply to the asker)
    related: tuple[str, ...]  # passage keys ('document_id#ref') the bot had cited
    author: str
    status: str  # "live" (published) or "withdrawn"
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TaughtQuestion:
    """A question people really asked, attached by an MO to the passage that answers it."""

    id: int
    question: str
    passage_key: str  # 'document_id#ref'
    source: str  # where it came from: "ticket MO-0042", "log 17", "feedback 3", "cli"
    taught_by: str
    at: float
    undone_by: str | None = None
    undone_at: float | None = None


class Tickets(Protocol):
    """Escalation tickets and their history. Every write is committed before it returns, so a
    caller may tell a person that a ticket exists as soon as `open_ticket` has returned."""

    def open_ticket(self, *, asker: Asker, question: str, idempotency_key: str,
                    reply_to: dict | None = None, context: str = "",
                    bot_refs: Sequence[str] = (), outbox: Sequence[dict] = ()) -> tuple[Ticket, bool]:
        """Open a ticket, or return the one already opened with this key. bool: newly created.

        `outbox` messages (as for update_ticket) are queued in the same commit, only when the
        ticket is newly created; their ticket_id and body["ticket_id"] are filled in.
        """

    def get_ticket(self, ticket_id: str) -> Ticket:
        """The ticket; TicketNotFound when there is none (or the id is not a ticket id)."""

    def list_tickets(self, status: str | None = None) -> list[Ticket]:
        """Tickets, oldest first, optionally of one status."""

    def update_ticket(self, ticket_id: str, *, actor: str, event: str, status: str | None = None,
                      assignee: str | None = None, answer: str | None = None,
                      outbox: Sequence[dict] = (), allowed_from: Sequence[str] | None = None,
                      detail: dict | None = None, faq_entry: dict | None = None,
                      withdraw_faq: bool = False) -> Ticket:
        """Change a ticket, record the event, and enqueue `outbox` messages in the same commit.

        In the same commit too (only if the change is allowed): `faq_entry` (question, variants,
        text, related, author) becomes the ticket's live FAQ entry, its variants added to the
        earlier ones; `withdraw_faq` withdraws the ticket's entry, if it has one.

        Each outbox dict has platform, recipient, reply_to, kind, body (ticket_id is filled in).
        `allowed_from`: the statuses the change may be made from, checked inside the write
        (InvalidTransition otherwise), so two people acting at once cannot both succeed.
        TicketNotFound when there is no such ticket. `detail` is stored with the event.
        """


class Outbox(Protocol):
    """Messages the bot owes people, kept until a platform adapter confirms delivery."""

    def enqueue(self, *, platform: str, recipient: str, reply_to: dict | None, kind: str,
                ticket_id: str | None, body: dict) -> int:
        """Queue a message to deliver; returns its id."""

    def due_messages(self, platform: str, now: float, limit: int = 50) -> list[OutboxMessage]:
        """Due messages for this platform, without claiming them."""

    def claim_due(self, platform: str, now: float, limit: int = 50,
                  lease: float = CLAIM_LEASE_SECONDS) -> list[OutboxMessage]:
        """Due messages, hidden from other senders for `lease` seconds while this one sends.
        A sender that dies mid-send leaves them due again after the lease (at least once).
        Each comes back with `next_attempt_at` = the end of its lease: the claim's token."""

    def renew_claim(self, message_id: int, claimed_until: float, until: float) -> bool:
        """Extend this sender's lease to `until`; False (nothing changed) when the claim ended
        at `claimed_until` is no longer this sender's: another sender claimed the message after
        the lease ran out, or it was delivered or given up meanwhile."""

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        """Every message not yet delivered, oldest first (for the report and `doctor`)."""

    def mark_delivered(self, message_id: int, now: float) -> None:
        """Never sent again. An unknown id is ignored."""

    def mark_failed(self, message_id: int, error: str, now: float, *,
                    retry_at: float | None = None, outcome_unknown: bool = False) -> None:
        """Record a failed attempt; the next is at `retry_at` (a platform's Retry-After) or
        after exponential backoff. `outcome_unknown`: the send may have arrived (a timeout),
        so a retry may show it twice; counted for the report."""

    def postpone(self, message_id: int, until: float) -> None:
        """Not now (pacing): due again at `until`, with no attempt counted."""

    def redirect(self, message_id: int, *, reply_to: dict, error: str, now: float) -> None:
        """Deliver somewhere else (the asker's private chat when a channel refuses the bot)."""

    def give_up(self, message_id: int, error: str, now: float) -> None:
        """It can never be delivered: kept, with the reason, for the report; never sent."""

    def given_up(self) -> list[OutboxMessage]:
        """Messages that could not be delivered at all, oldest first."""

    def unknown_outcomes(self) -> int:
        """How many sends ended with their outcome unknown (possible duplicates)."""


class Inbox(Protocol):
    """What people sent, recorded before the platform is acknowledged, answered after."""

    def record_incoming(self, platform: str, key: str, payload: dict) -> int | None:
        """Record a platform payload once per `key` (also claimed as an event); None when the
        key was seen before (a redelivery), else the record's id."""

    def record_many(self, platform: str, items: Sequence[tuple[str, dict]]) -> list[int | None]:
        """`record_incoming` for several (key, payload) at once, in one commit (one disk flush
        for a burst); one id or None each, in order."""

    def claim_incoming(self, platform: str, now: float, limit: int = 50,
                       lease: float = CLAIM_LEASE_SECONDS) -> list[tuple[int, dict]]:
        """Recorded payloads not yet answered, leased to this worker; a worker that dies
        leaves them due again after the lease (a restart answers them)."""

    def complete_incoming(self, incoming_id: int, outbox: Sequence[dict], now: float) -> None:
        """Mark the record answered and queue its replies in the same commit (only once)."""

    def pending_incoming(self, platform: str | None = None) -> int:
        """How many recorded payloads are not answered yet."""


class Events(Protocol):
    """Platform events and clicks already handled: redeliveries and double clicks act once."""

    def claim_event(self, key: str) -> bool:
        """True the first time a key is seen, False on every repeat (in any process)."""


class ConversationRefs(Protocol):
    """How to reach a person proactively (Teams needs one before it can message them)."""

    def save_reference(self, principal: str, reference: dict) -> None:
        """Remember (or replace) the reference for `principal`."""

    def get_reference(self, principal: str) -> dict | None:
        """The reference, or None when the person has never talked to the bot privately."""


class QuestionLog(Protocol):
    """What people asked and whether it helped; purged after the retention period."""

    def log_question(self, *, question: str, normalised: str, answered: bool,
                     refs: Sequence[str], asker: str | None) -> int:
        """Record one question; returns its id."""

    def log_feedback(self, *, log_id: int | None, question: str, normalised: str,
                     refs: Sequence[str], helpful: bool, asker: str | None) -> int:
        """Record feedback; when log_id names a logged question, mark it helpful or not."""

    def logged_questions(self, since: float = 0.0) -> list[LoggedQuestion]:
        """Questions logged at or after `since`, oldest first."""

    def logged_question(self, log_id: int) -> str | None:
        """The text of logged question `log_id` (buttons carry this id, never the question
        itself), or None once it is purged."""

    def feedback_entries(self, since: float = 0.0) -> list[Feedback]:
        """Feedback given at or after `since`, oldest first."""

    def purge_log(self, before: float) -> dict[str, int]:
        """Delete question-log rows, feedback, delivered messages and handled-event keys older
        than `before`. Returns how many of each."""


class Audit(Protocol):
    """Refusals and knowledge changes: who, what, when. Never purged."""

    def record_audit(self, *, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict | None = None) -> int:
        """Record one entry; returns its id."""

    def audit_entries(self, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """Newest first, optionally of one action."""

    def swap_snapshot(self, key: str, value: dict) -> dict | None:
        """Store `value` under `key` and return what was there, in one write (knowledge state)."""


class FaqEntries(Protocol):
    """The MOs' FAQ entries. They change with their ticket (update_ticket); the FAQ document the
    index reads is written from them after the commit."""

    def faq_entries(self, include_withdrawn: bool = False) -> list[FaqRecord]:
        """Entries in ticket order; only live ones unless `include_withdrawn`."""

    def change_faq(self, entry_id: str, *, status: str | None = None, text: str | None = None,
                   variants: Sequence[str] | None = None) -> FaqRecord:
        """Set an entry's status ("live"/"withdrawn"), public text and/or variants (replaced).
        EntryNotFound when there is none."""


class Teaching(Protocol):
    """Questions people asked, taught to the passages that answer them (search hints)."""

    def teach(self, *, question: str, passage_key: str, actor: str,
              source: str) -> tuple[TaughtQuestion, bool]:
        """Attach `question` to the passage; bool: newly taught (the same question already
        taught to that passage, and not undone, is returned as it is)."""

    def undo_teaching(self, taught_id: int, *, actor: str) -> TaughtQuestion:
        """Undo one taught question (kept, marked undone). EntryNotFound when there is none."""

    def taught_questions(self, include_undone: bool = False) -> list[TaughtQuestion]:
        """Taught questions, oldest first; only those in force unless `include_undone`."""


class Store(Tickets, Outbox, Inbox, Events, ConversationRefs, QuestionLog, Audit, FaqEntries,
            Teaching, Protocol):
    """Every concern in one database: SqliteStore (one file, or ":memory:" in tests).
    Raises StoreError when the database cannot be used."""

    def now(self) -> float:
        """The store's clock (seconds since the epoch); tests substitute their own."""

    def close(self) -> None:
        """Release the connection."""
