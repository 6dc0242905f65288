"""The running bot's knowledge: answers from the current index, swapped atomically on reload."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .about_bot import BotFacts
from .answering import Answerer
from .knowledge import KnowledgeBase, KnowledgeError, Problem
from .models import Answer, Citation

log = logging.getLogger(__name__)

Hints = Callable[[], Mapping[str, Sequence[str]]]


class LiveKnowledge:
    """Holds the last good index; a broken edit is refused and the old index keeps answering.

    `cache_dir`, when given, is where the built index is cached (see index_cache.py).
    `hints`: questions the MO taught, by passage key ('document_id#ref'), read from the store
    each time the index is built and added to those passages' `questions:`.
    """

    def __init__(self, knowledge_dir: Path, facts: BotFacts = BotFacts(),
                 cache_dir: Path | None = None, hints: Hints | None = None):
        self.knowledge_dir = Path(knowledge_dir)
        self.facts = facts
        self.cache_dir = cache_dir
        self.hints = hints
        self._lock = threading.Lock()
        # Why the last reload was refused (empty once a reload succeeds): the bot is answering
        # from an older version than the files on disk. /healthz shows these.
        self.last_problems: list[Problem] = []
        # With PostgreSQL: the DatabaseKnowledge keeping this index on the latest version
        # (kb_versions.py), and that version's number; else the folder's content hash.
        self.database = None
        self.version: int | str = ""
        # The knowledge as the files hold it (change records compare files, not taught hints).
        self._answerer, self.files_kb = self._build(self.knowledge_dir)

    @classmethod
    def for_config(cls, config, hints: Hints | None = None, store=None) -> "LiveKnowledge":
        """The running bot's knowledge: the council's folder, created on first run; its index
        cached in the data directory. With PostgreSQL (and its `store`): the database's latest
        knowledge version (kb_versions.py)."""
        from .datadir import council_knowledge
        from .index_cache import data_dir

        facts = BotFacts(log_retention_days=config.log_retention_days,
                         logs_identity=config.log_keep_identity)
        if getattr(config, "db_url", None) and store is not None:
            from .kb_versions import live_knowledge

            return live_knowledge(config, store, facts, hints)
        return cls(council_knowledge(config), facts, cache_dir=data_dir(config), hints=hints)

    def _build(self, folder: Path) -> tuple[Answerer, KnowledgeBase]:
        """The folder's answerer (from the cache when unchanged), with taught hints added;
        KnowledgeError when the folder is invalid."""
        from .index_cache import folder_key, load_folder

        answerer = load_folder(folder, self.facts, self.cache_dir)
        if self.database is None:
            self.version = "sha-" + folder_key(folder)[:16]
        files_kb = answerer.kb
        extra = self._hints()
        if extra:
            answerer = Answerer(with_hints(files_kb, extra), self.facts)
        return answerer, files_kb

    def _hints(self) -> Mapping[str, Sequence[str]]:
        if self.hints is None:
            return {}
        try:
            return self.hints()
        except Exception:  # the store is unavailable: answer from the files alone
            log.exception("taught questions could not be read; answering without them")
            return {}

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
                                edition=self._answerer.editions.label(doc.id) if doc else "",
                                ref=passage.ref,
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
        found += [c.key for c in ranked]
        keys = list(dict.fromkeys(found))[:limit]
        return list(zip(keys, self.labels(keys)))

    def reload(self, knowledge_dir: Path | None = None,
               still_refused: Sequence[Problem] = ()) -> list[Problem]:
        """Validate the knowledge directory (or `knowledge_dir`, which then becomes it: a new
        knowledge version) and swap the index in. Returns the problems, if any.

        On problems nothing changes: the bot goes on answering from the last good index.
        `still_refused`: a newer version's problems that stay reported after this rebuild (set
        with the swap, so nobody sees the new index without them).
        """
        folder = self.knowledge_dir if knowledge_dir is None else Path(knowledge_dir)
        try:
            answerer, files_kb = self._build(folder)
        except KnowledgeError as exc:
            log.warning("knowledge reload refused: %d problem(s)", len(exc.problems))
            self.last_problems = list(exc.problems)
            return list(exc.problems)
        with self._lock:
            self._answerer = answerer
            self.files_kb = files_kb
            self.knowledge_dir = folder
            self.last_problems = list(still_refused)
        log.info("knowledge reloaded: %d passages", len(files_kb.passages))
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
