"""The knowledge base kept in PostgreSQL in numbered versions, one for every instance and the CLI.

With PROTOCOL_BOT_DB=postgresql://... the documents (protocol, guidance, FAQ, synonyms) live in
the database, in versions; taught questions stay in their own table. How it works:

- An empty database is seeded from the knowledge folder (PROTOCOL_BOT_KNOWLEDGE, else the data
  directory's folder if there is one, else the shipped documents) the first time anything uses
  it, under a transaction-level advisory lock: two instances starting at once seed it once.
- Each process writes a version it needs into its data directory, `knowledge-db/v<N>/knowledge/`
  (a scratch folder renamed into place), and loads it as it would load the council's folder, so
  the file checks, the index cache and the FAQ file's composition are the ones SQLite uses.
- A write (`kb import --publish`, an FAQ saved, `kb reload DIR`) takes the knowledge lock, writes
  the LATEST version into a scratch folder (never a stale local copy: two FAQ saves at once both
  survive), changes it with the usual file-writing code, validates the whole knowledge base, and
  inserts the new version with all its files and `NOTIFY protocol_bot_knowledge` in one
  transaction. A file's content is stored once, by its hash.
- Every instance LISTENs (KnowledgeListener) and also polls every few seconds (a notification
  missed while reconnecting); a version that does not validate there is refused and the
  instance keeps answering from its last good index. Teaching the bot NOTIFYs too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from . import kb_changes
from .config import Config
from .faq import FAQ_FILE, WRITTEN_FILE
from .knowledge import KnowledgeBase, KnowledgeError, Problem, load_knowledge

if TYPE_CHECKING:
    from .live import LiveKnowledge

log = logging.getLogger(__name__)

CHANNEL = "protocol_bot_knowledge"  # NOTIFY payload: the new version's number, or "hints"
KNOWLEDGE_LOCK = 0x70B0_0002  # advisory lock id (pg_store.MIGRATION_LOCK is 0x70B0_0001)
FOLDER = "knowledge-db"  # in the data directory: v<N>/knowledge/ for each version used here
KEEP_FOLDERS = 5  # version folders kept in the data directory (the newest)
START_FALLBACK = 10  # versions looked back at start-up when the latest does not load here
POLL_SECONDS = 3.0  # the listener's safety net: look at the latest version this often
STATE_KEY = "knowledge:database"  # the audit trail's record of the last knowledge recorded
# Beside the knowledge files, a version keeps the FAQ writer's record of what it last wrote,
# so a hand edit published with `kb reload DIR` is still noticed and taken in (faq.py).
WRITTEN_RECORD = (FAQ_FILE.parent / WRITTEN_FILE).as_posix()

T = TypeVar("T")


# --- files <-> folders -----------------------------------------------------------------------------

def read_folder(folder: Path) -> tuple[dict[str, str], KnowledgeBase]:
    """The files a version holds, from a folder: every knowledge file (the loader's checks
    first: KnowledgeError naming file, line and field) and the FAQ writer's record."""
    folder = Path(folder)
    kb = load_knowledge(folder)
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for path in kb_changes.knowledge_files(folder):
        name = path.relative_to(folder).as_posix()
        try:
            files[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(f"{folder.name}/{name}", 0, "", f"cannot be read ({exc})."))
    record = folder / WRITTEN_RECORD
    if record.is_file() and not record.is_symlink() and record.stat().st_size < 5_000_000:
        files[WRITTEN_RECORD] = record.read_text(encoding="utf-8", errors="replace")
    if problems:
        raise KnowledgeError(problems)
    return files, kb


def replace_with(source: Path) -> Callable[[Path], None]:
    """A change for DatabaseKnowledge.write: the version's documents become `source`'s (the
    FAQ writer's record is kept, so hand edits of the FAQ file are still noticed)."""
    def change(folder: Path) -> None:
        files, _ = read_folder(source)
        for path in kb_changes.knowledge_files(folder):
            path.unlink()
        write_folder(folder, {name: text for name, text in files.items()
                              if name != WRITTEN_RECORD})
    return change


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise ValueError(f"a knowledge file in the database has an unusable name: {name!r}")
    return path


