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
        self.postings: dict[str, list[int]] = defaultdict(list)
        for position, doc_terms in enumerate(self.terms):
            for term in doc_terms:
                self.postings[term].append(position)
        n = len(passages)
        self.bm25.idf = {t: math.log(1 + (n - len(ps) + 0.5) / (len(ps) + 0.5))
                         for t, ps in self.postings.items()}
        # A word the corpus has never seen is as telling as the rarest one it has.
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)

    @staticmethod
    def searchable_text(passage: Passage) -> str:
        return " ".join((passage.heading, passage.text, *passage.questions))

    def idf(self, term: str) -> float:
        return self.bm25.idf.get(term, self.unknown_idf)

    def search(self, terms: list[str], extra: list[str] = (), extra_weight: float = 0.5,
               allowed=None) -> list[Hit]:
        """Hits for the (unique) terms, best first; only passages sharing a term are scored.

        `extra` terms (suggested by related words) count at `extra_weight`.
        """
        candidates = sorted({p for t in (*terms, *extra) for p in self.postings.get(t, ())
                             if allowed is None or allowed(p)})
        if not candidates:
            return []
        scores = np.asarray(self.bm25.get_batch_scores(terms, candidates)) if terms else 0.0
        if extra:
            scores = scores + extra_weight * np.asarray(self.bm25.get_batch_scores(extra, candidates))
        order = np.argsort(-scores, kind="stable")
        return [Hit(candidates[i], float(scores[i])) for i in order if scores[i] > 0]
