"""Editions as a lawyer reads them.

A protocol is binding; guidance is advice. When a new edition of the protocol is adopted, the
old edition's clauses stop being the rule: a clause the new edition removed or replaced is never
cited for a general question. It is cited only when the question names the old edition ("the
2026 protocol", "the old protocol", "what did it say before"), and is then labelled
"(2026, replaced by 2027)". Superseded guidance (the 2012 workbook) is still advice and may be
cited, labelled "(2012, superseded by 2024)".

`EditionRules` is the answerer's hook; `compare` is the clause-by-clause comparison that
`kb import` shows before a new edition is published.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np

from .knowledge import KnowledgeBase

# A question naming an old edition wants its words first: its passages weigh this much more.
OLD_NAMED_WEIGHT = 3.0
# "Which version of the protocol is current?": the current protocol's version table.
VERSION_TABLE_WEIGHT = 3.0
# Text this similar (difflib ratio, 0..1) is "nearly unchanged": its search hints carry over.
NEARLY_SAME = 0.9

# Words that name a document, not a person: "the old protocol", never "a former councillor".
_NOUNS = r"(?:protocols?|workbooks?|guidance|guides?|editions?|versions?|cop(?:y|ies)|documents?|" \
         r"rules|handbooks?|codes?|polic(?:y|ies))"
_GENERIC = ("edition", "version", "copy", "copie", "document", "rule", "code", "polic")
_OLD = re.compile(r"\b(?:old|older|previous|earlier|former|superseded|replaced|outgoing|prior|"
                  r"last year'?s)\s+(?:(?:version|edition|copy)\s+of\s+(?:the\s+|our\s+)?)?"
                  r"(?:[a-z/-]+\s+){0,2}?(?P<what>" + _NOUNS + r")\b")
# "What did it say before?", "before it was changed": never "officers say no, what should I do
# before I lose my temper?".
_BEFORE = re.compile(r"\b(?:used to (?:say|read)|(?:say|said|read|was it)\s+before\b(?!\s+(?:i|we|you|"
                     r"they|he|she)\b)|before (?:it|the (?:protocol|clause|rule|change|revision)) "
                     r"(?:was )?(?:changed|revised|updated|amended)|before the (?:change|revision|update))\b")
_NAMING_WORDS = "old older previous earlier former superseded replaced outgoing prior say said " \
                "says read before used edition version copy changed revised updated amended change " \
                "revision update"
_CURRENT_VERSION = re.compile(r"\b(?:(?:which|what)\b[^?]*\b(?:version|edition)\b[^?]*\b(?:current|"
                              r"latest|in force|newest|up to date)|(?:current|latest|newest)\s+"
                              r"(?:version|edition))\b")


def successors(kb: KnowledgeBase) -> dict[str, str]:
    """Superseded document id -> the id of the edition that replaced it (supersedes or
    superseded_by, whichever the files say)."""
    out = dict(kb.superseded())
    for doc in kb.documents.values():
        newer = getattr(doc, "superseded_by", None)
        if newer and newer in kb.documents and doc.id not in out:
            out[doc.id] = newer
    return out


def is_protocol_lineage(kb: KnowledgeBase, doc_id: str, succ: dict[str, str]) -> bool:
    doc = kb.documents[doc_id]
    newer = kb.documents.get(succ.get(doc_id, ""))
    return doc.kind == "protocol" or (newer is not None and newer.kind == "protocol")


class EditionRules:
    """Built once per knowledge base, beside the index; cheap per question."""

    def __init__(self, kb: KnowledgeBase, analyzer):
        self.kb = kb
        self.analyzer = analyzer
        self.successor = successors(kb)
        self.replaced = {d for d in self.successor if is_protocol_lineage(kb, d, self.successor)}
        self._doc_ids = np.asarray([p.document_id for p in kb.passages])
        self._blocked = np.asarray([p.document_id in self.replaced for p in kb.passages], dtype=bool)
        self._naming_terms = frozenset(analyzer.terms(_NAMING_WORDS))
        current_protocols = {d.id for d in kb.documents.values()
                             if d.kind == "protocol" and d.id not in self.successor}
        self._version_tables = np.asarray([
            p.document_id in current_protocols and p.type == "table" and "version" in
            f"{p.ref} {p.heading}".lower() for p in kb.passages], dtype=bool)
        # Its edition's words, so the lead line quotes the current edition's row of the table.
        self._current_terms = []
        for d in sorted(current_protocols):
            doc = kb.documents[d]
            adopted = f" {doc.adopted.day}.{doc.adopted.month}.{doc.adopted.year}" if doc.adopted else ""
            self._current_terms += analyzer.terms(doc.edition + adopted)
        self._current_terms = list(dict.fromkeys(self._current_terms))
        # The edition a question means by "the old protocol": the one the current protocol replaced.
        self._predecessors = {old for old, new in self.successor.items() if new not in self.successor}

    def label(self, doc_id: str) -> str:
        """The edition as a citation shows it: '2026', '2026, replaced by 2027'."""
        doc = self.kb.documents[doc_id]
        newer = self.kb.documents.get(self.successor.get(doc_id, ""))
        if newer is None:
            return doc.edition
        word = "replaced" if doc_id in self.replaced else "superseded"
        return f"{doc.edition}, {word} by {newer.edition}"

    def named_old(self, question: str) -> tuple[set[str], set[str]]:
        """The superseded editions a question names, and the words that name them."""
        lowered = question.lower().replace("\u2019", "'")
        named: set[str] = set()
        naming: set[str] = set()
        for old in self.successor:
            edition = self.kb.documents[old].edition.lower()
            ed = r"(?<![\w.-])" + re.escape(edition) + r"(?![\w-])"
            # "the 2026 protocol", "the 2012 member officer workbook", "the protocol of 2026"
            if edition and re.search(ed + r"(?:\W+[\w/-]+){0,3}?\W+" + _NOUNS + r"\b|\b" + _NOUNS
                                     + r"\W+(?:[\w/-]+\W+){0,2}?" + ed, lowered):
                named.add(old)
                naming |= set(self.analyzer.terms(edition))
        for match in _OLD.finditer(lowered):
            what = match.group("what").strip("/-")
            hits = {d for d in self._predecessors if self._is_called(d, what)}
            if hits:
                named |= hits
                naming |= set(self.analyzer.terms(match.group(0)))
        if _BEFORE.search(lowered):
            named |= {d for d in self._predecessors if d in self.replaced}
        if named:
            naming |= self._naming_terms
        return named, naming

    def _is_called(self, doc_id: str, word: str) -> bool:
        doc = self.kb.documents[doc_id]
        stem = word[:-1] if word.endswith("s") else word
        stem = stem[:-1] if stem.endswith("ie") else stem
        if stem.startswith(_GENERIC):
            return doc_id in self.replaced
        return bool(stem) and (stem in doc.kind or stem in doc.title.lower()
                               or any(stem in a.lower() for a in doc.aliases))

    def adjust(self, question: str, terms: list[str], weights: np.ndarray
               ) -> tuple[list[str], np.ndarray, set[str]]:
        """The answerer's hook before scoring: (terms, weights, superseded editions named)."""
        old, naming = self.named_old(question)
        if old:
            terms = [t for t in terms if t not in naming] or terms
            weights = weights * np.where(np.isin(self._doc_ids, list(old)), OLD_NAMED_WEIGHT, 1.0)
        if self._version_tables.any() and _CURRENT_VERSION.search(question.lower()):
            weights = weights * np.where(self._version_tables, VERSION_TABLE_WEIGHT, 1.0)
            terms = terms + [t for t in self._current_terms if t not in terms]
        return terms, weights, old

    def drop_replaced(self, ranked: list[tuple[float, int]], keep: set[str] = frozenset()
                      ) -> list[tuple[float, int]]:
        """The answerer's hook after scoring: no clause of a replaced protocol edition, unless
        the question named that edition."""
        if not self._blocked.any():
            return ranked
        return [(s, p) for s, p in ranked
                if not self._blocked[p] or self._doc_ids[p] in keep]


