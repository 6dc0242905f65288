"""Watches the knowledge folder and reloads the running bot when its files change."""

from __future__ import annotations

import json
import logging
import pwd
import threading
import time
from pathlib import Path

from . import kb_changes
from .store import Audit

log = logging.getLogger(__name__)

# `protocol-bot kb reload` touches this file (with who asked) so running bots reload at once.
RELOAD_REQUEST = ".reload-requested"
# A change must sit still this long before it is read: editors save in several steps.
SETTLE_SECONDS = 0.3


def request_reload(knowledge_dir: Path, actor: str) -> Path:
    """Ask every running bot watching `knowledge_dir` to reload (used by `kb reload`)."""
    path = Path(knowledge_dir) / RELOAD_REQUEST
    path.write_text(json.dumps({"by": actor, "at": time.time()}) + "\n", encoding="utf-8")
    return path


def _signature(directory: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path in [*kb_changes.knowledge_files(directory), directory / RELOAD_REQUEST]:
        try:
            st = path.stat()
        except OSError:
            continue
        out[str(path.relative_to(directory))] = (st.st_mtime_ns, st.st_size)
    return out


def _who(directory: Path, changed: list[str]) -> str:
    """Best knowledge of who made a change: the requester, else the changed files' owners."""
    request = directory / RELOAD_REQUEST
    if RELOAD_REQUEST in changed and request.is_file() and request.stat().st_size < 65536:
        try:  # only an ordinary, small file: a pipe or device here must not stall the watcher
            return str(json.loads(request.read_text())["by"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    owners = set()
    for name in changed:
        try:
            owners.add(pwd.getpwuid((directory / name).stat().st_uid).pw_name)
        except (OSError, KeyError):
            continue
    return "file-owner:" + ",".join(sorted(owners)) if owners else "unknown"


class KnowledgeWatcher:
    """Polls file modification times (every ~2 s) in a daemon thread and reloads on change.

    Polling needs no extra dependency and works on network shares where inotify does not.
    """

    def __init__(self, knowledge, store: Audit | None = None, interval: float = 2.0):
        self.knowledge = knowledge
        self.store = store
        self.interval = interval
        self.directory = Path(knowledge.knowledge_dir)
        self._seen = _signature(self.directory)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> bool:
        """Reload if anything changed since the last look. True when a reload was attempted."""
        current = _signature(self.directory)
        if current == self._seen:
            return False
        time.sleep(SETTLE_SECONDS)
        settled = _signature(self.directory)
        if settled != current:
            return False  # still being written: look again next time
        changed = sorted(k for k in current.keys() | self._seen.keys()
                         if current.get(k) != self._seen.get(k))
        self._seen = current
        actor = _who(self.directory, changed)
        log.info("knowledge files changed (%s), by %s: reloading", ", ".join(changed), actor)
        kb_changes.reload_live(self.knowledge, self.store, actor=actor, source="watcher")
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception:  # a watcher that dies silently would leave the bot stale
                log.exception("knowledge watcher pass failed; will look again")

    def start(self) -> "KnowledgeWatcher":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="knowledge-watcher",
                                            daemon=True)
            self._thread.start()
            log.info("watching %s for knowledge changes every %.0f s", self.directory,
                     self.interval)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None


def start_watching(knowledge, audit: Audit, interval: float = 2.0):
    """For the server: watch the live knowledge's folder, recording changes in the audit trail;
    with PostgreSQL, listen for the database's knowledge versions instead (kb_versions.py)."""
    if getattr(knowledge, "database", None) is not None:
        from .kb_versions import KnowledgeListener

        return KnowledgeListener(knowledge.database).start()
    # Edits made while the bot was stopped are recorded too.
    kb_changes.record_state(audit, knowledge.knowledge_dir, knowledge.answerer.kb,
                            actor="bot-start", source="startup")
    return KnowledgeWatcher(knowledge, audit, interval).start()
