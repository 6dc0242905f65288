"""Shared fixtures: the shipped knowledge base, loaded once, and throwaway copies of it; the
stores, SQLite and PostgreSQL, through one parametrised fixture."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from protocol_bot.answering import Answerer
from protocol_bot.config import SHIPPED_KNOWLEDGE
from protocol_bot.knowledge import load_knowledge
from tests import pg_support

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO.parent / "shared" / "sources"


@pytest.fixture(scope="session")
def shipped_kb():
    return load_knowledge(SHIPPED_KNOWLEDGE)


@pytest.fixture(scope="session")
def answerer(shipped_kb):
    return Answerer(shipped_kb)


@pytest.fixture
def knowledge_copy(tmp_path) -> Path:
    """A copy of the shipped knowledge base that a test may edit."""
    target = tmp_path / "knowledge"
    shutil.copytree(SHIPPED_KNOWLEDGE, target)
    return target


class StoreFactory:
    """Fresh stores of one kind for a test: `make()` a new database each call; `setting()`
    a new database's PROTOCOL_BOT_DB value (for subprocesses); `open(setting)` another
    connection to one. Every PostgreSQL database is its own schema, dropped afterwards."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self.tmp_path = tmp_path
        self._count = itertools.count(1)
        self._schemas: list[str] = []
        self._opened: list = []

    def setting(self) -> str:
        if self.kind == "sqlite":
            folder = self.tmp_path / f"store-{next(self._count)}"
            folder.mkdir()  # SqliteStore creates the file, never its folder
            return str(folder / "bot.db")
        name, url = pg_support.create_schema()
        self._schemas.append(name)
        return url

    def open(self, setting: str, clock=None):
        kwargs = {"clock": clock} if clock is not None else {}
        if self.kind == "sqlite":
            from protocol_bot.sqlite_store import SqliteStore

            store = SqliteStore(setting, **kwargs)
        else:
            from protocol_bot.pg_store import PgStore

            store = PgStore(setting, min_size=1, max_size=4, **kwargs)
        self._opened.append(store)
        return store

    def make(self, clock=None):
        return self.open(self.setting(), clock)

    __call__ = make

    def cleanup(self) -> None:
        for store in self._opened:
            try:
                store.close()
            except Exception:
                pass
        for name in self._schemas:
            pg_support.drop_schema(name)


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request, tmp_path):
    """Makes stores of each kind in turn: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        pg_support.require_pg()
    factory = StoreFactory(request.param, tmp_path)
    yield factory
    factory.cleanup()


@pytest.fixture
def pg_factory(tmp_path):
    """PostgreSQL stores only, for what only PostgreSQL does (several instances)."""
    pg_support.require_pg()
    factory = StoreFactory("postgres", tmp_path)
    yield factory
    factory.cleanup()
