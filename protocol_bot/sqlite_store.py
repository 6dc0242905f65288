"""The embedded store: one SQLite file, safe for several bot and CLI processes at once."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import ConfigError
from .sql_store import INBOX_MAX_ATTEMPTS, SqlStore, hints_by_passage
from .store import CLAIM_LEASE_SECONDS, OutboxMessage, StoreError

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


# Every SQLite file starts with these 16 bytes (an empty file is a database not yet written).
SQLITE_HEADER = b"SQLite format 3\x00"
# Files are created without any access for other users; the group bits follow the umask, so
# the bot and the monitoring officer's CLI can share the file through a group.
PRIVATE_FILE_MODE = 0o660


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


class SqliteStore(SqlStore):
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
                self._upgrade(conn, version, MIGRATIONS)

    def _set_version(self, conn: sqlite3.Connection, number: int) -> None:
        conn.execute(f"PRAGMA user_version = {number}")

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

    # JSON columns are TEXT here.
    def _dump(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value)

    def _load(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)

    def _insert(self, conn: sqlite3.Connection, sql: str, params: Sequence,
                key: str = "id") -> int:
        return int(conn.execute(sql, params).lastrowid)  # `key` is the rowid in every table

    # --- claims: BEGIN IMMEDIATE already keeps every other writer out -----------------------------
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

    # --- retention --------------------------------------------------------------------------------
    def purge_log(self, before: float) -> dict[str, int]:
        counts = super().purge_log(before)
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
    return hints_by_passage(rows)


def open_store(config, *, create: bool = True):
    """The store the configuration names (PROTOCOL_BOT_DB): see stores.open_store (a
    postgresql:// URL opens PgStore). `create`: a missing file may be created (commands that
    start the bot or open a ticket), else NoDatabase."""
    from .stores import open_store as open_configured

    return open_configured(config, create=create)
