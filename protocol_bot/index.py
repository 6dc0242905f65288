"""The search index: rank-bm25 relevance over passages, scoring only passages that share a term."""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass

import numpy as np

from .analyzer import Analyzer
from .models import Passage

# How much the best-matching `questions:` hint adds to a passage's score: a question worded
# like one a passage is known to answer is strong evidence (FAQ-style matching), on top of the
# passage's words. Chosen with `protocol-bot eval`.
HINT_WEIGHT = 0.6
# Word pairs in order ("officer>expect>councillor" differs from "councillor>expect>officer"):
# the direction of "what officers can expect from councillors" lives only in word order.
PAIR_WEIGHT = 1.0
# BM25's term-frequency saturation and length normalisation.
K1 = 1.5
B = 0.75


def word_pairs(terms: list[str]) -> list[str]:
    return [f"{a}>{b}" for a, b in zip(terms, terms[1:])]


@dataclass(frozen=True)
class Hit:
    position: int  # index into SearchIndex.passages
    relevance: float


# Word pairs are keyed by their two words' ids, never made into strings: a pair is
# PAIR_BASE * (id of first + 1) + id of second, above every single word's id.
PAIR_BASE = 1 << 24


class TermPostings:
    """BM25 over documents given as arrays of term keys, as per-key postings of (documents, weights).

    Computed as rank-bm25's BM25Okapi does (same k1, b, term frequencies and lengths), in numpy
    array operations rather than per-document Python loops, except the idf. BM25Okapi floors the
    idf of any term found in over half the documents at a small epsilon, so on this corpus -
    where 'officer' and 'councillor' are in most passages - such a word scores nearly nothing,
    and in a collection of two or three documents its idf even goes to zero or below. Lucene's
    idf = log(1 + (N - df + 0.5) / (df + 0.5)) is always positive and falls smoothly with df.
    Each posting holds idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl)), so a question
    touches only the documents sharing one of its terms.
    """

    def __init__(self, keys: np.ndarray, docs: np.ndarray, size: int):
        """`keys[i]` occurs in document `docs[i]`; for any one key, its documents must come in
        ascending order. `size`: the number of documents."""
        self.size = n = size
        self.k1 = k1 = K1
        lengths = np.bincount(docs, minlength=n) if n else np.zeros(0, dtype=np.int64)
        order = np.argsort(keys, kind="stable")  # documents stay in order within a key
        k, d = keys[order], docs[order]
        if len(k):
            change = np.empty(len(k), dtype=bool)
            change[0] = True
            change[1:] = (k[1:] != k[:-1]) | (d[1:] != d[:-1])
            starts = np.flatnonzero(change)
            tf = np.diff(np.append(starts, len(k))).astype(float)
            k, d = k[starts], d[starts]  # one posting per (key, document)
            first = np.empty(len(k), dtype=bool)
            first[0] = True
            first[1:] = k[1:] != k[:-1]
            key_starts = np.flatnonzero(first)
            df = np.diff(np.append(key_starts, len(k)))
        else:
            tf, key_starts, df = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        doc_len = np.maximum(lengths, 1).astype(float)  # an empty document counts as one word
        norm = k1 * (1 - B + B * doc_len / (doc_len.mean() if n else 1.0))
        self.keys = k[key_starts] if len(k) else np.zeros(0, dtype=np.int64)
        self.idfs = idf
        self._starts, self._ends = key_starts, key_starts + df
        self._doc_ids = d
        self._weights = np.repeat(idf, df) * tf * (k1 + 1) / (tf + norm[d])

    @classmethod
    def joined(cls, first: "TermPostings", second: "TermPostings") -> "TermPostings":
        """One postings over both collections' documents, the second's numbered after the
        first's, each posting keeping its own weight (its own collection's idf and lengths):
        one pass scores both."""
        keys = np.concatenate([np.repeat(p.keys, p._ends - p._starts) for p in (first, second)])
        docs = np.concatenate([first._doc_ids, second._doc_ids + first.size])
        weights = np.concatenate([first._weights, second._weights])
        order = np.argsort(keys, kind="stable")
        keys, out = keys[order], object.__new__(cls)
        starts = np.flatnonzero(np.diff(keys, prepend=-1)) if len(keys) else np.zeros(0, np.int64)
        out.size, out.k1, out.keys, out.idfs = first.size + second.size, first.k1, keys[starts], None
        out._starts, out._ends = starts, np.append(starts[1:], len(keys))
        out._doc_ids, out._weights = docs[order], weights[order]
        return out

    def find(self, key: int) -> int:
        """The key's row, or -1."""
        i = int(np.searchsorted(self.keys, key))
        return i if i < len(self.keys) and self.keys[i] == key else -1

    def _row(self, key: int) -> int:
        """A key as SearchIndex._keys gives it: a negative one is already a row (-row - 1)."""
        return -key - 1 if key < 0 else self.find(key)

    def scores(self, weighted_keys: list[tuple[float, int]]) -> np.ndarray:
        """Every document's score: all the keys' postings gathered and summed in one go (a few
        numpy calls per question however many words it has, rather than a few per word)."""
        weights, rows = [], []
        for weight, key in weighted_keys:
            row = self._row(key)
            if row >= 0:
                weights.append(weight)
                rows.append(row)
        if not rows:
            return np.zeros(self.size)
        starts, ends = self._starts[rows], self._ends[rows]
        lengths = ends - starts
        # Positions of every posting of every row, end to end.
        at = np.arange(int(lengths.sum())) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        values = self._weights[at] * np.repeat(np.asarray(weights), lengths)
        return np.bincount(self._doc_ids[at], weights=values, minlength=self.size).astype(float)

    def score_of(self, weighted_keys: list[tuple[float, int]], doc: int) -> float:
        """One document's score: each key's posting for it found by bisection."""
        total = 0.0
        for weight, key in weighted_keys:
            row = self._row(key)
            if row >= 0:
                start, end = self._starts[row], self._ends[row]
                i = start + int(np.searchsorted(self._doc_ids[start:end], doc))
                if i < end and self._doc_ids[i] == doc:
                    total += weight * self._weights[i]
        return total