# --- comparing two editions -------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def similarity(a: str, b: str) -> float:
    a, b = _norm(a), _norm(b)
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class Comparison:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renumbered: dict[str, str] = field(default_factory=dict)  # new ref -> old ref, same words
    nearly: list[str] = field(default_factory=list)  # changed, but so little that hints carry over
    hints_to_check: list[str] = field(default_factory=list)  # changed clauses that had hints
    carried: dict[str, tuple[str, ...]] = field(default_factory=dict)  # new ref -> hints carried

    def lines(self) -> list[str]:
        out = []
        for label, refs in (("added", self.added), ("changed", self.changed),
                            ("removed", self.removed)):
            out.append(f"  {label} ({len(refs)}): {', '.join(refs) if refs else '-'}")
        if self.renumbered:
            out.append("  renumbered, same words (" + str(len(self.renumbered)) + "): " + ", ".join(
                f"{old} is now {new}" for new, old in self.renumbered.items()))
        if self.nearly:
            out.append(f"  changed only slightly (search hints carried over): {', '.join(self.nearly)}")
        out.append(f"  unchanged ({len(self.unchanged)}): {', '.join(self.unchanged) or '-'}")
        if self.hints_to_check:
            out.append("  changed clauses whose search hints (questions:) need a look: "
                       + ", ".join(self.hints_to_check))
        return out


