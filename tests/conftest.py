"""Shared fixtures: the shipped knowledge base, loaded once, and throwaway copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from protocol_bot.answering import Answerer
from protocol_bot.config import SHIPPED_KNOWLEDGE
from protocol_bot.knowledge import load_knowledge

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
