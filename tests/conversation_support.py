"""Builds the conversation service for tests: the shipped (or given) knowledge, a real store."""

from __future__ import annotations

from pathlib import Path

from protocol_bot.config import SHIPPED_KNOWLEDGE
from protocol_bot.conversation import Conversation
from protocol_bot.delivery import Deliveries
from protocol_bot.desk import Desk, taught_hints
from protocol_bot.live import LiveKnowledge
from protocol_bot.sqlite_store import SqliteStore

_SHIPPED: LiveKnowledge | None = None


def shipped_knowledge() -> LiveKnowledge:
    """The shipped knowledge, built once per test session (read-only, so safe to share)."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = LiveKnowledge(SHIPPED_KNOWLEDGE)
    return _SHIPPED


def make_conversation(mos=(), knowledge: LiveKnowledge | None = None, store=None,
                      knowledge_dir: Path | None = None, clock=None) -> Conversation:
    """A conversation service on SqliteStore(":memory:") unless a store is given."""
    if store is None:
        store = SqliteStore(":memory:", **({"clock": clock} if clock else {}))
    if knowledge is None:  # a knowledge folder of its own learns taught questions from `store`
        knowledge = (LiveKnowledge(knowledge_dir, hints=lambda: taught_hints(store))
                     if knowledge_dir else shipped_knowledge())
    desk = Desk(store, knowledge, frozenset(mos),
                knowledge_dir=knowledge_dir or getattr(knowledge, "knowledge_dir", None))
    return Conversation(knowledge, desk, store, store, Deliveries(store, notify=desk.notify_mos))
