"""The embedded store: one SQLite file, safe for several bot and CLI processes at once."""

from __future__ import annotations

import contextlib
from dataclasses import replace
import datetime as dt
import json
import logging
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .config import ConfigError
from .models import Asker, Ticket
from .store import (CLAIM_LEASE_SECONDS, AuditEntry, EntryNotFound, FaqRecord, Feedback,
                    InvalidTransition, LoggedQuestion, OutboxMessage, StoreError, TaughtQuestion,
                    TicketNotFound, backoff_seconds, ticket_id_for)

log = logging.getLogger(__name__)

# How long a writer waits for another process's write to finish before giving up. Writes are
# milliseconds long, so reaching this means something is badly wrong, not ordinary contention.
BUSY_TIMEOUT_SECONDS = 30.0

# Schema migrations, applied in order; PRAGMA user_version records how many have run.
# Never edit a released step: add a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: tickets, their history, the outbox, conversation references, handled events
        """CREATE TABLE tickets (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            idempotency_key TEXT NOT NULL UNIQUE,
            asker_platform TEXT NOT NULL,
            asker_user_id TEXT NOT NULL,
            asker_display_name TEXT NOT NULL DEFAULT '',
            reply_to TEXT NOT NULL DEFAULT '{}',
            question TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            bot_refs TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'answered', 'closed')),
            assignee TEXT,
            answer TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""",
        "CREATE INDEX tickets_by_status ON tickets (status)",
        """CREATE TABLE ticket_events (
            id INTEGER PRIMARY KEY,
            ticket_seq INTEGER NOT NULL REFERENCES tickets (seq),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            event TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_seq, id)",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL,
            recipient TEXT NOT NULL,
            reply_to TEXT,
            kind TEXT NOT NULL,
            ticket_id TEXT,
            body TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            delivered_at REAL,
            last_error TEXT,
            created_at REAL NOT NULL)""",
        "CREATE INDEX outbox_due ON outbox (platform, delivered_at, next_attempt_at)",
        """CREATE TABLE conversation_references (
            principal TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            updated_at REAL NOT NULL)""",
        "CREATE TABLE handled_events (key TEXT PRIMARY KEY, at REAL NOT NULL)",
    ),
    (  # 2: the audit trail (refusals, knowledge changes) and small named values
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX audit_by_action ON audit (action, id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (  # 3: the question log and feedback, both purged after the retention period
        """CREATE TABLE question_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            question TEXT NOT NULL,
            normalised TEXT NOT NULL,
            answered INTEGER NOT NULL,
            refs TEXT NOT NULL DEFAULT '[]',
            asker TEXT,
            helpful INTEGER)""",
        "CREATE INDEX question_log_by_time ON question_log (at)",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            log_id INTEGER,
            question TEXT NOT NULL,
            normalised TEXT NOT NULL,
            refs TEXT NOT NULL DEFAULT '[]',
            helpful INTEGER NOT NULL,
            asker TEXT)""",
        "CREATE INDEX feedback_by_time ON feedback (at)",
    ),
    (  # 4: what people sent, recorded before it is acknowledged; outbox outcomes
        """CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at REAL NOT NULL,
            due_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            done_at REAL)""",
        "CREATE INDEX inbox_due ON inbox (platform, done_at, due_at)",
        "ALTER TABLE outbox ADD COLUMN unknown_outcomes INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE outbox ADD COLUMN given_up_at REAL",
    ),
    (  # 5: the MOs' FAQ entries (changed with their ticket) and taught questions
        """CREATE TABLE faq_entries (
            ticket_seq INTEGER PRIMARY KEY REFERENCES tickets (seq),
            question TEXT NOT NULL,
            variants TEXT NOT NULL DEFAULT '[]',
            text TEXT NOT NULL,
            related TEXT NOT NULL DEFAULT '[]',
            author TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('live', 'withdrawn')),
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
        """CREATE TABLE taught_questions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question TEXT NOT NULL,
            passage_key TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            taught_by TEXT NOT NULL,
            at REAL NOT NULL,
            undone_by TEXT,
            undone_at REAL)""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
# A recorded message that fails this often is left alone (logged), not retried for ever.
INBOX_MAX_ATTEMPTS = 5


# Every SQLite file starts with these 16 bytes (an empty file is a database not yet written).
SQLITE_HEADER = b"SQLite format 3\x00"
# Files are created without any access for other users; the group bits follow the umask, so
# the bot and the monitoring officer's CLI can share the file through a group.
PRIVATE_FILE_MODE = 0o660
_TICKET_ID = re.compile(r"(?:MO-)?0*([0-9]{1,18})", re.IGNORECASE)


class DatabaseSettingError(ConfigError, StoreError):
    """PROTOCOL_BOT_DB names something that is not (and cannot become) the bot's database."""

    def __init__(self, message: str):
        super().__init__("PROTOCOL_BOT_DB", message)


class NoDatabase(DatabaseSettingError):
    """The database file does not exist, and this command does not create it."""


def check_database_file(path: Path, *, create: bool) -> bool:
    """Refuse a PROTOCOL_BOT_DB that is a folder, a device, not SQLite, or (unless `create`)
    missing, or whose folder is missing. Returns True when the file has to be created."""
    shown = str(path.absolute())
    try:
        st = path.stat()
    except FileNotFoundError:
        if not create:
            raise NoDatabase(
                f"no database at {shown}. It is created when the bot starts (protocol-bot serve) "
                "or a ticket is opened; check PROTOCOL_BOT_DB names the same file the bot "
                "uses.") from None
        folder = path.parent
        if not folder.is_dir():
            raise DatabaseSettingError(
                f"the folder {folder} (for {shown}) does not exist. Create it first (see the "
                "README, 'Files and permissions') or correct the path.") from None
        return True
    except NotADirectoryError:
        raise DatabaseSettingError(f"{shown}: part of the path is a file, not a folder.") from None
    except PermissionError:
        raise DatabaseSettingError(f"{shown} cannot be reached: permission denied on its "
                                   "folder.") from None
    except OSError as exc:
        raise DatabaseSettingError(f"{shown} cannot be used: {exc.strerror}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise DatabaseSettingError(f"{shown} is a folder; give the database file's path, e.g. "
                                   f"{path / 'protocol-bot.db'}.")
    if not stat.S_ISREG(st.st_mode):
        raise DatabaseSettingError(f"{shown} is not a regular file (a device, pipe or socket).")
    if st.st_mode & 0o007:
        log.warning("%s can be read or written by every user of this machine; it holds "
                    "casework. Remove their access: chmod o-rwx %s (see the README, 'Files and "
                    "permissions').", shown, shown)
    if st.st_size:
        try:
            with open(path, "rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except PermissionError:
            raise StoreError(f"PROTOCOL_BOT_DB: {shown} cannot be read by this account "
                             "(permission denied). See the README, 'Files and permissions'.") from None
        if header != SQLITE_HEADER:
            raise DatabaseSettingError(f"{shown} is not an SQLite database (it holds something "
                                       "else). Point PROTOCOL_BOT_DB at the bot's database file.")
    return False


def create_private_file(path: Path) -> None:
    """Create an empty database file with no access for other users (group bits from umask)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:  # another process created it a moment ago
        return
    try:
        mode = os.fstat(fd).st_mode & 0o777
        if mode & 0o007:  # a umask that lets others in: the database is still private
            os.fchmod(fd, mode & ~0o007)
    finally:
        os.close(fd)


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


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SqliteStore:
    """Tickets and the outbox in one SQLite file (WAL mode).

    Every write runs in `BEGIN IMMEDIATE`, so it takes the write lock before reading what it
    depends on (the idempotency key, the ticket's status): two processes can neither both
    create a ticket for one key nor lose one. Waiting writers queue on busy_timeout instead
    of failing with "database is locked".
    """

    kind = "sqlite"  # what /healthz reports

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time,
                 create: bool = True):
        """Open the database at `path`. A missing file is created (private to this account
        and its group) only when `create` is true and its folder exists; folders are never
        created. DatabaseSettingError when `path` cannot be the bot's database."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()  # one connection, shared by the bot's threads
        if str(self.path) != ":memory:":
            if check_database_file(self.path, create=create):
                create_private_file(self.path)
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS,
                                         isolation_level=None, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            self._set_wal()
            # FULL: a ticket acknowledged to a councillor survives a power cut, not just a crash.
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            # Deleted rows (purged questions) are overwritten with zeros, not just unlinked.
            self._conn.execute("PRAGMA secure_delete = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None

    def _unusable(self, exc: sqlite3.DatabaseError) -> StoreError:
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return DatabaseSettingError(f"{self.path} is not a usable SQLite database ({text}).")
        if "readonly" in text or "unable to open" in text:
            return StoreError(f"PROTOCOL_BOT_DB: {self.path} cannot be opened for writing by "
                              f"this account ({text}). See the README, 'Files and permissions'.")
        return StoreError(f"PROTOCOL_BOT_DB: {self.path}: {text}")

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- connection set-up ---------------------------------------------------------------------
    def _set_wal(self) -> None:
        # Switching a new file to WAL needs an exclusive moment; when several processes create
        # the file together SQLite may answer "locked" without waiting, so retry here.
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal" and str(self.path) != ":memory:":
                    log.warning("SQLite would not use WAL mode for %s (mode %s)", self.path, mode)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            with self._write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under lock
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} was written by a newer protocol-bot (schema {version}; this "
                        f"version knows up to {SCHEMA_VERSION}). Upgrade protocol-bot.")
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[number - 1]:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")
                    log.info("database %s migrated to schema %d", self.path, number)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # some errors have rolled back already
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # A deferred transaction gives several SELECTs one consistent snapshot.
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    # --- tickets ---------------------------------------------------------------------------------
    def _ticket(self, conn: sqlite3.Connection, seq: int) -> Ticket:
        row = conn.execute("SELECT * FROM tickets WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise TicketNotFound(f"There is no ticket {ticket_id_for(seq)}.")
        events = tuple(
            {"at": e["at"], "actor": e["actor"], "event": e["event"], **json.loads(e["detail"])}
            for e in conn.execute("SELECT * FROM ticket_events WHERE ticket_seq = ? ORDER BY id",
                                  (seq,)))
        return Ticket(
            id=ticket_id_for(row["seq"]),
            asker=Asker(row["asker_platform"], row["asker_user_id"], row["asker_display_name"]),
            reply_to=json.loads(row["reply_to"]), question=row["question"], context=row["context"],
            bot_refs=tuple(json.loads(row["bot_refs"])), status=row["status"],
            assignee=row["assignee"], answer=row["answer"], created_at=row["created_at"],
            updated_at=row["updated_at"], idempotency_key=row["idempotency_key"], events=events)

    def _event(self, conn, seq: int, at: str, actor: str, event: str, detail: dict | None) -> None:
        conn.execute("INSERT INTO ticket_events (ticket_seq, at, actor, event, detail) "
                     "VALUES (?, ?, ?, ?, ?)", (seq, at, actor, event, json.dumps(detail or {})))

    def _enqueue(self, conn, message: dict, ticket_id: str | None, now: float) -> int:
        body = dict(message["body"])
        if ticket_id is not None:
            body["ticket_id"] = ticket_id
        reply_to = message.get("reply_to")
        cur = conn.execute(
            "INSERT INTO outbox (platform, recipient, reply_to, kind, ticket_id, body, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (message["platform"], message["recipient"],
             None if reply_to is None else json.dumps(reply_to), message["kind"],
             ticket_id if ticket_id is not None else message.get("ticket_id"),
             json.dumps(body), now, now))
        return int(cur.lastrowid)

    def open_ticket(self, *, asker: Asker, question: str, idempotency_key: str,
                    reply_to: dict | None = None, context: str = "",
                    bot_refs: Sequence[str] = (), outbox: Sequence[dict] = ()) -> tuple[Ticket, bool]:
        now = self.now()
        stamp = iso(now)
        with self._write() as conn:
            row = conn.execute("SELECT seq FROM tickets WHERE idempotency_key = ?",
                               (idempotency_key,)).fetchone()
            if row is not None:
                return self._ticket(conn, row["seq"]), False
            cur = conn.execute(
                "INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, "
                "asker_display_name, reply_to, question, context, bot_refs, status, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                (idempotency_key, asker.platform, asker.user_id, asker.display_name,
                 json.dumps(reply_to or {}), question, context, json.dumps(list(bot_refs)),
                 stamp, stamp))
            seq = int(cur.lastrowid)
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
            current = self._ticket(conn, seq)
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
    @staticmethod
    def _save_faq(conn, seq: int, entry: dict, now: float) -> None:
        old = conn.execute("SELECT variants FROM faq_entries WHERE ticket_seq = ?",
                           (seq,)).fetchone()
        earlier = json.loads(old["variants"]) if old is not None else []
        question = entry["question"].strip()
        variants = list(dict.fromkeys(v.strip() for v in [*earlier, *entry.get("variants", ())]
                                      if v and v.strip() and v.strip() != question))
        conn.execute(
            "INSERT INTO faq_entries (ticket_seq, question, variants, text, related, author, "
            "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'live', ?, ?) "
            "ON CONFLICT (ticket_seq) DO UPDATE SET question = excluded.question, "
            "variants = excluded.variants, text = excluded.text, related = excluded.related, "
            "author = excluded.author, status = 'live', updated_at = excluded.updated_at",
            (seq, entry["question"], json.dumps(variants), entry["text"],
             json.dumps(list(entry.get("related", ()))), entry["author"], now, now))

    @staticmethod
    def _faq(row: sqlite3.Row) -> FaqRecord:
        return FaqRecord(id=ticket_id_for(row["ticket_seq"]), question=row["question"],
                         variants=tuple(json.loads(row["variants"])), text=row["text"],
                         related=tuple(json.loads(row["related"])), author=row["author"],
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
            row = conn.execute("SELECT * FROM faq_entries WHERE ticket_seq = ?", (seq,)).fetchone()
            if row is None:
                raise EntryNotFound(f"There is no FAQ entry {ticket_id_for(seq)}.")
            conn.execute(
                "UPDATE faq_entries SET status = ?, text = ?, variants = ?, updated_at = ? "
                "WHERE ticket_seq = ?",
                (status or row["status"], row["text"] if text is None else text,
                 row["variants"] if variants is None else json.dumps(list(variants)),
                 self.now(), seq))
            return self._faq(conn.execute("SELECT * FROM faq_entries WHERE ticket_seq = ?",
                                          (seq,)).fetchone())

    # --- taught questions -------------------------------------------------------------------------
    @staticmethod
    def _taught(row: sqlite3.Row) -> TaughtQuestion:
        return TaughtQuestion(id=row["id"], question=row["question"],
                              passage_key=row["passage_key"], source=row["source"],
                              taught_by=row["taught_by"], at=row["at"],
                              undone_by=row["undone_by"], undone_at=row["undone_at"])

    def teach(self, *, question: str, passage_key: str, actor: str,
              source: str) -> tuple[TaughtQuestion, bool]:
        with self._write() as conn:
            row = conn.execute("SELECT * FROM taught_questions WHERE question = ? AND "
                               "passage_key = ? AND undone_at IS NULL",
                               (question, passage_key)).fetchone()
            if row is not None:
                return self._taught(row), False
            cur = conn.execute("INSERT INTO taught_questions (question, passage_key, source, "
                               "taught_by, at) VALUES (?, ?, ?, ?, ?)",
                               (question, passage_key, source, actor, self.now()))
            row = conn.execute("SELECT * FROM taught_questions WHERE id = ?",
                               (cur.lastrowid,)).fetchone()
            return self._taught(row), True

    def undo_teaching(self, taught_id: int, *, actor: str) -> TaughtQuestion:
        with self._write() as conn:
            row = conn.execute("SELECT * FROM taught_questions WHERE id = ?",
                               (int(taught_id),)).fetchone()
            if row is None:
                raise EntryNotFound(f"There is no taught question {taught_id}.")
            if row["undone_at"] is None:
                conn.execute("UPDATE taught_questions SET undone_by = ?, undone_at = ? "
                             "WHERE id = ?", (actor, self.now(), row["id"]))
            return self._taught(conn.execute("SELECT * FROM taught_questions WHERE id = ?",
                                             (row["id"],)).fetchone())

    def taught_questions(self, include_undone: bool = False) -> list[TaughtQuestion]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM taught_questions" +
                                ("" if include_undone else " WHERE undone_at IS NULL") +
                                " ORDER BY id").fetchall()
        return [self._taught(r) for r in rows]

    # --- outbox -----------------------------------------------------------------------------------
    @staticmethod
    def _message(row: sqlite3.Row) -> OutboxMessage:
        return OutboxMessage(
            id=row["id"], platform=row["platform"], recipient=row["recipient"],
            reply_to=None if row["reply_to"] is None else json.loads(row["reply_to"]),
            kind=row["kind"], ticket_id=row["ticket_id"], body=json.loads(row["body"]),
            attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
            delivered_at=row["delivered_at"], last_error=row["last_error"],
            unknown_outcomes=row["unknown_outcomes"], given_up_at=row["given_up_at"])

    def enqueue(self, *, platform: str, recipient: str, reply_to: dict | None, kind: str,
                ticket_id: str | None, body: dict) -> int:
        message = {"platform": platform, "recipient": recipient, "reply_to": reply_to,
                   "kind": kind, "ticket_id": ticket_id, "body": body}
        with self._write() as conn:
            return self._enqueue(conn, message, None, self.now())

    def due_messages(self, platform: str, now: float, limit: int = 50) -> list[OutboxMessage]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM outbox WHERE platform = ? AND delivered_at IS NULL "
                "AND next_attempt_at <= ? ORDER BY id LIMIT ?", (platform, now, limit)).fetchall()
        return [self._message(r) for r in rows]

    def claim_due(self, platform: str, now: float, limit: int = 50,
                  lease: float = CLAIM_LEASE_SECONDS) -> list[OutboxMessage]:
        with self._write() as conn:
            rows = conn.execute(
                "SELECT * FROM outbox WHERE platform = ? AND delivered_at IS NULL "
                "AND given_up_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (platform, now, limit)).fetchall()
            conn.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                             [(now + lease, r["id"]) for r in rows])
        return [replace(self._message(r), next_attempt_at=now + lease) for r in rows]

    def renew_claim(self, message_id: int, claimed_until: float, until: float) -> bool:
        with self._write() as conn:
            return conn.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ? "
                "AND delivered_at IS NULL AND given_up_at IS NULL",
                (until, message_id, claimed_until)).rowcount == 1

    def undelivered(self, platform: str | None = None) -> list[OutboxMessage]:
        with self._lock:
            if platform is None:
                rows = self._conn.execute(
                    "SELECT * FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL "
                    "ORDER BY id").fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT * FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL "
                    "AND platform = ? ORDER BY id", (platform,)).fetchall()
        return [self._message(r) for r in rows]

    def given_up(self) -> list[OutboxMessage]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM outbox WHERE given_up_at IS NOT NULL "
                                      "ORDER BY id").fetchall()
        return [self._message(r) for r in rows]

    def unknown_outcomes(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COALESCE(SUM(unknown_outcomes), 0) FROM outbox")\
                .fetchone()
        return int(row[0])

    def mark_delivered(self, message_id: int, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET delivered_at = ?, last_error = NULL WHERE id = ?",
                         (now, message_id))

    def mark_failed(self, message_id: int, error: str, now: float, *,
                    retry_at: float | None = None, outcome_unknown: bool = False) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT attempts FROM outbox WHERE id = ?", (message_id,)).fetchone()
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
                         (json.dumps(reply_to), error[:2000], now, message_id))

    def give_up(self, message_id: int, error: str, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET given_up_at = ?, last_error = ? WHERE id = ? "
                         "AND delivered_at IS NULL", (now, error[:2000], message_id))

    # --- the inbox ----------------------------------------------------------------------------------
    def record_incoming(self, platform: str, key: str, payload: dict) -> int | None:
        return self.record_many(platform, [(key, payload)])[0]

    def record_many(self, platform: str, items: Sequence[tuple[str, dict]]) -> list[int | None]:
        now = self.now()
        ids: list[int | None] = []
        with self._write() as conn:
            for key, payload in items:
                if key and not conn.execute("INSERT OR IGNORE INTO handled_events (key, at) "
                                            "VALUES (?, ?)", (key, now)).rowcount:
                    ids.append(None)
                    continue
                cur = conn.execute("INSERT INTO inbox (platform, payload, received_at, due_at) "
                                   "VALUES (?, ?, ?, ?)", (platform, json.dumps(payload), now, now))
                ids.append(int(cur.lastrowid))
        return ids

    def claim_incoming(self, platform: str, now: float, limit: int = 50,
                       lease: float = CLAIM_LEASE_SECONDS) -> list[tuple[int, dict]]:
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, payload FROM inbox WHERE platform = ? AND done_at IS NULL "
                "AND due_at <= ? AND attempts < ? ORDER BY id LIMIT ?",
                (platform, now, INBOX_MAX_ATTEMPTS, limit)).fetchall()
            conn.executemany("UPDATE inbox SET due_at = ?, attempts = attempts + 1 WHERE id = ?",
                             [(now + lease, r["id"]) for r in rows])
        return [(r["id"], json.loads(r["payload"])) for r in rows]

    def complete_incoming(self, incoming_id: int, outbox: Sequence[dict], now: float) -> None:
        with self._write() as conn:
            done = conn.execute("UPDATE inbox SET done_at = ? WHERE id = ? AND done_at IS NULL",
                                (now, incoming_id)).rowcount
            if done:  # another process finished it first (after a lease ran out): not twice
                for message in outbox:
                    self._enqueue(conn, message, None, now)

    def pending_incoming(self, platform: str | None = None) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM inbox WHERE done_at IS NULL"
                + (" AND platform = ?" if platform else ""),
                (platform,) if platform else ()).fetchone()
        return int(row[0])

    # --- conversation references and handled events -----------------------------------------------
    def save_reference(self, principal: str, reference: dict) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO conversation_references (principal, reference, updated_at) "
                         "VALUES (?, ?, ?) ON CONFLICT (principal) DO UPDATE SET "
                         "reference = excluded.reference, updated_at = excluded.updated_at",
                         (principal, json.dumps(reference), self.now()))

    def get_reference(self, principal: str) -> dict | None:
        with self._lock:
            row = self._conn.execute("SELECT reference FROM conversation_references "
                                     "WHERE principal = ?", (principal,)).fetchone()
        return None if row is None else json.loads(row["reference"])

    def claim_event(self, key: str) -> bool:
        with self._write() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO handled_events (key, at) VALUES (?, ?)",
                               (key, self.now()))
            return cur.rowcount == 1

    # --- audit and snapshots ----------------------------------------------------------------------
    def record_audit(self, *, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict | None = None) -> int:
        with self._write() as conn:
            cur = conn.execute("INSERT INTO audit (at, actor, action, target, outcome, detail) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               (self.now(), actor, action, target, outcome, json.dumps(detail or {})))
            return int(cur.lastrowid)

    def audit_entries(self, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
        with self._lock:
            if action is None:
                rows = self._conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?",
                                          (limit,)).fetchall()
            else:
                rows = self._conn.execute("SELECT * FROM audit WHERE action = ? ORDER BY id DESC "
                                          "LIMIT ?", (action, limit)).fetchall()
        return [AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"], r["outcome"],
                           json.loads(r["detail"])) for r in rows]

    def swap_snapshot(self, key: str, value: dict) -> dict | None:
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", (key, json.dumps(value)))
        return None if row is None else json.loads(row["value"])

    # --- question log -----------------------------------------------------------------------------
    def log_question(self, *, question: str, normalised: str, answered: bool,
                     refs: Sequence[str], asker: str | None) -> int:
        with self._write() as conn:
            cur = conn.execute("INSERT INTO question_log (at, question, normalised, answered, refs, "
                               "asker) VALUES (?, ?, ?, ?, ?, ?)",
                               (self.now(), question, normalised, int(answered),
                                json.dumps(list(refs)), asker))
            return int(cur.lastrowid)

    def log_feedback(self, *, log_id: int | None, question: str, normalised: str,
                     refs: Sequence[str], helpful: bool, asker: str | None) -> int:
        with self._write() as conn:
            if log_id is not None:
                conn.execute("UPDATE question_log SET helpful = ? WHERE id = ?",
                             (int(helpful), log_id))
            cur = conn.execute("INSERT INTO feedback (at, log_id, question, normalised, refs, "
                               "helpful, asker) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (self.now(), log_id, question, normalised, json.dumps(list(refs)),
                                int(helpful), asker))
            return int(cur.lastrowid)

    def logged_questions(self, since: float = 0.0) -> list[LoggedQuestion]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM question_log WHERE at >= ? ORDER BY id",
                                      (since,)).fetchall()
        return [LoggedQuestion(r["id"], r["at"], r["question"], r["normalised"], bool(r["answered"]),
                               tuple(json.loads(r["refs"])), r["asker"],
                               None if r["helpful"] is None else bool(r["helpful"])) for r in rows]

    def logged_question(self, log_id: int) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT question FROM question_log WHERE id = ?",
                                     (log_id,)).fetchone()
        return None if row is None else row["question"]

    def feedback_entries(self, since: float = 0.0) -> list[Feedback]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM feedback WHERE at >= ? ORDER BY id",
                                      (since,)).fetchall()
        return [Feedback(r["id"], r["at"], r["log_id"], r["question"], r["normalised"],
                         tuple(json.loads(r["refs"])), bool(r["helpful"]), r["asker"]) for r in rows]

    def purge_log(self, before: float) -> dict[str, int]:
        with self._write() as conn:
            counts = {
                "questions": conn.execute("DELETE FROM question_log WHERE at < ?", (before,)).rowcount,
                "feedback": conn.execute("DELETE FROM feedback WHERE at < ?", (before,)).rowcount,
                "delivered_messages": conn.execute(
                    "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
                    (before,)).rowcount,
                "handled_events": conn.execute("DELETE FROM handled_events WHERE at < ?",
                                               (before,)).rowcount,
            }
        counts["wal_checkpointed"] = self.checkpoint()
        return counts

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database and empty it, so deleted text (already
        zeroed by secure_delete) is not left readable in the -wal file. False when another
        process was reading and the log could not be emptied yet."""
        with self._lock:
            try:
                busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.OperationalError as exc:
                log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
                return False
        return not busy

def read_taught_hints(path: Path | str) -> dict[str, list[str]]:
    """Taught questions by passage key, read-only (for `ask`, which never writes): {} when the
    database is missing, older than the taught questions, or cannot be read."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
        try:
            rows = conn.execute("SELECT passage_key, question FROM taught_questions "
                                "WHERE undone_at IS NULL ORDER BY id").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    hints: dict[str, list[str]] = {}
    for key, question in rows:
        hints.setdefault(key, []).append(question)
    return hints


def open_store(config, *, create: bool = True):
    """The store the configuration names (PROTOCOL_BOT_DB): see stores.open_store (a
    postgresql:// URL opens PgStore). `create`: a missing file may be created (commands that
    start the bot or open a ticket), else NoDatabase."""
    from .stores import open_store as open_configured

    return open_configured(config, create=create)