def write_folder(folder: Path, files: Mapping[str, str]) -> None:
    for name, content in files.items():
        target = folder / _safe_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def knowledge_only(files: Mapping[str, str]) -> dict[str, str]:
    """The documents themselves (what `kb export` writes and what counts as a change)."""
    return {name: text for name, text in files.items()
            if not any(part.startswith(".") for part in PurePosixPath(name).parts)}


def _sha(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


# --- the database ----------------------------------------------------------------------------------

def latest_version(conn) -> int | None:
    row = conn.execute("SELECT max(version) AS v FROM knowledge_versions").fetchone()
    return None if row["v"] is None else int(row["v"])


def version_files(conn, version: int) -> dict[str, str]:
    rows = conn.execute("SELECT f.path, b.content FROM knowledge_files f JOIN knowledge_blobs b "
                        "ON b.sha = f.sha WHERE f.version = %s ORDER BY f.path",
                        (version,)).fetchall()
    return {r["path"]: r["content"] for r in rows}


def insert_version(conn, files: Mapping[str, str], *, actor: str, reason: str,
                   now: float) -> int:
    """A new version with these files, announced on commit. Validation is the caller's job
    (DatabaseKnowledge.write): this is also how tests make a version that does not load."""
    version = int(conn.execute(
        "INSERT INTO knowledge_versions (created_at, actor, reason) VALUES (%s, %s, %s) "
        "RETURNING version", (now, actor, reason[:500])).fetchone()["version"])
    for name, content in sorted(files.items()):
        sha = _sha(content)
        conn.execute("INSERT INTO knowledge_blobs (sha, content) VALUES (%s, %s) "
                     "ON CONFLICT (sha) DO NOTHING", (sha, content))
        conn.execute("INSERT INTO knowledge_files (version, path, sha) VALUES (%s, %s, %s)",
                     (version, str(_safe_name(name)), sha))
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version)))
    return version


def _lock(conn) -> None:
    # Held until the transaction ends (commit, rollback, or a dropped connection).
    conn.execute("SELECT pg_advisory_xact_lock(%s::bigint)", (KNOWLEDGE_LOCK,))


# --- one process's view -----------------------------------------------------------------------------

