"""The running bot's knowledge: answers from the current index, swapped atomically on reload."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .about_bot import BotFacts
from .answering import Answerer
from .knowledge import KnowledgeError, Problem
from .models import Answer

log = logging.getLogger(__name__)


class LiveKnowledge:
    """Holds the last good index; a broken edit is refused and the old index keeps answering.

    `cache_dir`, when given, is where the built index is cached (see index_cache.py).
    """

    def __init__(self, knowledge_dir: Path, facts: BotFacts = BotFacts(),
                 cache_dir: Path | None = None):
        self.knowledge_dir = Path(knowledge_dir)
        self.facts = facts
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        from .index_cache import load_folder
        self._answerer = load_folder(self.knowledge_dir, facts, cache_dir)

    @property
    def answerer(self) -> Answerer:
        return self._answerer

    def ask(self, question: str) -> Answer:
        return self._answerer.answer(question)

    def reload(self) -> list[Problem]:
        """Validate the knowledge directory and swap the index in. Returns the problems, if any.

        On problems nothing changes: the bot goes on answering from the last good index.
        """
        from .index_cache import load_folder
        try:
            answerer = load_folder(self.knowledge_dir, self.facts, self.cache_dir)
        except KnowledgeError as exc:
            log.warning("knowledge reload refused: %d problem(s)", len(exc.problems))
            return list(exc.problems)
        with self._lock:
            self._answerer = answerer
        log.info("knowledge reloaded: %d passages", len(answerer.kb.passages))
        return []
