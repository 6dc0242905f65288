"""What SqliteStore and PgStore share: every store method whose SQL and logic are the same."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .models import Asker, Ticket
from .store import (AuditEntry, EntryNotFound, FaqRecord, Feedback, InvalidTransition,
                    LoggedQuestion, OutboxMessage, StoreError, TaughtQuestion, TicketNotFound,
                    backoff_seconds, ticket_id_for)

log = logging.getLogger(__name__)

# A recorded message that fails this often is left alone (logged), not retried for ever.
INBOX_MAX_ATTEMPTS = 5
# What SqlStore._lock_key serialises: one namespace each, so unrelated keys never wait.
TICKET_KEYS, SNAPSHOT_KEYS, TEACHING_KEYS = 0, 1, 2
_TICKET_ID = re.compile(r"(?:MO-)?0*([0-9]{1,18})", re.IGNORECASE)


def seq_of(ticket_id: str) -> int:
    """Like store.ticket_seq, but strict: ASCII digits, small enough for SQLite, else
    TicketNotFound (never ValueError or OverflowError)."""
    text = str(ticket_id).strip()
    match = _TICKET_ID.fullmatch(text)
    if match is None or not text.isascii():
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise TicketNotFound(f"'{shown}' is not a ticket id (they look like MO-0042).")
    seq = int(match.group(1))
    if seq < 1:
        raise TicketNotFound(f"'{text}' is not a ticket id (they look like MO-0042).")
    return seq


def row_id(value: object) -> int | None:
    """`value` as a row id both databases can hold (a 64-bit integer above 0), else None."""
    try:
        ident = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return ident if 0 < ident < 2**63 else None


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hints_by_passage(rows: Iterable[Sequence[str]]) -> dict[str, list[str]]:
    """Taught questions (passage_key, question rows) grouped by passage key, in order."""
    hints: dict[str, list[str]] = {}
    for key, question in rows:
        hints.setdefault(key, []).append(question)
    return hints


class SqlStore:
    """Tickets, outbox, inbox, events, references, question log, audit, FAQ and teaching in
    SQL that runs on SQLite and PostgreSQL alike (`?` placeholders).

    Every state change is one `_write()` transaction. A subclass connects, migrates, and fills
    in the hooks below where the databases differ; it keeps its own claim queries.
    """

    path: Any  # what messages name the database by
    _clock: Callable[[], float]
    # Appended to a SELECT whose rows the transaction goes on to change. SQLite's write
    # transactions already hold the one write lock, so it needs none.
    FOR_UPDATE = ""

    def now(self) -> float:
        return self._clock()

    # --- hooks ----------------------------------------------------------------------------------
    def _write(self) -> contextlib.AbstractContextManager[Any]:
        """One write transaction, committed when the block ends; yields the connection."""
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Any]:
        """One read transaction (several SELECTs see one snapshot)."""
        raise NotImplementedError

    def _dump(self, value: Any) -> Any:
        """A value for a JSON column (None stays NULL)."""
        raise NotImplementedError

    def _load(self, value: Any) -> Any:
        """A JSON column's value as Python (NULL stays None)."""
        raise NotImplementedError

    def _insert(self, conn, sql: str, params: Sequence, key: str = "id") -> int:
        """Run an INSERT and return the new row's `key` column."""
        raise NotImplementedError

    def _lock_key(self, conn, space: int, key: str) -> None:
        """Serialise transactions that look for `key` and then insert it (until commit)."""

    def _one_snapshot(self, conn) -> None:
        """Make the rest of a `_read()` transaction one snapshot, if it is not already."""

    def _set_version(self, conn, number: int) -> None:
        """Record that migration `number` has run."""
        raise NotImplementedError

    def _upgrade(self, conn, version: int, migrations: Sequence[Sequence[str]]) -> None:
        """Run the migrations after `version`, inside the caller's (locked) transaction."""
        latest = len(migrations)
        if version > latest:
            raise StoreError(
                f"{self.path} was written by a newer protocol-bot (schema {version}; this "
                f"version knows up to {latest}). Upgrade protocol-bot.")
        for number in range(version + 1, latest + 1):
            for statement in migrations[number - 1]:
                conn.execute(statement)
            self._set_version(conn, number)
            log.info("database %s migrated to schema %d", self.path, number)

    # --- tickets ---------------------------------------------------------------------------------
    def _ticket(self, conn, seq: int, *, lock: bool = False) -> Ticket:
        row = conn.execute("SELECT * FROM tickets WHERE seq = ?"
                           + (self.FOR_UPDATE if lock else ""), (seq,)).fetchone()
        if row is None:
            raise TicketNotFound(f"There is no ticket {ticket_id_for(seq)}.")
        events = tuple(
            {"at": e["at"], "actor": e["actor"], "event": e["event"],
             **(self._load(e["detail"]) or {})}
            for e in conn.execute("SELECT * FROM ticket_events WHERE ticket_seq = ? ORDER BY id",
                                  (seq,)))
        return Ticket(
            id=ticket_id_for(row["seq"]),
            asker=Asker(row["asker_platform"], row["asker_user_id"], row["asker_display_name"]),
            reply_to=self._load(row["reply_to"]), question=row["question"], context=row["context"],
            bot_refs=tuple(self._load(row["bot_refs"])), status=row["status"],
            assignee=row["assignee"], answer=row["answer"], created_at=row["created_at"],
            updated_at=row["updated_at"], idempotency_key=row["idempotency_key"], events=events)

    def _event(self, conn, seq: int, at: str, actor: str, event: str, detail: dict | None) -> None:
        conn.execute("INSERT INTO ticket_events (ticket_seq, at, actor, event, detail) "
                     "VALUES (?, ?, ?, ?, ?)", (seq, at, actor, event, self._dump(detail or {})))

    def _enqueue(self, conn, message: dict, ticket_id: str | None, now: float) -> int:
        body = dict(message["body"])
        if ticket_id is not None:
            body["ticket_id"] = ticket_id
        return self._insert(
            conn, "INSERT INTO outbox (platform, recipient, reply_to, kind, ticket_id, body, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (message["platform"], message["recipient"], self._dump(message.get("reply_to")),
             message["kind"], ticket_id if ticket_id is not None else message.get("ticket_id"),
             self._dump(body), now, now))

    def open_ticket(self, *, asker: Asker, question: str, idempotency_key: str,
                    reply_to: dict | None = None, context: str = "",
                    bot_refs: Sequence[str] = (), outbox: Sequence[dict] = ()) -> tuple[Ticket, bool]:
        now = self.now()
        stamp = iso(now)
        with self._write() as conn:
            # Another process opening the same key waits here until this one commits, then
            # finds this ticket: neither two tickets nor a unique-key error.
            self._lock_key(conn, TICKET_KEYS, idempotency_key)
            row = conn.execute("SELECT seq FROM tickets WHERE idempotency_key = ?",
                               (idempotency_key,)).fetchone()
            if row is not None:
                return self._ticket(conn, row["seq"]), False
            seq = self._insert(
                conn, "INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, "
                "asker_display_name, reply_to, question, context, bot_refs, status, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                (idempotency_key, asker.platform, asker.user_id, asker.display_name,
                 self._dump(reply_to or {}), question, context, self._dump(list(bot_refs)),
                 stamp, stamp), key="seq")
            self._event(conn, seq, stamp, asker.principal, "opened", None)
            for message in outbox:
                self._enqueue(conn, message, ticket_id_for(seq), now)
            return self._ticket(conn, seq), True

    def get_ticket(self, ticket_id: str) -> Ticket:
        seq = seq_of(ticket_id)
        with self._read() as conn:
            return self._ticket(conn, seq)

    def list_tickets(self, status: str | None = None) -> list[Ticket]:
        with self._read() as conn:
            self._one_snapshot(conn)  # for the list and each ticket's history
            if status is None:
                rows = conn.execute("SELECT seq FROM tickets ORDER BY seq").fetchall()
            else:
                rows = conn.execute("SELECT seq FROM tickets WHERE status = ? ORDER BY seq",
                                    (status,)).fetchall()
            return [self._ticket(conn, r["seq"]) for r in rows]

    def update_ticket(self, ticket_id: str, *, actor: str, event: str, status: str | None = None,
                      assignee: str | None = None, answer: str | None = None,
                      outbox: Sequence[dict] = (), allowed_from: Sequence[str] | None = None,
                      detail: dict | None = None, faq_entry: dict | None = None,
                      withdraw_faq: bool = False) -> Ticket:
        seq = seq_of(ticket_id)
        now = self.now()
        stamp = iso(now)
        with self._write() as conn:
            current = self._ticket(conn, seq, lock=True)  # others changing it wait here
            if allowed_from is not None and current.status not in allowed_from:
                raise InvalidTransition(current.id, current.status)
            conn.execute(
                "UPDATE tickets SET status = ?, assignee = ?, answer = ?, updated_at = ? WHERE seq = ?",
                (status or current.status, assignee if assignee is not None else current.assignee,
                 answer if answer is not None else current.answer, stamp, seq))
            self._event(conn, seq, stamp, actor, event, detail)
            for message in outbox:
                self._enqueue(conn, message, current.id, now)
            if faq_entry is not None:
                self._save_faq(conn, seq, faq_entry, now)
            if withdraw_faq:
                conn.execute("UPDATE faq_entries SET status = 'withdrawn', updated_at = ? "
                             "WHERE ticket_seq = ? AND status = 'live'", (now, seq))
            return self._ticket(conn, seq)

    # --- FAQ entries ------------------------------------------------------------------------------
    def _save_faq(self, conn, seq: int, entry: dict, now: float) -> None:
        # The ticket's row is locked (update_ticket), so two saves of one entry queue here.
        old = conn.execute("SELECT variants FROM faq_entries WHERE ticket_seq = ?",
                           (seq,)).fetchone()
        earlier = list(self._load(old["variants"])) if old is not None else []
        question = entry["question"].strip()
        variants = list(dict.fromkeys(v.strip() for v in [*earlier, *entry.get("variants", ())]
                                      if v and v.strip() and v.strip() != question))
        conn.execute(
            "INSERT INTO faq_entries (ticket_seq, question, variants, text, related, author, "
            "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'live', ?, ?) "
            "ON CONFLICT (ticket_seq) DO UPDATE SET question = excluded.question, "
            "variants = excluded.variants, text = excluded.text, related = excluded.related, "
            "author = excluded.author, status = 'live', updated_at = excluded.updated_at",
            (seq, entry["question"], self._dump(variants), entry["text"],
             self._dump(list(entry.get("related", ()))), entry["author"], now, now))

    def _faq(self, row) -> FaqRecord:
        return FaqRecord(id=ticket_id_for(row["ticket_seq"]), question=row["question"],
                         variants=tuple(self._load(row["variants"])), text=row["text"],
                         related=tuple(self._load(row["related"])), author=row["author"],
                         status=row["status"], created_at=row["created_at"],
                         updated_at=row["updated_at"])

    def faq_entries(self, include_withdrawn: bool = False) -> list[FaqRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM faq_entries" +
                                ("" if include_withdrawn else " WHERE status = 'live'") +
                                " ORDER BY ticket_seq").fetchall()
        return [self._faq(r) for r in rows]

    def change_faq(self, entry_id: str, *, status: str | None = None, text: str | None = None,
                   variants: Sequence[str] | None = None) -> FaqRecord:
        try:
            seq = seq_of(entry_id)
        except TicketNotFound:
            raise EntryNotFound(f"'{entry_id}' is not an FAQ entry id (they look like "
                                "MO-0042).") from None
        with self._write() as conn:
            row = conn.execute("SELECT * FROM faq_entries WHERE ticket_seq = ?" + self.FOR_UPDATE,
                               (seq,)).fetchone()
            if row is None:
                raise EntryNotFound(f"There is no FAQ entry {ticket_id_for(seq)}.")
            conn.execute(
                "UPDATE faq_entries SET status = ?, text = ?, variants = ?, updated_at = ? "
                "WHERE ticket_seq = ?",
                (status or row["status"], row["text"] if text is None else text,
                 self._dump(list(self._load(row["variants"]) if variants is None else variants)),
                 self.now(), seq))
            return self._faq(conn.execute("SELECT * FROM faq_entries WHERE ticket_seq = ?",
                                          (seq,)).fetchone())

    # --- taught questions -------------------------------------------------------------------------
    @staticmethod
    def _taught(row) -> TaughtQuestion:
        return TaughtQuestion(id=row["id"], question=row["question"],
                              passage_key=row["passage_key"], source=row["source"],
                              taught_by=row["taught_by"], at=row["at"],
                              undone_by=row["undone_by"], undone_at=row["undone_at"])

    def teach(self, *, question: str, passage_key: str, actor: str,
              source: str) -> tuple[TaughtQuestion, bool]:
        with self._write() as conn:
            # Two processes teaching the same question to the same passage: one row, not two.
            self._lock_key(conn, TEACHING_KEYS, f"{passage_key}\n{question}")
            row = conn.execute("SELECT * FROM taught_questions WHERE question = ? AND "
                               "passage_key = ? AND undone_at IS NULL ORDER BY id LIMIT 1",
                               (question, passage_key)).fetchone()
            if row is not None:
                return self._taught(row), False
            ident = self._insert(conn, "INSERT INTO taught_questions (question, passage_key, "
                                 "source, taught_by, at) VALUES (?, ?, ?, ?, ?)",
                                 (question, passage_key, source, actor, self.now()))
            row = conn.execute("SELECT * FROM taught_questions WHERE id = ?", (ident,)).fetchone()
            return self._taught(row), True

    def undo_teaching(self, taught_id: int, *, actor: str) -> TaughtQuestion:
        ident = row_id(taught_id)
        if ident is None:
            raise EntryNotFound(f"There is no taught question {taught_id}.")
        with self._write() as conn:
            row = conn.execute("SELECT * FROM taught_questions WHERE id = ?" + self.FOR_UPDATE,
                               (ident,)).fetchone()
            if row is None:
                raise EntryNotFound(f"There is no taught question {taught_id}.")
            if row["undone_at"] is None:
                conn.execute("UPDATE taught_questions SET undone_by = ?, undone_at = ? "
                             "WHERE id = ?", (actor, self.now(), ident))
            return self._taught(conn.execute("SELECT * FROM taught_questions WHERE id = ?",
                                             (ident,)).fetchone())

    def taught_questions(self, include_undone: bool = False) -> list[TaughtQuestion]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM taught_questions" +
                                ("" if include_undone else " WHERE undone_at IS NULL") +
                                " ORDER BY id").fetchall()
        return [self._taught(r) for r in rows]

    # --- outbox -----------------------------------------------------------------------------------
    def _message(self, row) -> OutboxMessage:
        return OutboxMessage(
            id=row["id"], platform=row["platform"], recipient=row["recipient"],
            reply_to=self._load(row["reply_to"]), kind=row["kind"], ticket_id=row["ticket_id"],
            body=self._load(row["body"]), attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"], delivered_at=row["delivered_at"],
            last_error=row["last_error"], unknown_outcomes=row["unknown_outcomes"],
            given_up_at=row["given_up_at"])

    def _messages(self, sql: str, params: Sequence = ()) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [self._message(r) for r in rows]

    def enqueue(self, *, platform: str, recipient: str, reply_to: dict | None, kind: str,
                ticket_id: str | None, body: dict) -> int:
        message = {"platform": platform, "recipient": recipient, "reply_to": reply_to,
                   "kind": kind, "ticket_id": ticket_id, "body": body}
        with self._write() as conn:
            return self._enqueue(conn, message, None, self.now())

    def due_messages(self, platform: str, now: float, limit: int = 50) -> list[OutboxMessage]:
        return self._messages("SELECT * FROM outbox WHERE platform = ? AND delivered_at IS NULL "
                              "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                              (platform, now, limit))

    def renew_claim(self, message_id: int, claimed_until: float, until: float) -> bool:
        with self._write() as conn:
            return conn.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ? "
                "AND delivered_at IS NULL AND given_up_at IS NULL",
                (until, message_id, claimed_until)).rowcount == 1

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        return self._messages("SELECT * FROM outbox WHERE delivered_at IS NULL AND given_up_at "
                              "IS NULL" + ("" if platform is None else " AND platform = ?") +
                              " ORDER BY id", () if platform is None else (platform,))

    def given_up(self) -> list[OutboxMessage]:
        return self._messages("SELECT * FROM outbox WHERE given_up_at IS NOT NULL ORDER BY id")

    def unknown_outcomes(self) -> int:
        with self._read() as conn:
            row = conn.execute("SELECT COALESCE(SUM(unknown_outcomes), 0) AS n FROM outbox")\
                .fetchone()
        return int(row["n"])

    def mark_delivered(self, message_id: int, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET delivered_at = ?, last_error = NULL WHERE id = ?",
                         (now, message_id))

    def mark_failed(self, message_id: int, error: str, now: float, *,
                    retry_at: float | None = None, outcome_unknown: bool = False) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT attempts FROM outbox WHERE id = ?" + self.FOR_UPDATE,
                               (message_id,)).fetchone()
            if row is None:
                return
            attempts = row["attempts"] + 1
            due = now + backoff_seconds(attempts) if retry_at is None else retry_at
            conn.execute("UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ?, "
                         "unknown_outcomes = unknown_outcomes + ? WHERE id = ?",
                         (attempts, error[:2000], due, int(outcome_unknown), message_id))

    def postpone(self, message_id: int, until: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ? "
                         "AND delivered_at IS NULL", (until, message_id))

    def redirect(self, message_id: int, *, reply_to: dict, error: str, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET reply_to = ?, last_error = ?, next_attempt_at = ? "
                         "WHERE id = ? AND delivered_at IS NULL",
                         (self._dump(reply_to), error[:2000], now, message_id))

    def give_up(self, message_id: int, error: str, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET given_up_at = ?, last_error = ? WHERE id = ? "
                         "AND delivered_at IS NULL", (now, error[:2000], message_id))

    # --- the inbox ----------------------------------------------------------------------------------
    def record_incoming(self, platform: str, key: str, payload: dict) -> int | None:
        return self.record_many(platform, [(key, payload)])[0]

    def record_many(self, platform: str, items: Sequence[tuple[str, dict]]) -> list[int | None]:
        """record_incoming for several (key, payload) at once, in one commit: one id, or None
        for a key seen before, each in order."""
        now = self.now()
        ids: list[int | None] = []
        with self._write() as conn:
            # The event keys first, in sorted order: two instances recording overlapping
            # bursts (a redelivery to each) then wait for each other instead of deadlocking.
            claimed = {key: self._claim_key(conn, key, now)
                       for key in sorted({key for key, _ in items if key})}
            for key, payload in items:
                if key:
                    if not claimed[key]:  # seen before, or earlier in this burst
                        ids.append(None)
                        continue
                    claimed[key] = False
                ids.append(self._insert(conn, "INSERT INTO inbox (platform, payload, received_at, "
                                        "due_at) VALUES (?, ?, ?, ?)",
                                        (platform, self._dump(payload), now, now)))
        return ids

    def complete_incoming(self, incoming_id: int, outbox: Sequence[dict], now: float) -> None:
        with self._write() as conn:
            done = conn.execute("UPDATE inbox SET done_at = ? WHERE id = ? AND done_at IS NULL",
                                (now, incoming_id)).rowcount
            if done:  # another process finished it first (after a lease ran out): not twice
                for message in outbox:
                    self._enqueue(conn, message, None, now)

    def pending_incoming(self, platform: str | None = None) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT COUNT(*) AS n FROM inbox WHERE done_at IS NULL"
                + (" AND platform = ?" if platform else ""),
                (platform,) if platform else ()).fetchone()
        return int(row["n"])

    # --- conversation references and handled events -----------------------------------------------
    def save_reference(self, principal: str, reference: dict) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO conversation_references (principal, reference, updated_at) "
                         "VALUES (?, ?, ?) ON CONFLICT (principal) DO UPDATE SET "
                         "reference = excluded.reference, updated_at = excluded.updated_at",
                         (principal, self._dump(reference), self.now()))

    def get_reference(self, principal: str) -> dict | None:
        with self._read() as conn:
            row = conn.execute("SELECT reference FROM conversation_references "
                               "WHERE principal = ?", (principal,)).fetchone()
        return None if row is None else self._load(row["reference"])

    @staticmethod
    def _claim_key(conn, key: str, now: float) -> bool:
        return conn.execute("INSERT INTO handled_events (key, at) VALUES (?, ?) "
                            "ON CONFLICT (key) DO NOTHING", (key, now)).rowcount == 1

    def claim_event(self, key: str) -> bool:
        with self._write() as conn:
            return self._claim_key(conn, key, self.now())

    # --- audit and snapshots ----------------------------------------------------------------------
    def record_audit(self, *, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict | None = None) -> int:
        with self._write() as conn:
            return self._insert(conn, "INSERT INTO audit (at, actor, action, target, outcome, "
                                "detail) VALUES (?, ?, ?, ?, ?, ?)",
                                (self.now(), actor, action, target, outcome,
                                 self._dump(detail or {})))

    def audit_entries(self, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
        with self._read() as conn:
            if action is None:
                rows = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?",
                                    (limit,)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM audit WHERE action = ? ORDER BY id DESC "
                                    "LIMIT ?", (action, limit)).fetchall()
        return [AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"], r["outcome"],
                           self._load(r["detail"])) for r in rows]

    def swap_snapshot(self, key: str, value: dict) -> dict | None:
        with self._write() as conn:
            # The key's lock makes read-then-write one step even when no row exists yet.
            self._lock_key(conn, SNAPSHOT_KEYS, key)
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", (key, self._dump(value)))
        return None if row is None else self._load(row["value"])

    # --- question log -----------------------------------------------------------------------------
    def log_question(self, *, question: str, normalised: str, answered: bool,
                     refs: Sequence[str], asker: str | None) -> int:
        with self._write() as conn:
            return self._insert(conn, "INSERT INTO question_log (at, question, normalised, "
                                "answered, refs, asker) VALUES (?, ?, ?, ?, ?, ?)",
                                (self.now(), question, normalised, bool(answered),
                                 self._dump(list(refs)), asker))

    def log_feedback(self, *, log_id: int | None, question: str, normalised: str,
                     refs: Sequence[str], helpful: bool, asker: str | None) -> int:
        with self._write() as conn:
            if log_id is not None:
                conn.execute("UPDATE question_log SET helpful = ? WHERE id = ?",
                             (bool(helpful), log_id))
            return self._insert(conn, "INSERT INTO feedback (at, log_id, question, normalised, "
                                "refs, helpful, asker) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (self.now(), log_id, question, normalised,
                                 self._dump(list(refs)), bool(helpful), asker))

    def logged_questions(self, since: float = 0.0) -> list[LoggedQuestion]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM question_log WHERE at >= ? ORDER BY id",
                                (since,)).fetchall()
        return [LoggedQuestion(r["id"], r["at"], r["question"], r["normalised"], bool(r["answered"]),
                               tuple(self._load(r["refs"])), r["asker"],
                               None if r["helpful"] is None else bool(r["helpful"])) for r in rows]

    def logged_question(self, log_id: int) -> str | None:
        ident = row_id(log_id)  # a button's id: whatever it holds, never an error
        if ident is None:
            return None
        with self._read() as conn:
            row = conn.execute("SELECT question FROM question_log WHERE id = ?",
                               (ident,)).fetchone()
        return None if row is None else row["question"]

    def feedback_entries(self, since: float = 0.0) -> list[Feedback]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM feedback WHERE at >= ? ORDER BY id",
                                (since,)).fetchall()
        return [Feedback(r["id"], r["at"], r["log_id"], r["question"], r["normalised"],
                         tuple(self._load(r["refs"])), bool(r["helpful"]), r["asker"])
                for r in rows]

    def purge_log(self, before: float) -> dict[str, int]:
        with self._write() as conn:
            return {
                "questions": conn.execute("DELETE FROM question_log WHERE at < ?",
                                          (before,)).rowcount,
                "feedback": conn.execute("DELETE FROM feedback WHERE at < ?", (before,)).rowcount,
                "delivered_messages": conn.execute(
                    "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
                    (before,)).rowcount,
                "handled_events": conn.execute("DELETE FROM handled_events WHERE at < ?",
                                               (before,)).rowcount,
            }