class DatabaseKnowledge:
    """The database's knowledge for one process: seeds it, writes versions, materialises them
    into the data directory, and keeps a LiveKnowledge (`live`, when the process answers) on
    the latest good version."""

    def __init__(self, store, data_dir: Path, seed_folder: Path):
        self.store = store  # a PgStore
        self.root = Path(data_dir) / FOLDER
        self.seed_folder = Path(seed_folder)
        self.live = None  # LiveKnowledge, set by attach()
        self.loaded: int | None = None  # the version the live index answers from
        self.refused: int | None = None  # the latest version refused here (it did not load)
        self._refused_problems: list[Problem] = []
        self._hints_seen: tuple | None = None
        self._sync_lock = threading.Lock()

    @classmethod
    def for_config(cls, config: Config, store) -> "DatabaseKnowledge":
        from .datadir import readable_knowledge

        return cls(store, config.data_dir, readable_knowledge(config))

    # --- reading ----------------------------------------------------------------------------
    def current(self) -> int:
        """The latest version, seeding an empty database first."""
        with self.store.transaction() as conn:
            version = latest_version(conn)
        return version if version is not None else self.seed()

    def seed(self) -> int:
        """Version 1 from the knowledge folder, unless someone else seeded it meanwhile."""
        with self.store.transaction() as conn:
            _lock(conn)  # a second instance starting now waits here, then finds version 1
            version = latest_version(conn)
            if version is not None:
                return version
            files, kb = read_folder(self.seed_folder)  # a broken folder is never seeded
            state = kb_changes.knowledge_state(self.seed_folder, kb)
            version = insert_version(conn, files, actor="protocol-bot",
                                     reason=f"seeded from {self.seed_folder}",
                                     now=self.store.now())
        kb_changes.record_known_state(self.store, STATE_KEY, state, actor="protocol-bot",
                                      source=f"seeded from {self.seed_folder} (version 1)")
        log.info("knowledge database seeded from %s (version %d, %d files)", self.seed_folder,
                 version, len(files))
        return version

    def files(self, version: int | None = None) -> tuple[int, dict[str, str]]:
        version = self.current() if version is None else version
        with self.store.transaction() as conn:
            files = version_files(conn, version)
        if not files:
            raise LookupError(f"There is no knowledge version {version}.")
        return version, files

    def folder(self, version: int | None = None) -> tuple[int, Path]:
        """The version (default: the latest) as a local folder, written once per process
        data directory (to a scratch folder, then renamed: nobody sees half of one)."""
        version = self.current() if version is None else version
        final = self.root / f"v{version}"
        if not final.is_dir():
            _, files = self.files(version)
            self.root.mkdir(mode=0o770, parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=self.root))
            try:
                write_folder(scratch / "knowledge", files)
                os.rename(scratch, final)
            except OSError:
                shutil.rmtree(scratch, ignore_errors=True)
                if not final.is_dir():
                    raise
            self._prune(keep=version)
        return version, final / "knowledge"

    def _prune(self, keep: int) -> None:
        numbered = sorted((int(p.name[1:]), p) for p in self.root.glob("v*")
                          if p.name[1:].isdigit())
        for number, path in numbered[:-KEEP_FOLDERS]:
            if number not in (keep, self.loaded):
                shutil.rmtree(path, ignore_errors=True)

    # --- writing ----------------------------------------------------------------------------
    def write(self, actor: str, reason: str,
              change: Callable[[Path], T]) -> tuple[T, int | None]:
        """Change the latest version with `change(folder)` and publish the result as a new
        version (None when the documents did not change). KnowledgeError when the result does
        not validate, and whatever `change` raises: then nothing is published."""
        self.current()  # an empty database is seeded first
        self.root.mkdir(mode=0o770, parents=True, exist_ok=True)
        with self.store.transaction() as conn:
            _lock(conn)  # writers queue here; each starts from the version before it
            base = latest_version(conn)
            before = version_files(conn, base)
            with tempfile.TemporaryDirectory(prefix=".write-", dir=self.root) as scratch:
                folder = Path(scratch) / "knowledge"
                write_folder(folder, before)
                result = change(folder)
                files, kb = read_folder(folder)
                if knowledge_only(files) == knowledge_only(before):
                    return result, None
                state = kb_changes.knowledge_state(folder, kb)
                version = insert_version(conn, files, actor=actor, reason=reason,
                                         now=self.store.now())
        log.info("knowledge version %d published (%s, by %s)", version, reason, actor)
        kb_changes.record_known_state(self.store, STATE_KEY, state, actor=actor,
                                      source=f"{reason} (version {version})")
        if self.live is not None:
            self.sync()  # this process answers from it at once
        return result, version

    def announce(self, what: str = "hints") -> None:
        """Tell every instance to look again (taught questions changed, or `kb reload`)."""
        with self.store.transaction() as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, what))

    # --- answering from it ------------------------------------------------------------------
    def hints_signature(self) -> tuple:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT count(*) AS n, coalesce(max(id), 0) AS last, "
                               "coalesce(max(undone_at), 0) AS undone FROM taught_questions"
                               ).fetchone()
        return (row["n"], row["last"], row["undone"])

    def attach(self, live, version: int, hints: tuple | None) -> None:
        self.live = live
        self.loaded = version
        self._hints_seen = hints
        live.database = self
        live.version = version

    def sync(self, force: bool = False) -> bool:
        """Bring the live index to the latest version and taught questions. A version that
        does not load is refused (recorded, shown on /healthz) and the last good index keeps
        answering. True when a reload was attempted."""
        with self._sync_lock:
            version = self.current()
            hints = self.hints_signature()
            newer = version not in (self.loaded, self.refused)
            if not (force or newer or hints != self._hints_seen):
                return False
            # A newer version; else the last good one again (its folder rewritten if pruned)
            folder = self.folder(version if newer or self.loaded is None else self.loaded)[1]
            # Rebuilt for taught questions while a newer version is refused: still refused.
            still = self._refused_problems if not newer and self.refused is not None else ()
            problems = self.live.reload(folder, still_refused=still)
            self._hints_seen = hints
            if problems:
                self.refused, self._refused_problems = version, problems
                kb_changes.record_refusal(self.store, problems, actor="protocol-bot",
                                          source=f"knowledge version {version}")
                return True
            if newer:
                self.loaded, self.refused = version, None
                self.live.version = version
                self._prune(keep=version)
            return True


