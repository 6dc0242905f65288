"""Answers a question with the passages that answer it, best first, or says it cannot."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from .analyzer import Analyzer
from .editions import EditionRules
from .index import SearchIndex, word_pairs
from .knowledge import KnowledgeBase
from .models import Answer, Citation, Escalation, Passage

MAX_QUESTION_CHARS = 2000
MAX_CITATIONS = 3

# At similar relevance the council's own protocol comes first, then the monitoring officer's
# answers, then current national guidance, then superseded editions and background papers.
AUTHORITY = {"protocol": 1.15, "faq": 1.1, "guidance": 1.0, "background": 0.6}
SUPERSEDED_WEIGHT = 0.8

# A further citation must be at least this share of the best one's score to be shown.
FOLLOWER_SHARE = 0.3
# Confidence is decided from bounded evidence, never from a raw BM25 score alone (BM25 scores
# are not comparable across questions). Answered only when the best passage covers at least
# MIN_COVERAGE of the idf-weighted question words the knowledge base knows, under
# MAX_UNKNOWN_SHARE of the question's words are unknown to it, no off-topic word (synonyms.yaml)
# goes unmatched. Calibrated with `protocol-bot eval` (see README).
MIN_COVERAGE = 0.25
MAX_UNKNOWN_SHARE = 0.5
# Two passages whose term sets overlap this much say the same thing (Jaccard).
SAME_TEXT = 0.55
SUCCESSOR_PROBES = 8

SENSITIVE_TERMS = frozenset({"bulli", "harass", "complaint", "grievanc", "whistleblow",
                             "disciplinari", "victimis", "discrimin"})
# A question that names a document ("under our protocol", "what does the LGA workbook say")
# says where to look: that document's passages weigh this much more, and the naming words
# stop counting as what the question is about.
NAMED_WEIGHT = 1.3
# Small talk, the whole message: greetings, thanks, "how's your day going?".
_SMALL_TALK = re.compile(
    r"^\W*((hi|hello|hey|hiya|yo|good (morning|afternoon|evening|day))\W*(there|bot|all)?\W*)*"
    r"((how are (you|things)( doing)?( today)?|how'?s (it going|things|your day( going)?|life)"
    r"|what'?s up|thanks?( you)?( very much)?( for (that|your help))?|cheers|bye|goodbye|"
    r"see you|ok(ay)?|great|nice one)\W*)*$", re.I)
_ABOUT_EXERCISE = re.compile(r"\b(exercises?|challenge\s*(\d+|one|two|three|four|five|six|seven"
                             r"|eight|nine)|appendix)\b", re.I)

LEAD_CHARS = 300
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"\u201c])|\n")

NOT_FOUND = "I couldn't find this in the protocol or the guidance I hold."
SENSITIVE_LEAD = ("This may concern a complaint or a person's conduct: you can speak to the "
                  "monitoring officer privately.")


class EmptyQuestion(ValueError):
    pass


class Answerer:
    """Built once per knowledge base; `answer` is pure and safe to call from many threads."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.analyzer = Analyzer(kb.synonyms)
        self.index = SearchIndex(kb.passages, self.analyzer)
        superseded = kb.superseded()
        self._weights = np.asarray([
            AUTHORITY.get(kb.documents[p.document_id].kind, 1.0)
            * (SUPERSEDED_WEIGHT if p.document_id in superseded else 1.0) for p in kb.passages])
        self._aliases = [(doc.id, re.compile(r"(?<!\w)" + r"[\s/-]+".join(
                              re.escape(w) for w in alias.lower().split()) + r"(?!\w)"),
                          frozenset(self.analyzer.terms(alias)))
                         for doc in kb.documents.values() for alias in doc.aliases]
        self._doc_ids = np.asarray([p.document_id for p in kb.passages])
        self._exercises = np.asarray([p.type == "exercise" for p in kb.passages], dtype=bool)
        # What a passage says (heading and text, not its search hints): to tell editions apart.
        self._content = self.index.content_terms
        self._successor = self._find_successors(superseded)
        self._successor_docs = frozenset(superseded)
        self.editions = EditionRules(kb, self.analyzer)  # issue 10: replaced clauses, labels

    def _find_successors(self, superseded: dict[str, str]) -> dict[int, int]:
        """Superseded passage -> the current edition's passage that says the same thing."""
        passages = self.kb.passages
        out: dict[int, int] = {}
        for old, passage in enumerate(passages):
            new_doc = superseded.get(passage.document_id)
            if not new_doc:
                continue
            # Only passages sharing one of this passage's rarest words can say the same thing.
            rare = sorted(self._content[old], key=self.index.idf, reverse=True)[:SUCCESSOR_PROBES]
            hits = self.index.search(rare, limit=SUCCESSOR_PROBES)
            candidates = [h.position for h in hits if passages[h.position].document_id == new_doc]
            best = max(candidates, default=None, key=lambda new: self._similarity(old, new))
            if best is not None and self._similarity(old, best) >= SAME_TEXT:
                out[old] = best
        return out

    def _similarity(self, a: int, b: int) -> float:
        ta, tb = self._content[a], self._content[b]
        return len(ta & tb) / max(1, len(ta | tb))

    def answer(self, question: str, today: dt.date | None = None) -> Answer:
        question = (question or "").strip()
        if not question:
            raise EmptyQuestion("Please type a question, for example: "
                                "'Can I ask an officer to help with party political work?'")
        truncated = len(question) > MAX_QUESTION_CHARS
        if truncated:
            question = question[:MAX_QUESTION_CHARS]
        terms, chosen = self._search(question)
        sensitive = bool(SENSITIVE_TERMS & set(terms))
        answered = bool(chosen) and self.confident(question, terms, chosen[0][1])
        citations = tuple(self._cite(position, score) for score, position in chosen) if answered else ()
        notices = self._notices(citations, today or dt.date.today())
        if truncated:
            notices = (f"Your question was long: I answered from its first {MAX_QUESTION_CHARS} "
                       "characters.",) + notices
        if answered:
            lead = f"{citations[0].label()}: \u201c{self.key_sentence(citations[0].text, terms)}\u201d"
            reason = "sensitive" if sensitive else "available"
        else:
            lead = NOT_FOUND + " You can ask the monitoring officer."
            reason = "not_found"
        if sensitive:
            lead = f"{SENSITIVE_LEAD} {lead}"
        return Answer(question=question, answered=answered, lead=lead, citations=citations,
                      escalation=Escalation(offered=True, reason=reason,
                                            prominent=not answered or sensitive),
                      notices=notices, sensitive=sensitive, truncated=truncated)

    def ranked_citations(self, question: str) -> tuple[Citation, ...]:
        """The citations the bot would give if it were confident (for evaluation)."""
        _, chosen = self._search(question[:MAX_QUESTION_CHARS])
        return tuple(self._cite(p, s) for s, p in chosen)

    def _search(self, question: str) -> tuple[list[str], list[tuple[float, int]]]:
        """The question's terms and the chosen (score, passage position) pairs, best first."""
        terms, extra = self.analyzer.query_terms(question)
        about_exercise = bool(_ABOUT_EXERCISE.search(question))
        weights = self._weights
        named, naming_terms = self._named_documents(question)
        if named:
            terms = [t for t in terms if t not in naming_terms] or terms
            weights = weights * np.where(np.isin(self._doc_ids, list(named)), NAMED_WEIGHT, 1.0)
        # Editions (editions.py): "the 2026 protocol"/"the old protocol" keeps that edition's words.
        terms, weights, old_named = self.editions.adjust(question, terms, weights)
        hits = self.index.search(terms, extra, exclude=None if about_exercise else self._exercises,
                                 pairs=word_pairs(self.analyzer.terms(question)))
        ranked = sorted(((h.relevance * float(weights[h.position]), h.position) for h in hits),
                        key=lambda sp: -sp[0])
        ranked = self.editions.drop_replaced(ranked, keep=old_named)  # never a replaced clause
        # Someone asking about "the 2012 workbook" wants that edition's words, not its successor's.
        words = set(re.findall(r"\w+", question.lower()))
        named = {doc_id for doc_id in self._successor_docs
                 if self.kb.documents[doc_id].edition.lower() in words}
        return terms, self._choose(ranked, keep=named | old_named)

    def key_sentence(self, text: str, terms: list[str]) -> str:
        """The passage's sentence (or list item) that best matches the question, word for word.

        The lead line quotes it so the short answer is the source's own words, never ours.
        """
        wanted = set(terms)
        best, best_score = "", -1.0
        for sentence in _SENTENCE.split(text):
            sentence = sentence.strip().removeprefix("- ").strip()
            if len(sentence) < 12:
                continue
            score = sum(self.index.idf(t) for t in wanted & set(self.analyzer.terms(sentence)))
            if score > best_score:
                best, best_score = sentence, score
        if len(best) > LEAD_CHARS:
            best = best[:LEAD_CHARS].rsplit(" ", 1)[0] + " ..."
        return best

    def confident(self, question: str, terms: list[str], position: int) -> bool:
        """Is the best passage really an answer to the question? (see MIN_COVERAGE)"""
        known = [t for t in terms if self.index.knows(t)]
        if _SMALL_TALK.match(question):
            return False
        if not known or len(known) < len(terms) * (1 - MAX_UNKNOWN_SHARE):
            return False
        if self.analyzer.off_topic_terms(self.analyzer.terms(question)) - self._content[position]:
            return False
        return self.coverage(known, position) >= MIN_COVERAGE

    def coverage(self, terms: list[str], position: int) -> float:
        """Share of the terms' idf weight that the passage contains."""
        if not terms:
            return 0.0
        total = sum(self.index.idf(t) for t in terms)
        found = sum(self.index.idf(t) for t in terms if t in self.index.terms[position])
        return found / total

    def _named_documents(self, question: str) -> tuple[set[str], set[str]]:
        """The documents a question names by one of their aliases, and the naming words."""
        lowered = question.lower().replace("\u2019", "'")
        named: set[str] = set()
        words: set[str] = set()
        for doc_id, pattern, alias_terms in self._aliases:
            if pattern.search(lowered):
                named.add(doc_id)
                words |= alias_terms
        return named, words

    def _choose(self, ranked: list[tuple[float, int]], keep: set[str] = frozenset()
                ) -> list[tuple[float, int]]:
        """Up to MAX_CITATIONS passages, each saying something the others do not.

        A superseded passage is replaced by its successor's, unless its document is in `keep`.
        """
        chosen: list[tuple[float, int]] = []
        for score, position in ranked:
            if self.kb.passages[position].document_id not in keep:
                position = self._successor.get(position, position)
            if chosen and score < FOLLOWER_SHARE * chosen[0][0]:
                break
            if any(position == p or self._similarity(position, p) >= SAME_TEXT for _, p in chosen):
                continue
            chosen.append((score, position))
            if len(chosen) == MAX_CITATIONS:
                break
        return chosen

    def _cite(self, position: int, score: float) -> Citation:
        passage: Passage = self.kb.passages[position]
        doc = self.kb.documents[passage.document_id]
        return Citation(document_id=doc.id, document=doc.title, edition=self.editions.label(doc.id),
                        ref=passage.ref, heading=passage.heading, text=passage.text,
                        score=score, kind=doc.kind, type=passage.type)

    def _notices(self, citations: tuple[Citation, ...], today: dt.date) -> tuple[str, ...]:
        out = []
        for doc_id in dict.fromkeys(c.document_id for c in citations):
            doc = self.kb.documents[doc_id]
            if (doc.kind == "protocol" and doc.review and doc.review < today
                    and doc_id not in self.editions.successor):  # replaced: labelled so
                out.append(f"The {doc.title} ({doc.edition}) was due for review by "
                           f"{doc.review:%d %B %Y}; please check with the monitoring officer "
                           "that it is still current.")
        return tuple(out)