class SearchIndex:
    """Passages scored on all their words (ref, heading, text, hints) plus their best hint."""

    def __init__(self, passages: tuple[Passage, ...], analyzer: Analyzer):
        # Building makes many small objects and no cycles: the cyclic garbage collector would
        # only walk them again and again.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(passages, analyzer)
        finally:
            if enabled:
                gc.enable()

    def _build(self, passages: tuple[Passage, ...], analyzer: Analyzer) -> None:
        self.passages = passages
        self.analyzer = analyzer
        vocabulary: dict[str, int] = {}
        self.vocabulary = vocabulary
        # Every part's word ids, end to end; parts are the ref, heading, each line, each hint.
        all_ids: list[int] = []
        part_lengths: list[int] = []
        part_doc: list[int] = []  # passage of each part
        part_hint: list[int] = []  # hint number of each part, -1 if it is no hint
        owners: list[int] = []
        getid = vocabulary.__getitem__
        self.terms: list[frozenset[str]] = []  # every word a passage can be found by
        self.content_terms: list[frozenset[str]] = []  # what it says: heading and text
        for position, passage in enumerate(passages):
            # Each field and line is analysed once; pairs never straddle two of them.
            analyse = analyzer.passage_terms
            content = [analyse(part) for part in (passage.heading, *passage.text.splitlines())]
            asked = [analyse(question) for question in passage.questions]
            parts = [analyse(passage.ref), *content, *asked]
            flat = [t for part in parts for t in part]
            new = [t for t in dict.fromkeys(flat) if t not in vocabulary]
            if new:
                vocabulary.update(zip(new, range(len(vocabulary), len(vocabulary) + len(new))))
            all_ids.extend(map(getid, flat))
            part_lengths.extend(map(len, parts))
            part_doc.extend([position] * len(parts))
            part_hint.extend([-1] * (len(parts) - len(asked)))
            part_hint.extend(range(len(owners), len(owners) + len(asked)))
            owners.extend([position] * len(asked))
            self.terms.append(frozenset(flat))
            self.content_terms.append(frozenset(t for part in content for t in part))
        ids = np.asarray(all_ids, dtype=np.int64)
        lengths = np.asarray(part_lengths, dtype=np.int64)
        token_doc = np.repeat(np.asarray(part_doc, dtype=np.int64), lengths)
        token_hint = np.repeat(np.asarray(part_hint, dtype=np.int64), lengths)
        # Neighbouring words of the same part make a pair, keyed by both ids.
        same_part = np.ones(max(0, len(ids) - 1), dtype=bool)
        ends = np.cumsum(lengths)[:-1]
        ends = ends[(ends > 0) & (ends < len(ids))]
        same_part[ends - 1] = False
        pairs = ((ids[:-1] + 1) * PAIR_BASE + ids[1:])[same_part]
        pair_doc = token_doc[:-1][same_part]
        pair_hint = token_hint[:-1][same_part]
        self.passage_postings = TermPostings(np.concatenate([ids, pairs]),
                                             np.concatenate([token_doc, pair_doc]), len(passages))
        # How often each word occurs in the whole knowledge base (to compare with general English).
        self._counts = np.bincount(ids, minlength=len(vocabulary))
        self.total_words = max(1, int(len(ids)))
        hint_postings = None
        if owners:
            in_hint, pair_in_hint = token_hint >= 0, pair_hint >= 0
            hint_postings = TermPostings(
                np.concatenate([ids[in_hint], pairs[pair_in_hint]]),
                np.concatenate([token_hint[in_hint], pair_hint[pair_in_hint]]), len(owners))
        self._hint_owner = np.asarray(owners, dtype=np.int64)
        # Passages and hints in one postings (hints numbered after the passages), scored at once.
        self._both = (TermPostings.joined(self.passage_postings, hint_postings)
                      if hint_postings is not None else None)
        # A passage's hints are numbered one after another: the first of each run, and its owner,
        # so the best hint per passage is one reduceat (far quicker than np.maximum.at).
        firsts = np.flatnonzero(np.diff(self._hint_owner, prepend=-1))
        self._hint_runs, self._hint_run_owner = firsts, self._hint_owner[firsts]
        # Each known word's idf, by name.
        postings = self.passage_postings
        words = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))
        rows = np.searchsorted(postings.keys, words)
        self._word_rows = rows  # vocabulary id -> postings row (every word has one)
        self._both_word_rows = None  # the same for the joined postings of passages and hints
        if self._both is not None:
            self._both_word_rows = np.searchsorted(self._both.keys, words)
        self._idf: dict[str, float] = dict(zip(vocabulary, postings.idfs[
            np.minimum(rows, max(0, len(postings.keys) - 1))].tolist())) if len(postings.keys) else {}
        # A word the corpus has never seen is as telling as the rarest one it has.
        self.unknown_idf = math.log(1 + (len(passages) + 0.5) / 0.5)

    def key(self, term: str) -> int | None:
        """A word's or a pair's ("a>b") key in the postings, or None if never seen."""
        if ">" in term:
            first, _, second = term.partition(">")
            a, b = self.vocabulary.get(first), self.vocabulary.get(second)
            return None if a is None or b is None else (a + 1) * PAIR_BASE + b
        return self.vocabulary.get(term)

    def _keys(self, weighted: list[tuple[float, str]], hints: bool = False) -> list[tuple[float, int]]:
        """(weight, key) for the terms the index knows, in the passages' postings (or with
        `hints`, the joined postings of passages and hints); a word is given as its postings row
        (-row - 1), which saves looking it up."""
        out = []
        vocabulary = self.vocabulary
        rows = self._both_word_rows if hints else self._word_rows
        for weight, term in weighted:
            if ">" in term:
                key = self.key(term)
                if key is not None:
                    out.append((weight, key))
            else:
                i = vocabulary.get(term)
                if i is not None and rows is not None and rows[i] >= 0:
                    out.append((weight, -int(rows[i]) - 1))
        return out

    @staticmethod
    def searchable_text(passage: Passage) -> str:
        return " ".join((passage.ref, passage.heading, passage.text, *passage.questions))

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.unknown_idf)

    def mentioned(self, phrase: tuple[str, ...]) -> bool:
        """Does any passage contain every word of the phrase?"""
        if not all(t in self._idf for t in phrase):
            return False
        common: set[int] | None = None
        for t in phrase:
            docs = set(self.passages_with(t).tolist())
            common = docs if common is None else common & docs
        return bool(common)

    def passages_with(self, term: str) -> np.ndarray:
        """Positions of the passages whose words (hints included) hold the term."""
        i = self.vocabulary.get(term)
        row = int(self._word_rows[i]) if i is not None and self._word_rows is not None else -1
        if row < 0:
            return np.zeros(0, dtype=np.int64)
        postings = self.passage_postings
        return postings._doc_ids[postings._starts[row]:postings._ends[row]]

    def count(self, term: str) -> int:
        """How many times the word occurs in the knowledge base."""
        i = self.vocabulary.get(term)
        return int(self._counts[i]) if i is not None and i < len(self._counts) else 0

    def knows(self, term: str) -> bool:
        return term in self._idf

    def search(self, weighted: list[tuple[float, str]], exclude: np.ndarray | None = None,
               limit: int = 30) -> list[Hit]:
        """The best `limit` hits for the (weight, term) pairs, best first.

        Terms are unigrams or word pairs ("a>b"); passages marked in the boolean array
        `exclude` are left out.
        """
        scores = self.scores(weighted)
        if exclude is not None:
            scores[exclude] = 0.0
        candidates = np.flatnonzero(scores)
        if len(candidates) > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit)[:limit]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return list(map(Hit, order.tolist(), scores[order].tolist()))

    def word_score(self, weighted: list[tuple[float, str]], position: int) -> float:
        """One passage's score on its words alone (no hints)."""
        return self.passage_postings.score_of(self._keys(weighted), position)

    def scores(self, weighted: list[tuple[float, str]]) -> np.ndarray:
        """Every passage's score: its words, plus HINT_WEIGHT times its best-matching hint."""
        if self._both is None:
            return self.passage_postings.scores(self._keys(weighted))
        both = self._both.scores(self._keys(weighted, hints=True))
        scores, hint_scores = both[:len(self.passages)], both[len(self.passages):]
        scores[self._hint_run_owner] += HINT_WEIGHT * np.maximum.reduceat(hint_scores, self._hint_runs)
        return scores

    def reach(self, weighted: list[tuple[float, str]]) -> float:
        """What a passage of average length holding each unigram once would score."""
        k1 = self.passage_postings.k1
        return sum(w * self.idf(t) for w, t in weighted if ">" not in t) * (k1 + 1) / (1 + k1)