def live_knowledge(config: Config, store, facts, hints) -> LiveKnowledge:
    """The running bot's knowledge from the database (seeded on first use), kept current by
    KnowledgeListener."""
    from .index_cache import data_dir
    from .live import LiveKnowledge

    database = DatabaseKnowledge.for_config(config, store)
    signature = database.hints_signature()  # before building: a teach meanwhile is not missed
    latest = database.current()
    refused: KnowledgeError | None = None
    # The latest version, or (when this release cannot load it) the newest one before it that
    # loads: an instance started while a bad version is the latest still answers.
    for version in range(latest, max(0, latest - START_FALLBACK), -1):
        try:
            live = LiveKnowledge(database.folder(version)[1], facts, cache_dir=data_dir(config),
                                 hints=hints)
        except KnowledgeError as exc:
            refused = refused or exc
            continue
        database.attach(live, version, signature)
        if refused is not None:
            database.refused, database._refused_problems = latest, list(refused.problems)
            live.last_problems = list(refused.problems)
            kb_changes.record_refusal(store, live.last_problems, actor="protocol-bot",
                                      source=f"knowledge version {latest}, at start-up; "
                                             f"answering from version {version}")
        return live
    raise refused if refused is not None else KnowledgeError([])


class KnowledgeListener:
    """LISTENs for new versions (and taught questions) in a daemon thread, and polls every
    POLL_SECONDS as a safety net; reconnects after the server goes away. Same start/stop as
    the folder watcher."""

    def __init__(self, database: DatabaseKnowledge, poll: float = POLL_SECONDS):
        self.database = database
        self.poll = poll
        self.notified = 0  # notifications received (for tests and the log)
        self.backend_pid: int | None = None  # the listening connection's server process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> bool:
        try:
            return self.database.sync()
        except Exception:  # the database is away: look again next time
            log.exception("knowledge check failed; will look again")
            return False

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self.database.store.url, autocommit=True,
                             connect_timeout=10, application_name="protocol-bot-listen") as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            self.check_once()  # anything published while not listening
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=self.poll, stop_after=1):
                    self.notified += 1
                if not self._stop.is_set():
                    self.check_once()

    def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._listen()
            except Exception as exc:  # the server restarted, the network dropped...
                log.warning("knowledge listener lost its connection (%s); reconnecting", exc)
            if time.monotonic() - started > 60:
                delay = 1.0
            self.check_once()
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)

    def start(self) -> "KnowledgeListener":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="knowledge-listener",
                                            daemon=True)
            self._thread.start()
            log.info("listening for knowledge versions (and polling every %.0f s)", self.poll)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll + 5)
            self._thread = None


def open_database_knowledge(config: Config):
    """For CLI commands: (store, DatabaseKnowledge) when PROTOCOL_BOT_DB is PostgreSQL, else
    None. The caller closes the store."""
    if not config.db_url:
        return None
    from .stores import open_store

    store = open_store(config)
    return store, DatabaseKnowledge.for_config(config, store)


def command_knowledge(config: Config) -> Path:
    """The folder a CLI command reads when --knowledge is not given: the database's latest
    version (PostgreSQL), else the council's folder or the shipped documents."""
    from .datadir import readable_knowledge

    opened = open_database_knowledge(config)
    if opened is None:
        return readable_knowledge(config)
    store, database = opened
    try:
        return database.folder()[1]
    finally:
        store.close()
