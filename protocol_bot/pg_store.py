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
from typing import Any

from .sql_store import INBOX_MAX_ATTEMPTS, SqlStore, hints_by_passage
from .store import CLAIM_LEASE_SECONDS, OutboxMessage, StoreError

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
    return hints_by_passage(rows)


class _Qmarks:
    """A psycopg connection that takes SqlStore's `?` placeholders (psycopg's are `%s`).
    The store's SQL has no other `?` and no `%`."""

    def __init__(self, conn: "psycopg.Connection"):
        self._conn = conn

    def execute(self, sql: str, params: Sequence | None = None) -> "psycopg.Cursor":
        return self._conn.execute(sql.replace("?", "%s"), params)


class PgStore(SqlStore):
    """Every concern of the Store protocols in one PostgreSQL database, shared by instances.

    One connection pool per process, safe for the bot's threads; each method is one
    transaction, committed before it returns.
    """

    kind = "postgresql"  # what /healthz reports
    FOR_UPDATE = " FOR UPDATE"  # row locks: others changing the row wait until this commits

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

    def close(self) -> None:
        self._pool.close()

    # --- connection set-up ---------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator["psycopg.Connection"]:
        """One transaction: committed when the block ends, rolled back on any exception.
        The connection itself, for the knowledge versions (kb_versions.py), which keep their
        SQL (with psycopg's placeholders) beside their logic."""
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

    @contextlib.contextmanager
    def _write(self) -> Iterator[_Qmarks]:
        with self.transaction() as conn:
            yield _Qmarks(conn)

    _read = _write

    def _migrate(self) -> None:
        with self._write() as conn:
            # Two instances starting together: one migrates, the other waits and finds it done.
            conn.execute("SELECT pg_advisory_xact_lock(?::bigint)", (MIGRATION_LOCK,))
            # Created only when missing: a database user without CREATE rights can still use
            # tables someone else made.
            if conn.execute("SELECT to_regclass('schema_version') AS t").fetchone()["t"] is None:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if row is None else row["version"]
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            if version < 6 and conn.execute(
                    "SELECT to_regclass('knowledge_versions') AS t").fetchone()["t"]:
                # Schemas 4 and 5 of the unreleased `pg` development branch (knowledge in the
                # database, event owners) are not this version's 4 and 5 (nor its 6).
                raise StoreError(
                    f"{self.path} was created by a development build of protocol-bot (it holds "
                    "knowledge_versions). Create a new database (or schema) for this version.")
            self._upgrade(conn, version, MIGRATIONS)

    def _set_version(self, conn: _Qmarks, number: int) -> None:
        conn.execute("UPDATE schema_version SET version = ?", (number,))

    def schema_version(self) -> int:
        with self._read() as conn:
            return conn.execute("SELECT version FROM schema_version").fetchone()["version"]

    # JSON columns are JSONB here: psycopg reads them as Python values.
    def _dump(self, value: Any) -> "Jsonb | None":
        return None if value is None else Jsonb(value)

    def _load(self, value: Any) -> Any:
        return value

    def _insert(self, conn: _Qmarks, sql: str, params: Sequence, key: str = "id") -> int:
        return int(conn.execute(f"{sql} RETURNING {key}", params).fetchone()[key])

    def _lock_key(self, conn: _Qmarks, space: int, key: str) -> None:
        # Held until the transaction ends, whether or not the key's row exists yet.
        conn.execute("SELECT pg_advisory_xact_lock(?::int, ?::int)",
                     (KEY_LOCK_SPACE + space, _key_lock(key)))

    def _one_snapshot(self, conn: _Qmarks) -> None:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")

    # --- claims: several instances claim at once ----------------------------------------------
    def claim_due(self, platform: str, now: float, limit: int = 50,
                  lease: float = CLAIM_LEASE_SECONDS) -> list[OutboxMessage]:
        with self._write() as conn:
            # Rows another sender is claiming right now are skipped, not waited for; the lease
            # hides the claimed ones until this sender marks them (or dies and the lease ends).
            rows = conn.execute(
                "WITH due AS (SELECT * FROM outbox WHERE platform = ? AND delivered_at IS NULL "
                "AND given_up_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ? "
                "FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox SET next_attempt_at = ? FROM due WHERE outbox.id = due.id "
                "RETURNING outbox.*", (platform, now, limit, now + lease)).fetchall()
        return [self._message(r) for r in sorted(rows, key=lambda r: r["id"])]

    def claim_incoming(self, platform: str, now: float, limit: int = 50,
                       lease: float = CLAIM_LEASE_SECONDS) -> list[tuple[int, dict]]:
        with self._write() as conn:
            # As claim_due: records another worker is claiming are skipped, the lease hides
            # the claimed ones until they are completed (or the worker dies and it ends).
            rows = conn.execute(
                "WITH due AS (SELECT id FROM inbox WHERE platform = ? AND done_at IS NULL "
                "AND due_at <= ? AND attempts < ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) "
                "UPDATE inbox SET due_at = ?, attempts = inbox.attempts + 1 FROM due "
                "WHERE inbox.id = due.id RETURNING inbox.id, inbox.payload",
                (platform, now, INBOX_MAX_ATTEMPTS, limit, now + lease)).fetchall()
        return [(int(r["id"]), r["payload"]) for r in sorted(rows, key=lambda r: r["id"])]

    def checkpoint(self) -> bool:
        """SqliteStore's -wal file has no counterpart here: the server manages its own log."""
        return True

    # --- health ---------------------------------------------------------------------------------
    def ping(self) -> None:
        """Raises StoreError (or psycopg's error) when the database cannot be reached."""
        with self._read() as conn:
            conn.execute("SELECT 1")
