"""The in-memory EscalationStore: the SQLite store's twin for tests, same behaviour, no file."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Sequence

from .models import Asker, Ticket
from .sqlite_store import iso
from .store import (CLAIM_LEASE_SECONDS, AuditEntry, EscalationStore, Feedback, InvalidTransition,
                    LoggedQuestion, OutboxMessage, TicketNotFound, backoff_seconds, ticket_id_for,
                    ticket_seq)


def _copy(value):
    # Callers must not be able to change stored state through a dict they were handed.
    return copy.deepcopy(value)


class MemoryStore(EscalationStore):
    def __init__(self, *, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.RLock()
        self._tickets: dict[int, Ticket] = {}
        self._keys: dict[str, int] = {}
        self._outbox: dict[int, OutboxMessage] = {}
        self._outbox_created: dict[int, float] = {}
        self._references: dict[str, dict] = {}
        self._events: dict[str, float] = {}
        self._audit: list[AuditEntry] = []
        self._meta: dict[str, dict] = {}
        self._questions: dict[int, LoggedQuestion] = {}
        self._feedback: list[Feedback] = []
        # Ids are never reused, even after a purge, as SQLite's AUTOINCREMENT guarantees.
        self._ids = {name: itertools.count(1) for name in ("outbox", "question", "feedback")}

    def now(self) -> float:
        return self._clock()

    # --- tickets ---------------------------------------------------------------------------------
    def _enqueue(self, message: dict, ticket_id: str | None, now: float) -> int:
        body = _copy(dict(message["body"]))
        if ticket_id is not None:
            body["ticket_id"] = ticket_id
        message_id = next(self._ids["outbox"])
        self._outbox[message_id] = OutboxMessage(
            id=message_id, platform=message["platform"], recipient=message["recipient"],
            reply_to=_copy(message.get("reply_to")), kind=message["kind"],
            ticket_id=ticket_id if ticket_id is not None else message.get("ticket_id"),
            body=body, attempts=0, next_attempt_at=now, delivered_at=None, last_error=None)
        self._outbox_created[message_id] = now
        return message_id

    def open_ticket(self, *, asker: Asker, question: str, idempotency_key: str,
                    reply_to: dict | None = None, context: str = "",
                    bot_refs: Sequence[str] = (), outbox: Sequence[dict] = ()) -> tuple[Ticket, bool]:
        with self._lock:
            if idempotency_key in self._keys:
                return _copy(self._tickets[self._keys[idempotency_key]]), False
            now = self.now()
            stamp = iso(now)
            seq = len(self._tickets) + 1
            ticket = Ticket(
                id=ticket_id_for(seq), asker=asker, reply_to=_copy(reply_to or {}),
                question=question, context=context, bot_refs=tuple(bot_refs), status="open",
                assignee=None, answer=None, created_at=stamp, updated_at=stamp,
                idempotency_key=idempotency_key,
                events=({"at": stamp, "actor": asker.principal, "event": "opened"},))
            self._tickets[seq] = ticket
            self._keys[idempotency_key] = seq
            for message in outbox:
                self._enqueue(message, ticket.id, now)
            return _copy(ticket), True

    def _get(self, ticket_id: str) -> Ticket:
        seq = ticket_seq(ticket_id)
        if seq not in self._tickets:
            raise TicketNotFound(f"There is no ticket {ticket_id_for(seq)}.")
        return self._tickets[seq]

    def get_ticket(self, ticket_id: str) -> Ticket:
        with self._lock:
            return _copy(self._get(ticket_id))

    def list_tickets(self, status: str | None = None) -> list[Ticket]:
        with self._lock:
            return [_copy(t) for _, t in sorted(self._tickets.items())
                    if status is None or t.status == status]

    def update_ticket(self, ticket_id: str, *, actor: str, event: str, status: str | None = None,
                      assignee: str | None = None, answer: str | None = None,
                      outbox: Sequence[dict] = (), allowed_from: Sequence[str] | None = None,
                      detail: dict | None = None) -> Ticket:
        with self._lock:
            current = self._get(ticket_id)
            if allowed_from is not None and current.status not in allowed_from:
                raise InvalidTransition(current.id, current.status)
            now = self.now()
            stamp = iso(now)
            updated = dataclasses.replace(
                current, status=status or current.status,
                assignee=assignee if assignee is not None else current.assignee,
                answer=answer if answer is not None else current.answer, updated_at=stamp,
                events=current.events + ({"at": stamp, "actor": actor, "event": event,
                                          **_copy(detail or {})},))
            self._tickets[ticket_seq(current.id)] = updated
            for message in outbox:
                self._enqueue(message, current.id, now)
            return _copy(updated)

    # --- outbox -----------------------------------------------------------------------------------
    def enqueue(self, *, platform: str, recipient: str, reply_to: dict | None, kind: str,
                ticket_id: str | None, body: dict) -> int:
        with self._lock:
            return self._enqueue({"platform": platform, "recipient": recipient, "reply_to": reply_to,
                                  "kind": kind, "ticket_id": ticket_id, "body": body},
                                 None, self.now())

    def _due(self, platform: str, now: float, limit: int) -> list[OutboxMessage]:
        return [m for _, m in sorted(self._outbox.items())
                if m.platform == platform and m.delivered_at is None
                and m.next_attempt_at <= now][:limit]

    def due_messages(self, platform: str, now: float, limit: int = 50) -> list[OutboxMessage]:
        with self._lock:
            return _copy(self._due(platform, now, limit))

    def claim_due(self, platform: str, now: float, limit: int = 50,
                  lease: float = CLAIM_LEASE_SECONDS) -> list[OutboxMessage]:
        with self._lock:
            due = self._due(platform, now, limit)
            for m in due:
                self._outbox[m.id] = dataclasses.replace(m, next_attempt_at=now + lease)
            return _copy(due)

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        with self._lock:
            return [_copy(m) for _, m in sorted(self._outbox.items())
                    if m.delivered_at is None and (platform is None or m.platform == platform)]

    def mark_delivered(self, message_id: int, now: float) -> None:
        with self._lock:
            if message_id in self._outbox:
                self._outbox[message_id] = dataclasses.replace(
                    self._outbox[message_id], delivered_at=now, last_error=None)

    def mark_failed(self, message_id: int, error: str, now: float) -> None:
        with self._lock:
            m = self._outbox.get(message_id)
            if m is None:
                return
            attempts = m.attempts + 1
            self._outbox[message_id] = dataclasses.replace(
                m, attempts=attempts, last_error=error[:2000],
                next_attempt_at=now + backoff_seconds(attempts))

    # --- conversation references and handled events -----------------------------------------------
    def save_reference(self, principal: str, reference: dict) -> None:
        with self._lock:
            self._references[principal] = _copy(reference)

    def get_reference(self, principal: str) -> dict | None:
        with self._lock:
            return _copy(self._references.get(principal))

    def claim_event(self, key: str) -> bool:
        with self._lock:
            if key in self._events:
                return False
            self._events[key] = self.now()
            return True

    # --- audit and snapshots ----------------------------------------------------------------------
    def record_audit(self, *, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict | None = None) -> int:
        with self._lock:
            entry = AuditEntry(len(self._audit) + 1, self.now(), actor, action, target, outcome,
                               _copy(detail or {}))
            self._audit.append(entry)
            return entry.id

    def audit_entries(self, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
        with self._lock:
            entries = [e for e in reversed(self._audit) if action is None or e.action == action]
            return _copy(entries[:limit])

    def swap_snapshot(self, key: str, value: dict) -> dict | None:
        with self._lock:
            old = self._meta.get(key)
            self._meta[key] = _copy(value)
            return old

    # --- question log -----------------------------------------------------------------------------
    def log_question(self, *, question: str, normalised: str, answered: bool,
                     refs: Sequence[str], asker: str | None) -> int:
        with self._lock:
            log_id = next(self._ids["question"])
            self._questions[log_id] = LoggedQuestion(log_id, self.now(), question, normalised,
                                                     answered, tuple(refs), asker)
            return log_id

    def log_feedback(self, *, log_id: int | None, question: str, normalised: str,
                     refs: Sequence[str], helpful: bool, asker: str | None) -> int:
        with self._lock:
            if log_id in self._questions:
                self._questions[log_id] = dataclasses.replace(self._questions[log_id],
                                                              helpful=helpful)
            entry = Feedback(next(self._ids["feedback"]), self.now(),
                             log_id, question, normalised, tuple(refs), helpful, asker)
            self._feedback.append(entry)
            return entry.id

    def logged_questions(self, since: float = 0.0) -> list[LoggedQuestion]:
        with self._lock:
            return [q for _, q in sorted(self._questions.items()) if q.at >= since]

    def feedback_entries(self, since: float = 0.0) -> list[Feedback]:
        with self._lock:
            return [f for f in self._feedback if f.at >= since]

    def purge_log(self, before: float) -> dict[str, int]:
        with self._lock:
            old_questions = [i for i, q in self._questions.items() if q.at < before]
            for i in old_questions:
                del self._questions[i]
            kept = [f for f in self._feedback if f.at >= before]
            feedback = len(self._feedback) - len(kept)
            self._feedback = kept
            delivered = [i for i, m in self._outbox.items()
                         if m.delivered_at is not None and m.delivered_at < before]
            for i in delivered:
                del self._outbox[i]
            events = [k for k, at in self._events.items() if at < before]
            for k in events:
                del self._events[k]
            return {"questions": len(old_questions), "feedback": feedback,
                    "delivered_messages": len(delivered), "handled_events": len(events)}
