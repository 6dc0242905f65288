"""The search index: rank-bm25 relevance over passages, scoring only passages that share a term."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

from .analyzer import Analyzer
from .models import Passage


@dataclass(frozen=True)
class Hit:
    position: int  # index into SearchIndex.passages
    relevance: float  # BM25 with the idf below


class SearchIndex:
    """BM25 over passage terms (heading + text, and an FAQ entry's questions).

    rank-bm25's BM25Okapi floors the idf of any term found in over half the passages at a small
    epsilon, so on this corpus - where 'officer' and 'councillor' are in most passages - such a
    word scores nearly nothing while a rare word misspelt in one passage dominates; and in a
    collection of two or three documents its idf even goes to zero or below. Lucene's
    idf = log(1 + (N - df + 0.5) / (df + 0.5)) is always positive and falls smoothly with df,
    so we keep rank-bm25's term-frequency and length normalisation and replace its idf.
    """

    def __init__(self, passages: tuple[Passage, ...], analyzer: Analyzer):
        self.passages = passages
        self.analyzer = analyzer
        corpus = [analyzer.terms(self.searchable_text(p)) or ["\u2205"] for p in passages]
        self.terms = [frozenset(doc) for doc in corpus]
        self.bm25 = BM25Okapi(corpus)
        postings: dict[str, list[int]] = defaultdict(list)
        for position, doc_terms in enumerate(self.terms):
            for term in doc_terms:
                postings[term].append(position)
        n = len(passages)
        self.bm25.idf = {t: math.log(1 + (n - len(ps) + 0.5) / (len(ps) + 0.5))
                         for t, ps in postings.items()}
        # A word the corpus has never seen is as telling as the rarest one it has.
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        # Per term: the passages holding it and rank-bm25's term-frequency weight there
        # (tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))), so a question touches only
        # the passages that share one of its terms.
        k1, b = self.bm25.k1, self.bm25.b
        doc_len = np.asarray(self.bm25.doc_len, dtype=float)
        norm = k1 * (1 - b + b * doc_len / self.bm25.avgdl)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, ids in postings.items():
            ids_array = np.asarray(ids, dtype=np.int64)
            tf = np.fromiter((self.bm25.doc_freqs[i][term] for i in ids), dtype=float, count=len(ids))
            self.postings[term] = (ids_array, tf * (k1 + 1) / (tf + norm[ids_array]))
        self._size = n

    @staticmethod
    def searchable_text(passage: Passage) -> str:
        return " ".join((passage.ref, passage.heading, passage.text, *passage.questions))

    def idf(self, term: str) -> float:
        return self.bm25.idf.get(term, self.unknown_idf)

    def search(self, terms: list[str], extra: list[str] = (), extra_weight: float = 0.5,
               exclude: np.ndarray | None = None, limit: int = 30) -> list[Hit]:
        """The best `limit` hits for the (unique) terms, best first.

        `extra` terms (suggested by related words) count at `extra_weight`; passages marked
        in the boolean array `exclude` are left out.
        """
        scores = np.zeros(self._size)
        touched = False
        for weight, group in ((1.0, terms), (extra_weight, extra)):
            for term in group:
                posting = self.postings.get(term)
                if posting is not None:
                    ids, tf_weight = posting
                    scores[ids] += weight * self.bm25.idf[term] * tf_weight
                    touched = True
        if not touched:
            return []
        if exclude is not None:
            scores[exclude] = 0.0
        candidates = np.flatnonzero(scores)
        if len(candidates) > limit:
            top = np.argpartition(-scores[candidates], limit)[:limit]
            candidates = candidates[top]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [Hit(int(c), float(scores[c])) for c in order]
