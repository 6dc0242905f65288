"""The PostgreSQL store: the SqliteStore's semantics for several bot instances on one database.

Selected by PROTOCOL_BOT_DB=postgresql://user@host:port/dbname (see stores.open_store); needs
the `postgres` extra (psycopg 3 and psycopg-pool). Every method behaves as SqliteStore's does;
what SQLite gets from `BEGIN IMMEDIATE` (one writer at a time) PostgreSQL gets from row locks:

- a ticket per idempotency key: a transaction-level advisory lock on the key, then look, then
  insert, so a second instance with the same key waits and then finds the first one's ticket
  (and the ticket sequence is only advanced for tickets really created: no gaps);
- the ticket state machine: `SELECT ... FOR UPDATE` on the ticket, status checked, then written,
  all in one transaction;
- outbox claims: `FOR UPDATE SKIP LOCKED` plus a lease (next_attempt_at moved forward), so two
  senders never take the same message and a dead sender's messages come due again;
- inbox claims: the same (`FOR UPDATE SKIP LOCKED`, a lease, at most INBOX_MAX_ATTEMPTS);
  a record is marked done and its replies queued in one transaction, only by the first worker
  to finish it;
- handled events: `INSERT ... ON CONFLICT DO NOTHING` on a primary key, shared by every
  instance (record_incoming claims the key and records the payload in one transaction);
- FAQ entries change under the ticket's row lock (update_ticket); teaching takes an advisory
  lock on (passage, question), so two instances teaching one question add one row.

A URL may carry a schema through libpq's options, e.g.
postgresql://bot@db.council.local/protocolbot?options=-csearch_path%3Dprotocol_bot
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from collections.abc import Callable, Iterator, Sequence

from .models import Asker, Ticket
from .sqlite_store import INBOX_MAX_ATTEMPTS, iso, seq_of
from .store import (CLAIM_LEASE_SECONDS, AuditEntry, EntryNotFound, FaqRecord, Feedback,
                    InvalidTransition, LoggedQuestion, OutboxMessage, StoreError, TaughtQuestion,
                    TicketNotFound, backoff_seconds, ticket_id_for)

try:  # the `postgres` extra
    import psycopg
    from psycopg.rows import dict_row
    from psycopg.types.json import Jsonb
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - reported when a PostgreSQL URL is used
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

URL_PREFIXES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT_SECONDS = 10.0
# Advisory lock ids (one namespace for protocol-bot): migrations, and per-key locks.
MIGRATION_LOCK = 0x70B0_0001
KEY_LOCK_SPACE = 0x70B0

# Schema migrations, applied in order; the one row of schema_version records how many have run.
# The same steps as SqliteStore's MIGRATIONS, in PostgreSQL's types, numbered alike.
# Never edit a released step: add a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: tickets, their history, the outbox, conversation references, handled events
        "CREATE SEQUENCE ticket_seq START 1",
        """CREATE TABLE tickets (
            seq BIGINT PRIMARY KEY DEFAULT nextval('ticket_seq'),
            idempotency_key TEXT NOT NULL UNIQUE,
            asker_platform TEXT NOT NULL,
            asker_user_id TEXT NOT NULL,
            asker_display_name TEXT NOT NULL DEFAULT '',
            reply_to JSONB NOT NULL DEFAULT '{}',
            question TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            bot_refs JSONB NOT NULL DEFAULT '[]',
            status TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'answered', 'closed')),
            assignee TEXT,
            answer TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""",
        "ALTER SEQUENCE ticket_seq OWNED BY tickets.seq",
        "CREATE INDEX tickets_by_status ON tickets (status)",
        """CREATE TABLE ticket_events (
            id BIGSERIAL PRIMARY KEY,
            ticket_seq BIGINT NOT NULL REFERENCES tickets (seq),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            event TEXT NOT NULL,
            detail JSONB NOT NULL DEFAULT '{}')""",
        "CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_seq, id)",
        """CREATE TABLE outbox (
            id BIGSERIAL PRIMARY KEY,
            platform TEXT NOT NULL,
            recipient TEXT NOT NULL,
            reply_to JSONB,
            kind TEXT NOT NULL,
            ticket_id TEXT,
            body JSONB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            delivered_at DOUBLE PRECISION,
            last_error TEXT,
            created_at DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX outbox_due ON outbox (platform, next_attempt_at) "
        "WHERE delivered_at IS NULL",
        """CREATE TABLE conversation_references (
            principal TEXT PRIMARY KEY,
            reference JSONB NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL)""",
        "CREATE TABLE handled_events (key TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX handled_events_by_time ON handled_events (at)",
    ),
    (  # 2: the audit trail (refusals, knowledge changes) and small named values
        """CREATE TABLE audit (
            id BIGSERIAL PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,
            detail JSONB NOT NULL DEFAULT '{}')""",
        "CREATE INDEX audit_by_action ON audit (action, id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value JSONB NOT NULL)",
    ),
    (  # 3: the question log and feedback, both purged after the retention period
        """CREATE TABLE question_log (
            id BIGSERIAL PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            question TEXT NOT NULL,
            normalised TEXT NOT NULL,
            answered BOOLEAN NOT NULL,
            refs JSONB NOT NULL DEFAULT '[]',
            asker TEXT,
            helpful BOOLEAN)""",
        "CREATE INDEX question_log_by_time ON question_log (at)",
        """CREATE TABLE feedback (
            id BIGSERIAL PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            log_id BIGINT,
            question TEXT NOT NULL,
            normalised TEXT NOT NULL,
            refs JSONB NOT NULL DEFAULT '[]',
            helpful BOOLEAN NOT NULL,
            asker TEXT)""",
        "CREATE INDEX feedback_by_time ON feedback (at)",
    ),
    (  # 4: what people sent, recorded before it is acknowledged; outbox outcomes
        """CREATE TABLE inbox (
            id BIGSERIAL PRIMARY KEY,
            platform TEXT NOT NULL,
            payload JSONB NOT NULL,
            received_at DOUBLE PRECISION NOT NULL,
            due_at DOUBLE PRECISION NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            done_at DOUBLE PRECISION)""",
        "CREATE INDEX inbox_due ON inbox (platform, due_at) WHERE done_at IS NULL",
        "ALTER TABLE outbox ADD COLUMN unknown_outcomes INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE outbox ADD COLUMN given_up_at DOUBLE PRECISION",
    ),
    (  # 5: the MOs' FAQ entries (changed with their ticket) and taught questions
        """CREATE TABLE faq_entries (
            ticket_seq BIGINT PRIMARY KEY REFERENCES tickets (seq),
            question TEXT NOT NULL,
            variants JSONB NOT NULL DEFAULT '[]',
            text TEXT NOT NULL,
            related JSONB NOT NULL DEFAULT '[]',
            author TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('live', 'withdrawn')),
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE taught_questions (
            id BIGSERIAL PRIMARY KEY,
            question TEXT NOT NULL,
            passage_key TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            taught_by TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            undone_by TEXT,
            undone_at DOUBLE PRECISION)""",
        "CREATE INDEX taught_questions_by_passage ON taught_questions (passage_key, question)",
    ),
    (  # 6: the knowledge base itself, in versions shared by every instance (kb_versions.py).
        # A file's content is kept once (by its hash), so a version that changes one FAQ file
        # adds one row per file and one new blob, not a copy of every document.
        """CREATE TABLE knowledge_blobs (
            sha TEXT PRIMARY KEY,
            content TEXT NOT NULL)""",
        """CREATE TABLE knowledge_versions (
            version BIGSERIAL PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL)""",
        """CREATE TABLE knowledge_files (
            version BIGINT NOT NULL REFERENCES knowledge_versions (version),
            path TEXT NOT NULL,
            sha TEXT NOT NULL REFERENCES knowledge_blobs (sha),
            PRIMARY KEY (version, path))""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def is_pg_url(value: object) -> bool:
    return str(value).startswith(URL_PREFIXES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    head, sep, tail = url.partition("://")
    if "@" not in tail:
        return url
    creds, _, rest = tail.partition("@")
    user = creds.split(":", 1)[0]
    return f"{head}{sep}{user}{':***' if ':' in creds else ''}@{rest}"


def _key_lock(key: str) -> int:
    # A stable 32-bit hash: two keys sharing one only wait for each other, never conflict.
    value = zlib.crc32(key.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value  # advisory lock ids are signed int4


def read_taught_hints(url: str) -> dict[str, list[str]]:
    """Taught questions by passage key, read-only (for `ask`, which never writes): {} when the
    server cannot be reached quickly, psycopg is missing, or the tables are not there yet."""
    if psycopg is None:
        return {}
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            rows = conn.execute("SELECT passage_key, question FROM taught_questions "
                                "WHERE undone_at IS NULL ORDER BY id").fetchall()
    except psycopg.Error:
        return {}
    hints: dict[str, list[str]] = {}
    for key, question in rows:
        hints.setdefault(key, []).append(question)
    return hints


class PgStore:
    """Every concern of the Store protocols in one PostgreSQL database, shared by instances.

    One connection pool per process, safe for the bot's threads; each method is one
    transaction, committed before it returns.
    """

    kind = "postgresql"  # what /healthz reports

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time,
                 min_size: int = 1, max_size: int = 8):
        if psycopg is None:
            raise StoreError("PROTOCOL_BOT_DB names a PostgreSQL database, but psycopg is not "
                             "installed: pip install 'protocol-bot[postgres]'.")
        self.url = url
        self.path = redact(url)  # what messages name the database by, as SqliteStore.path
        self._clock = clock
        try:  # one plain connection first: an unreachable server is said at once, plainly
            psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT_SECONDS)).close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the PostgreSQL database {self.path}: "
                             f"{str(exc).strip()}") from None
        self._pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, name="protocol-bot",
            # A connection broken by a database restart is replaced, not handed out.
            check=ConnectionPool.check_connection,
            kwargs={"row_factory": dict_row, "autocommit": False,
                    "connect_timeout": int(CONNECT_TIMEOUT_SECONDS),
                    "application_name": "protocol-bot"})
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except (PoolTimeout, psycopg.Error) as exc:
            self._pool.close()
            raise StoreError(f"cannot connect to the PostgreSQL database {self.path}: "
                             f"{exc}") from None
        self._migrate()

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        self._pool.close()

    # --- connection set-up ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator["psycopg.Connection"]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        try:
            with self._pool.connection(timeout=60) as conn:
                with conn.transaction():
                    yield conn
        except PoolTimeout as exc:
            raise StoreError(f"no connection to {self.path}: {exc}") from None
        except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege,
                psycopg.errors.ReadOnlySqlTransaction) as exc:
            # The server went away mid-transaction, or this database user may not write here
            # (as SqliteStore's "cannot be opened for writing"): said plainly, not as a bug.
            raise StoreError(f"the PostgreSQL database {self.path} cannot be used: "
                             f"{str(exc).strip()}") from None

    _write = _tx
    _read = _tx
    # For the knowledge versions (kb_versions.py), which keep their SQL beside their logic.
    transaction = _tx

    def _migrate(self) -> None:
        with self._tx() as conn:
            # Two instances starting together: one migrates, the other waits and finds it done.
            conn.execute("SELECT pg_advisory_xact_lock(%s::bigint)", (MIGRATION_LOCK,))
            # Created only when missing: a database user without CREATE rights can still use
            # tables someone else made.
            if conn.execute("SELECT to_regclass('schema_version') AS t").fetchone()["t"] is None:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if row is None else row["version"]
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer protocol-bot (schema {version}; this "
                    f"version knows up to {SCHEMA_VERSION}). Upgrade protocol-bot.")
            if version < 6 and conn.execute(
                    "SELECT to_regclass('knowledge_versions') AS t").fetchone()["t"]:
                # Schemas 4 and 5 of the unreleased `pg` development branch (knowledge in the
                # database, event owners) are not this version's 4 and 5 (nor its 6).
                raise StoreError(
                    f"{self.path} was created by a development build of protocol-bot (it holds "
                    "knowledge_versions). Create a new database (or schema) for this version.")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1]:
                    conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = %s", (number,))
                log.info("database %s migrated to schema %d", self.path, number)

    def schema_version(self) -> int:
        with self._read() as conn:
            return conn.execute("SELECT version FROM schema_version").fetchone()["version"]

    # --- tickets ---------------------------------------------------------------------------------
    def _ticket(self, conn, seq: int, *, lock: bool = False) -> Ticket:
        row = conn.execute("SELECT * FROM tickets WHERE seq = %s" + (" FOR UPDATE" if lock else ""),
                           (seq,)).fetchone()
        if row is None:
            raise TicketNotFound(f"There is no ticket {ticket_id_for(seq)}.")
        events = tuple(
            {"at": e["at"], "actor": e["actor"], "event": e["event"], **(e["detail"] or {})}
            for e in conn.execute("SELECT * FROM ticket_events WHERE ticket_seq = %s ORDER BY id",
                                  (seq,)))
        return Ticket(
            id=ticket_id_for(row["seq"]),
            asker=Asker(row["asker_platform"], row["asker_user_id"], row["asker_display_name"]),
            reply_to=row["reply_to"], question=row["question"], context=row["context"],
            bot_refs=tuple(row["bot_refs"]), status=row["status"],
            assignee=row["assignee"], answer=row["answer"], created_at=row["created_at"],
            updated_at=row["updated_at"], idempotency_key=row["idempotency_key"], events=events)

    def _event(self, conn, seq: int, at: str, actor: str, event: str, detail: dict | None) -> None:
        conn.execute("INSERT INTO ticket_events (ticket_seq, at, actor, event, detail) "
                     "VALUES (%s, %s, %s, %s, %s)", (seq, at, actor, event, Jsonb(detail or {})))

    def _enqueue(self, conn, message: dict, ticket_id: str | None, now: float) -> int:
        body = dict(message["body"])
        if ticket_id is not None:
            body["ticket_id"] = ticket_id
        reply_to = message.get("reply_to")
        row = conn.execute(
            "INSERT INTO outbox (platform, recipient, reply_to, kind, ticket_id, body, "
            "next_attempt_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (message["platform"], message["recipient"],
             None if reply_to is None else Jsonb(reply_to), message["kind"],
             ticket_id if ticket_id is not None else message.get("ticket_id"),
             Jsonb(body), now, now)).fetchone()
        return int(row["id"])

    def open_ticket(self, *, asker: Asker, question: str, idempotency_key: str,
                    reply_to: dict | None = None, context: str = "",
                    bot_refs: Sequence[str] = (), outbox: Sequence[dict] = ()) -> tuple[Ticket, bool]:
        now = self.now()
        stamp = iso(now)
        with self._write() as conn:
            # Another instance opening the same key waits here until this one commits, then
            # finds this ticket: neither two tickets nor a unique-key error.
            conn.execute("SELECT pg_advisory_xact_lock(%s::int, %s::int)",
                         (KEY_LOCK_SPACE, _key_lock(idempotency_key)))
            row = conn.execute("SELECT seq FROM tickets WHERE idempotency_key = %s",
                               (idempotency_key,)).fetchone()
            if row is not None:
                return self._ticket(conn, row["seq"]), False
            row = conn.execute(
                "INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, "
                "asker_display_name, reply_to, question, context, bot_refs, status, created_at, "
                "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open', %s, %s) "
                "RETURNING seq",
                (idempotency_key, asker.platform, asker.user_id, asker.display_name,
                 Jsonb(reply_to or {}), question, context, Jsonb(list(bot_refs)),
                 stamp, stamp)).fetchone()
            seq = int(row["seq"])
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
            # One snapshot for the list and each ticket's history.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if status is None:
                rows = conn.execute("SELECT seq FROM tickets ORDER BY seq").fetchall()
            else:
                rows = conn.execute("SELECT seq FROM tickets WHERE status = %s ORDER BY seq",
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
                "UPDATE tickets SET status = %s, assignee = %s, answer = %s, updated_at = %s "
                "WHERE seq = %s",
                (status or current.status, assignee if assignee is not None else current.assignee,
                 answer if answer is not None else current.answer, stamp, seq))
            self._event(conn, seq, stamp, actor, event, detail)
            for message in outbox:
                self._enqueue(conn, message, current.id, now)
            if faq_entry is not None:
                self._save_faq(conn, seq, faq_entry, now)
            if withdraw_faq:
                conn.execute("UPDATE faq_entries SET status = 'withdrawn', updated_at = %s "
                             "WHERE ticket_seq = %s AND status = 'live'", (now, seq))
            return self._ticket(conn, seq)

    # --- FAQ entries ------------------------------------------------------------------------------
    @staticmethod
    def _save_faq(conn, seq: int, entry: dict, now: float) -> None:
        # The ticket's row is locked (update_ticket), so two saves of one entry queue here.
        old = conn.execute("SELECT variants FROM faq_entries WHERE ticket_seq = %s",
                           (seq,)).fetchone()
        earlier = list(old["variants"]) if old is not None else []
        question = entry["question"].strip()
        variants = list(dict.fromkeys(v.strip() for v in [*earlier, *entry.get("variants", ())]
                                      if v and v.strip() and v.strip() != question))
        conn.execute(
            "INSERT INTO faq_entries (ticket_seq, question, variants, text, related, author, "
            "status, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'live', %s, %s) "
            "ON CONFLICT (ticket_seq) DO UPDATE SET question = excluded.question, "
            "variants = excluded.variants, text = excluded.text, related = excluded.related, "
            "author = excluded.author, status = 'live', updated_at = excluded.updated_at",
            (seq, entry["question"], Jsonb(variants), entry["text"],
             Jsonb(list(entry.get("related", ()))), entry["author"], now, now))

    @staticmethod
    def _faq(row: dict) -> FaqRecord:
        return FaqRecord(id=ticket_id_for(row["ticket_seq"]), question=row["question"],
                         variants=tuple(row["variants"]), text=row["text"],
                         related=tuple(row["related"]), author=row["author"],
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
            row = conn.execute("SELECT * FROM faq_entries WHERE ticket_seq = %s FOR UPDATE",
                               (seq,)).fetchone()
            if row is None:
                raise EntryNotFound(f"There is no FAQ entry {ticket_id_for(seq)}.")
            row = conn.execute(
                "UPDATE faq_entries SET status = %s, text = %s, variants = %s, updated_at = %s "
                "WHERE ticket_seq = %s RETURNING *",
                (status or row["status"], row["text"] if text is None else text,
                 Jsonb(list(row["variants"]) if variants is None else list(variants)),
                 self.now(), seq)).fetchone()
            return self._faq(row)

    # --- taught questions -------------------------------------------------------------------------
    @staticmethod
    def _taught(row: dict) -> TaughtQuestion:
        return TaughtQuestion(id=row["id"], question=row["question"],
                              passage_key=row["passage_key"], source=row["source"],
                              taught_by=row["taught_by"], at=row["at"],
                              undone_by=row["undone_by"], undone_at=row["undone_at"])

    def teach(self, *, question: str, passage_key: str, actor: str,
              source: str) -> tuple[TaughtQuestion, bool]:
        with self._write() as conn:
            # Two instances teaching the same question to the same passage: one row, not two.
            conn.execute("SELECT pg_advisory_xact_lock(%s::int, %s::int)",
                         (KEY_LOCK_SPACE + 2, _key_lock(f"{passage_key}\n{question}")))
            row = conn.execute("SELECT * FROM taught_questions WHERE question = %s AND "
                               "passage_key = %s AND undone_at IS NULL ORDER BY id LIMIT 1",
                               (question, passage_key)).fetchone()
            if row is not None:
                return self._taught(row), False
            row = conn.execute("INSERT INTO taught_questions (question, passage_key, source, "
                               "taught_by, at) VALUES (%s, %s, %s, %s, %s) RETURNING *",
                               (question, passage_key, source, actor, self.now())).fetchone()
            return self._taught(row), True

    def undo_teaching(self, taught_id: int, *, actor: str) -> TaughtQuestion:
        try:
            ident = int(taught_id)
        except (TypeError, ValueError):
            raise EntryNotFound(f"There is no taught question {taught_id}.") from None
        if not 0 < ident < 2**63:
            raise EntryNotFound(f"There is no taught question {taught_id}.")
        with self._write() as conn:
            row = conn.execute("SELECT * FROM taught_questions WHERE id = %s FOR UPDATE",
                               (ident,)).fetchone()
            if row is None:
                raise EntryNotFound(f"There is no taught question {taught_id}.")
            if row["undone_at"] is None:
                row = conn.execute("UPDATE taught_questions SET undone_by = %s, undone_at = %s "
                                   "WHERE id = %s RETURNING *",
                                   (actor, self.now(), ident)).fetchone()
            return self._taught(row)

    def taught_questions(self, include_undone: bool = False) -> list[TaughtQuestion]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM taught_questions" +
                                ("" if include_undone else " WHERE undone_at IS NULL") +
                                " ORDER BY id").fetchall()
        return [self._taught(r) for r in rows]

    # --- outbox -----------------------------------------------------------------------------------
    @staticmethod
    def _message(row: dict) -> OutboxMessage:
        return OutboxMessage(
            id=row["id"], platform=row["platform"], recipient=row["recipient"],
            reply_to=row["reply_to"], kind=row["kind"], ticket_id=row["ticket_id"],
            body=row["body"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
            delivered_at=row["delivered_at"], last_error=row["last_error"],
            unknown_outcomes=row["unknown_outcomes"], given_up_at=row["given_up_at"])

    def enqueue(self, *, platform: str, recipient: str, reply_to: dict | None, kind: str,
                ticket_id: str | None, body: dict) -> int:
        message = {"platform": platform, "recipient": recipient, "reply_to": reply_to,
                   "kind": kind, "ticket_id": ticket_id, "body": body}
        with self._write() as conn:
            return self._enqueue(conn, message, None, self.now())

    def due_messages(self, platform: str, now: float, limit: int = 50) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM outbox WHERE platform = %s AND delivered_at IS NULL "
                "AND next_attempt_at <= %s ORDER BY id LIMIT %s", (platform, now, limit)).fetchall()
        return [self._message(r) for r in rows]

    def claim_due(self, platform: str, now: float, limit: int = 50,
                  lease: float = CLAIM_LEASE_SECONDS) -> list[OutboxMessage]:
        with self._write() as conn:
            # Rows another sender is claiming right now are skipped, not waited for; the lease
            # hides the claimed ones until this sender marks them (or dies and the lease ends).
            rows = conn.execute(
                "WITH due AS (SELECT * FROM outbox WHERE platform = %s AND delivered_at IS NULL "
                "AND given_up_at IS NULL AND next_attempt_at <= %s ORDER BY id LIMIT %s "
                "FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox SET next_attempt_at = %s FROM due WHERE outbox.id = due.id "
                "RETURNING outbox.*", (platform, now, limit, now + lease)).fetchall()
        return [self._message(r) for r in sorted(rows, key=lambda r: r["id"])]

    def renew_claim(self, message_id: int, claimed_until: float, until: float) -> bool:
        with self._write() as conn:
            return conn.execute(
                "UPDATE outbox SET next_attempt_at = %s WHERE id = %s AND next_attempt_at = %s "
                "AND delivered_at IS NULL AND given_up_at IS NULL",
                (until, message_id, claimed_until)).rowcount == 1

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        with self._read() as conn:
            if platform is None:
                rows = conn.execute(
                    "SELECT * FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL "
                    "ORDER BY id").fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL "
                    "AND platform = %s ORDER BY id", (platform,)).fetchall()
        return [self._message(r) for r in rows]

    def given_up(self) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM outbox WHERE given_up_at IS NOT NULL "
                                "ORDER BY id").fetchall()
        return [self._message(r) for r in rows]

    def unknown_outcomes(self) -> int:
        with self._read() as conn:
            row = conn.execute("SELECT COALESCE(SUM(unknown_outcomes), 0) AS n FROM outbox")\
                .fetchone()
        return int(row["n"])

    def mark_delivered(self, message_id: int, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET delivered_at = %s, last_error = NULL WHERE id = %s",
                         (now, message_id))

    def mark_failed(self, message_id: int, error: str, now: float, *,
                    retry_at: float | None = None, outcome_unknown: bool = False) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT attempts FROM outbox WHERE id = %s FOR UPDATE",
                               (message_id,)).fetchone()
            if row is None:
                return
            attempts = row["attempts"] + 1
            due = now + backoff_seconds(attempts) if retry_at is None else retry_at
            conn.execute("UPDATE outbox SET attempts = %s, last_error = %s, next_attempt_at = %s, "
                         "unknown_outcomes = unknown_outcomes + %s WHERE id = %s",
                         (attempts, error[:2000], due, int(outcome_unknown), message_id))

    def postpone(self, message_id: int, until: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET next_attempt_at = %s WHERE id = %s "
                         "AND delivered_at IS NULL", (until, message_id))

    def redirect(self, message_id: int, *, reply_to: dict, error: str, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET reply_to = %s, last_error = %s, next_attempt_at = %s "
                         "WHERE id = %s AND delivered_at IS NULL",
                         (Jsonb(reply_to), error[:2000], now, message_id))

    def give_up(self, message_id: int, error: str, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET given_up_at = %s, last_error = %s WHERE id = %s "
                         "AND delivered_at IS NULL", (now, error[:2000], message_id))

    # --- the inbox ----------------------------------------------------------------------------------
    def record_incoming(self, platform: str, key: str, payload: dict) -> int | None:
        return self.record_many(platform, [(key, payload)])[0]

    def record_many(self, platform: str, items: Sequence[tuple[str, dict]]) -> list[int | None]:
        """record_incoming for several (key, payload) at once, in one commit (as main's
        SqliteStore.record_many): one id, or None for a key seen before, each in order."""
        now = self.now()
        ids: list[int | None] = []
        with self._write() as conn:
            # The event keys first, in sorted order: two instances recording overlapping
            # bursts (a redelivery to each) then wait for each other instead of deadlocking.
            claimed = {key: conn.execute("INSERT INTO handled_events (key, at) VALUES (%s, %s) "
                                         "ON CONFLICT (key) DO NOTHING", (key, now)).rowcount == 1
                       for key in sorted({key for key, _ in items if key})}
            for key, payload in items:
                if key:
                    if not claimed[key]:  # seen before, or earlier in this burst
                        ids.append(None)
                        continue
                    claimed[key] = False
                row = conn.execute("INSERT INTO inbox (platform, payload, received_at, due_at) "
                                   "VALUES (%s, %s, %s, %s) RETURNING id",
                                   (platform, Jsonb(payload), now, now)).fetchone()
                ids.append(int(row["id"]))
        return ids

    def claim_incoming(self, platform: str, now: float, limit: int = 50,
                       lease: float = CLAIM_LEASE_SECONDS) -> list[tuple[int, dict]]:
        with self._write() as conn:
            # As claim_due: records another worker is claiming are skipped, the lease hides
            # the claimed ones until they are completed (or the worker dies and it ends).
            rows = conn.execute(
                "WITH due AS (SELECT id FROM inbox WHERE platform = %s AND done_at IS NULL "
                "AND due_at <= %s AND attempts < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE inbox SET due_at = %s, attempts = inbox.attempts + 1 FROM due "
                "WHERE inbox.id = due.id RETURNING inbox.id, inbox.payload",
                (platform, now, INBOX_MAX_ATTEMPTS, limit, now + lease)).fetchall()
        return [(int(r["id"]), r["payload"]) for r in sorted(rows, key=lambda r: r["id"])]

    def complete_incoming(self, incoming_id: int, outbox: Sequence[dict], now: float) -> None:
        with self._write() as conn:
            done = conn.execute("UPDATE inbox SET done_at = %s WHERE id = %s AND done_at IS NULL",
                                (now, incoming_id)).rowcount
            if done:  # another instance finished it first (after a lease ran out): not twice
                for message in outbox:
                    self._enqueue(conn, message, None, now)

    def pending_incoming(self, platform: str | None = None) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT COUNT(*) AS n FROM inbox WHERE done_at IS NULL"
                + (" AND platform = %s" if platform else ""),
                (platform,) if platform else ()).fetchone()
        return int(row["n"])

    # --- conversation references and handled events -----------------------------------------------
    def save_reference(self, principal: str, reference: dict) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO conversation_references (principal, reference, updated_at) "
                         "VALUES (%s, %s, %s) ON CONFLICT (principal) DO UPDATE SET "
                         "reference = excluded.reference, updated_at = excluded.updated_at",
                         (principal, Jsonb(reference), self.now()))

    def get_reference(self, principal: str) -> dict | None:
        with self._read() as conn:
            row = conn.execute("SELECT reference FROM conversation_references "
                               "WHERE principal = %s", (principal,)).fetchone()
        return None if row is None else row["reference"]

    def claim_event(self, key: str) -> bool:
        with self._write() as conn:
            cur = conn.execute("INSERT INTO handled_events (key, at) VALUES (%s, %s) "
                               "ON CONFLICT (key) DO NOTHING", (key, self.now()))
            return cur.rowcount == 1

    # --- audit and snapshots ----------------------------------------------------------------------
    def record_audit(self, *, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict | None = None) -> int:
        with self._write() as conn:
            row = conn.execute("INSERT INTO audit (at, actor, action, target, outcome, detail) "
                               "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                               (self.now(), actor, action, target, outcome,
                                Jsonb(detail or {}))).fetchone()
            return int(row["id"])

    def audit_entries(self, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
        with self._read() as conn:
            if action is None:
                rows = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT %s",
                                    (limit,)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM audit WHERE action = %s ORDER BY id DESC "
                                    "LIMIT %s", (action, limit)).fetchall()
        return [AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"], r["outcome"],
                           r["detail"]) for r in rows]

    def swap_snapshot(self, key: str, value: dict) -> dict | None:
        with self._write() as conn:
            # The key's lock makes read-then-write one step even when no row exists yet.
            conn.execute("SELECT pg_advisory_xact_lock(%s::int, %s::int)",
                         (KEY_LOCK_SPACE + 1, _key_lock(key)))
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", (key, Jsonb(value)))
        return None if row is None else row["value"]

    # --- question log -----------------------------------------------------------------------------
    def log_question(self, *, question: str, normalised: str, answered: bool,
                     refs: Sequence[str], asker: str | None) -> int:
        with self._write() as conn:
            row = conn.execute("INSERT INTO question_log (at, question, normalised, answered, "
                               "refs, asker) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                               (self.now(), question, normalised, bool(answered),
                                Jsonb(list(refs)), asker)).fetchone()
            return int(row["id"])

    def log_feedback(self, *, log_id: int | None, question: str, normalised: str,
                     refs: Sequence[str], helpful: bool, asker: str | None) -> int:
        with self._write() as conn:
            if log_id is not None:
                conn.execute("UPDATE question_log SET helpful = %s WHERE id = %s",
                             (bool(helpful), log_id))
            row = conn.execute("INSERT INTO feedback (at, log_id, question, normalised, refs, "
                               "helpful, asker) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                               (self.now(), log_id, question, normalised, Jsonb(list(refs)),
                                bool(helpful), asker)).fetchone()
            return int(row["id"])

    def logged_questions(self, since: float = 0.0) -> list[LoggedQuestion]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM question_log WHERE at >= %s ORDER BY id",
                                (since,)).fetchall()
        return [LoggedQuestion(r["id"], r["at"], r["question"], r["normalised"], bool(r["answered"]),
                               tuple(r["refs"]), r["asker"], r["helpful"]) for r in rows]

    def logged_question(self, log_id: int) -> str | None:
        try:
            ident = int(log_id)
        except (TypeError, ValueError):
            return None
        if not 0 < ident < 2**63:
            return None
        with self._read() as conn:
            row = conn.execute("SELECT question FROM question_log WHERE id = %s",
                               (ident,)).fetchone()
        return None if row is None else row["question"]

    def feedback_entries(self, since: float = 0.0) -> list[Feedback]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM feedback WHERE at >= %s ORDER BY id",
                                (since,)).fetchall()
        return [Feedback(r["id"], r["at"], r["log_id"], r["question"], r["normalised"],
                         tuple(r["refs"]), bool(r["helpful"]), r["asker"]) for r in rows]

    def purge_log(self, before: float) -> dict[str, int]:
        with self._write() as conn:
            counts = {
                "questions": conn.execute("DELETE FROM question_log WHERE at < %s",
                                          (before,)).rowcount,
                "feedback": conn.execute("DELETE FROM feedback WHERE at < %s", (before,)).rowcount,
                "delivered_messages": conn.execute(
                    "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < %s",
                    (before,)).rowcount,
                "handled_events": conn.execute("DELETE FROM handled_events WHERE at < %s",
                                               (before,)).rowcount,
            }
        return counts

    def checkpoint(self) -> bool:
        """SqliteStore's -wal file has no counterpart here: the server manages its own log."""
        return True

    # --- health ---------------------------------------------------------------------------------
    def ping(self) -> None:
        """Raises StoreError (or psycopg's error) when the database cannot be reached."""
        with self._read() as conn:
            conn.execute("SELECT 1")
