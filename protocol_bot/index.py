"""The search index: rank-bm25 relevance over passages, scoring only passages that share a term."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

from .analyzer import Analyzer
from .models import Passage

# How much the best-matching `questions:` hint adds to a passage's score: a question worded
# like one a passage is known to answer is strong evidence (FAQ-style matching), on top of the
# passage's words. Chosen with `protocol-bot eval`.
HINT_WEIGHT = 0.6
# Word pairs in order ("officer>expect>councillor" differs from "councillor>expect>officer"):
# the direction of "what officers can expect from councillors" lives only in word order.
PAIR_WEIGHT = 1.0


def word_pairs(terms: list[str]) -> list[str]:
    return [f"{a}>{b}" for a, b in zip(terms, terms[1:])]


@dataclass(frozen=True)
class Hit:
    position: int  # index into SearchIndex.passages
    relevance: float


class TermPostings:
    """BM25 over a list of term lists, as per-term postings of (document ids, weights).

    rank-bm25's BM25Okapi supplies the term frequencies, lengths and k1/b. Its idf is replaced:
    BM25Okapi floors the idf of any term found in over half the documents at a small epsilon,
    so on this corpus - where 'officer' and 'councillor' are in most passages - such a word
    scores nearly nothing, and in a collection of two or three documents its idf even goes to
    zero or below. Lucene's idf = log(1 + (N - df + 0.5) / (df + 0.5)) is always positive and
    falls smoothly with df. Each posting holds idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b *
    len / avgdl)), so a question touches only the documents sharing one of its terms.
    """

    def __init__(self, documents: list[list[str]]):
        self.bm25 = BM25Okapi([doc or ["\u2205"] for doc in documents])
        self.size = len(documents)
        ids_by_term: dict[str, list[int]] = defaultdict(list)
        for position, doc in enumerate(self.bm25.doc_freqs):
            for term in doc:
                ids_by_term[term].append(position)
        n = self.size
        self.idf = {t: math.log(1 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
                    for t, ids in ids_by_term.items()}
        self.bm25.idf = self.idf
        k1, b = self.bm25.k1, self.bm25.b
        doc_len = np.asarray(self.bm25.doc_len, dtype=float)
        norm = k1 * (1 - b + b * doc_len / self.bm25.avgdl)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, ids in ids_by_term.items():
            ids_array = np.asarray(ids, dtype=np.int64)
            tf = np.fromiter((self.bm25.doc_freqs[i][term] for i in ids), dtype=float, count=len(ids))
            self.postings[term] = (ids_array, self.idf[term] * tf * (k1 + 1) / (tf + norm[ids_array]))

    def scores(self, weighted_terms: list[tuple[float, str]]) -> np.ndarray:
        out = np.zeros(self.size)
        for weight, term in weighted_terms:
            posting = self.postings.get(term)
            if posting is not None:
                out[posting[0]] += weight * posting[1]
        return out


class SearchIndex:
    """Passages scored on all their words (ref, heading, text, hints) plus their best hint."""

    def __init__(self, passages: tuple[Passage, ...], analyzer: Analyzer):
        self.passages = passages
        self.analyzer = analyzer
        documents, hints, owners = [], [], []
        self.terms: list[frozenset[str]] = []  # every word a passage can be found by
        self.content_terms: list[frozenset[str]] = []  # what it says: heading and text
        for position, passage in enumerate(passages):
            # Each field and line is analysed once; pairs never straddle two of them.
            content = [analyzer.terms(part) for part in (passage.heading, *passage.text.splitlines())]
            asked = [analyzer.terms(question) for question in passage.questions]
            parts = [analyzer.terms(passage.ref), *content, *asked]
            unigrams = [t for part in parts for t in part]
            documents.append(unigrams + [p for part in parts for p in word_pairs(part)])
            self.terms.append(frozenset(unigrams))
            self.content_terms.append(frozenset(t for part in content for t in part))
            for terms in asked:
                hints.append(terms + word_pairs(terms))
                owners.append(position)
        self.passage_postings = TermPostings(documents)
        self.bm25 = self.passage_postings.bm25
        self.hint_postings = TermPostings(hints) if hints else None
        self._hint_owner = np.asarray(owners, dtype=np.int64)
        # A word the corpus has never seen is as telling as the rarest one it has.
        self.unknown_idf = math.log(1 + (len(passages) + 0.5) / 0.5)

    @staticmethod
    def searchable_text(passage: Passage) -> str:
        return " ".join((passage.ref, passage.heading, passage.text, *passage.questions))

    def idf(self, term: str) -> float:
        return self.passage_postings.idf.get(term, self.unknown_idf)

    def knows(self, term: str) -> bool:
        return term in self.passage_postings.idf

    def search(self, terms: list[str], extra: list[str] = (), extra_weight: float = 0.5,
               exclude: np.ndarray | None = None, limit: int = 30,
               pairs: list[str] = ()) -> list[Hit]:
        """The best `limit` hits for the (unique) terms, best first.

        `extra` terms (suggested by related words) count at `extra_weight`; passages marked
        in the boolean array `exclude` are left out.
        """
        weighted = ([(1.0, t) for t in terms] + [(extra_weight, t) for t in extra]
                    + [(PAIR_WEIGHT, p) for p in dict.fromkeys(pairs)])
        scores = self.passage_postings.scores(weighted)
        if self.hint_postings is not None:
            best_hint = np.zeros(len(self.passages))
            np.maximum.at(best_hint, self._hint_owner, self.hint_postings.scores(weighted))
            scores += HINT_WEIGHT * best_hint
        if exclude is not None:
            scores[exclude] = 0.0
        candidates = np.flatnonzero(scores)
        if len(candidates) > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit)[:limit]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [Hit(int(c), float(scores[c])) for c in order]
