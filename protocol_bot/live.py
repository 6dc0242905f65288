"""The running bot's knowledge: answers from the current index, swapped atomically on reload."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .answering import Answerer
from .knowledge import KnowledgeBase, KnowledgeError, Problem, load_knowledge
from .models import Answer, Citation

log = logging.getLogger(__name__)


class LiveKnowledge:
    """Holds the last good index; a broken edit is refused and the old index keeps answering."""

    def __init__(self, knowledge_dir: Path,
                 hints: Callable[[], Mapping[str, Sequence[str]]] | None = None):
        """`hints`: questions the MO taught, by passage key ('document_id#ref'), read from the
        store each time the index is built and added to those passages' `questions:`."""
        self.knowledge_dir = Path(knowledge_dir)
        self.hints = hints
        self._lock = threading.Lock()
        # The knowledge as the files hold it (change records compare files, not taught hints).
        self.files_kb = load_knowledge(self.knowledge_dir)
        self._answerer = Answerer(self._with_hints(self.files_kb))
        # Why the last reload was refused (empty once a reload succeeds): the bot is answering
        # from an older version than the files on disk. /healthz shows these.
        self.last_problems: list[Problem] = []

    @classmethod
    def for_config(cls, config, hints=None) -> "LiveKnowledge":
        """The running bot's knowledge: the council's folder, created on first run."""
        from .datadir import council_knowledge

        return cls(council_knowledge(config), hints=hints)

    def _with_hints(self, kb: KnowledgeBase) -> KnowledgeBase:
        if self.hints is None:
            return kb
        try:
            extra = self.hints()
        except Exception:  # the store is unavailable: answer from the files alone
            log.exception("taught questions could not be read; answering without them")
            return kb
        return with_hints(kb, extra)

    @property
    def answerer(self) -> Answerer:
        return self._answerer

    def ask(self, question: str) -> Answer:
        return self._answerer.answer(question)

    def citation(self, key: str) -> Citation | None:
        """The passage 'document_id#ref' as a Citation (for showing it in full), or None."""
        kb = self._answerer.kb
        for passage in kb.passages:
            if passage.key == key:
                doc = kb.documents.get(passage.document_id)
                return Citation(document_id=passage.document_id,
                                document=doc.title if doc else "",
                                edition=doc.edition if doc else "", ref=passage.ref,
                                heading=passage.heading, text=passage.text, score=0.0,
                                kind=doc.kind if doc else "protocol", type=passage.type)
        return None

    def labels(self, keys) -> list[str]:
        """'mor-protocol-2026#2.3' -> 'Member/Officer Relations Protocol (2026), clause 2.3'."""
        found = {key: self.citation(key) for key in keys}
        return [c.label() if c else key for key, c in found.items()]

    def considered(self, question: str, keys=(), limit: int = 5) -> list[tuple[str, str]]:
        """The passages the bot considered for a question, as ('document_id#ref', label):
        what it cited (`keys`), then what it ranked highest (also when it declined)."""
        found = [k for k in keys if self.citation(k) is not None]
        try:
            ranked = self._answerer.ranked_citations(question) if question.strip() else ()
        except Exception:
            log.exception("could not rank passages for a ticket card")
            ranked = ()
        found += [f"{c.document_id}#{c.ref}" for c in ranked]
        keys = list(dict.fromkeys(found))[:limit]
        return list(zip(keys, self.labels(keys)))

    def reload(self) -> list[Problem]:
        """Validate the knowledge directory and swap the index in. Returns the problems, if any.

        On problems nothing changes: the bot goes on answering from the last good index.
        """
        try:
            kb = load_knowledge(self.knowledge_dir)
        except KnowledgeError as exc:
            log.warning("knowledge reload refused: %d problem(s)", len(exc.problems))
            self.last_problems = list(exc.problems)
            return list(exc.problems)
        answerer = Answerer(self._with_hints(kb))
        with self._lock:
            self._answerer = answerer
            self.files_kb = kb
            self.last_problems = []
        log.info("knowledge reloaded: %d passages", len(kb.passages))
        return []


def with_hints(kb: KnowledgeBase, hints: Mapping[str, Sequence[str]]) -> KnowledgeBase:
    """The knowledge base with taught questions added to their passages' `questions:` hints
    (a passage no longer in the knowledge base simply gets none)."""
    if not hints:
        return kb
    passages = tuple(
        dataclasses.replace(p, questions=tuple(dict.fromkeys((*p.questions, *hints[p.key]))))
        if p.key in hints else p for p in kb.passages)
    return dataclasses.replace(kb, passages=passages)