def _table_extended(old: str, new: str) -> bool:
    """A table that only gained rows (the version history) is nearly unchanged."""
    old_lines = [_norm(x) for x in old.splitlines() if x.strip()]
    new_lines = {_norm(x) for x in new.splitlines() if x.strip()}
    return bool(old_lines) and all(x in new_lines for x in old_lines)


def _near(before, after) -> float:
    ratio = similarity(before.text, after.text)
    if ratio < NEARLY_SAME and getattr(after, "type", "") == "table" \
            and _table_extended(before.text, after.text):
        return NEARLY_SAME
    return ratio


def compare(old_passages, new_passages) -> Comparison:
    """Clause by clause: what a new edition added, changed, removed and renumbered.

    A clause is matched first by its ref, then (if its words moved) by its words: when 5.2 is
    deleted and Word renumbers 5.3 as 5.2, the result is "5.2 removed; 5.3 is now 5.2", not
    "5.2 changed, 5.3 removed". `old_passages` are models.Passage; `new_passages` anything with
    ref, text and type.
    """
    result = Comparison()
    old = {p.ref: p for p in old_passages}
    matched_old: dict[str, str] = {}  # old ref -> new ref
    ratio_of: dict[str, float] = {}
    pending = []
    for p in new_passages:  # 1. the same ref, the same (or nearly the same) words
        before = old.get(p.ref)
        ratio = _near(before, p) if before is not None else 0.0
        if ratio >= NEARLY_SAME:
            matched_old[p.ref], ratio_of[p.ref] = p.ref, ratio
        else:
            pending.append(p)
    still = []
    for p in pending:  # 2. the same words under another ref: renumbered
        norm = _norm(p.text)
        candidates = [o for ref, o in old.items() if ref not in matched_old]
        exact = next((o for o in candidates if _norm(o.text) == norm), None)
        best = exact or max((o for o in candidates
                             if difflib.SequenceMatcher(None, _norm(o.text), norm).quick_ratio()
                             >= NEARLY_SAME), key=lambda o: similarity(o.text, p.text), default=None)
        if best is not None and (exact is not None or similarity(best.text, p.text) >= NEARLY_SAME):
            matched_old[best.ref] = p.ref
            result.renumbered[p.ref] = best.ref
            if best.questions:
                result.carried[p.ref] = tuple(best.questions)
        else:
            still.append(p)
    for p in new_passages:
        if p.ref in result.renumbered:
            continue
        if p.ref in ratio_of:
            before = old[p.ref]
            if ratio_of[p.ref] == 1.0:
                result.unchanged.append(p.ref)
            else:
                result.changed.append(p.ref)
                result.nearly.append(p.ref)
            if before.questions:
                result.carried[p.ref] = tuple(before.questions)
        elif p.ref in old and p.ref not in matched_old:  # 3. the same ref, new words
            matched_old[p.ref] = p.ref
            result.changed.append(p.ref)
            if old[p.ref].questions:
                result.hints_to_check.append(p.ref)
        else:
            result.added.append(p.ref)
    result.removed = [ref for ref in old if ref not in matched_old]
    return result
