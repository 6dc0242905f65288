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
# BM25's term-frequency saturation and length normalisation.
K1 = 1.5
B = 0.75


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
        self.bm25 = BM25Okapi([doc or ["\u2205"] for doc in documents], k1=K1, b=B)
        self.size = n = len(documents)
        # All (term, document, tf) triples at once, grouped by term, so building is array work.
        vocabulary: dict[str, int] = {}
        term_ids, doc_ids, tfs = [], [], []
        for position, freqs in enumerate(self.bm25.doc_freqs):
            for term, tf in freqs.items():
                term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
                doc_ids.append(position)
                tfs.append(tf)
        term_ids_a = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(term_ids_a, kind="stable")
        term_ids_a = term_ids_a[order]
        doc_ids_a = np.asarray(doc_ids, dtype=np.int64)[order]
        tf_a = np.asarray(tfs, dtype=float)[order]
        df = np.bincount(term_ids_a, minlength=len(vocabulary))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        k1, b = self.bm25.k1, self.bm25.b
        norm = k1 * (1 - b + b * np.asarray(self.bm25.doc_len, dtype=float) / self.bm25.avgdl)
        weights = idf[term_ids_a] * tf_a * (k1 + 1) / (tf_a + norm[doc_ids_a])
        ends = np.cumsum(df)
        terms = list(vocabulary)
        self.idf = dict(zip(terms, idf.tolist()))
        self.bm25.idf = self.idf
        # One array of document ids and one of weights; a term's posting is a slice of both.
        self._doc_ids, self._weights = doc_ids_a, weights
        self._spans: dict[str, tuple[int, int]] = dict(
            zip(terms, zip((ends - df).tolist(), ends.tolist())))

    def scores(self, weighted_terms: list[tuple[float, str]]) -> np.ndarray:
        out = np.zeros(self.size)
        for weight, term in weighted_terms:
            span = self._spans.get(term)
            if span is not None:
                start, end = span
                out[self._doc_ids[start:end]] += weight * self._weights[start:end]
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
        self.hint_postings = TermPostings(hints) if hints else None
        self._hint_owner = np.asarray(owners, dtype=np.int64)
        # A word the corpus has never seen is as telling as the rarest one it has.
        self.unknown_idf = math.log(1 + (len(passages) + 0.5) / 0.5)

    @staticmethod
    def searchable_text(passage: Passage) -> str:
        return " ".join((passage.ref, passage.heading, passage.text, *passage.questions))

    def idf(self, term: str) -> float:
        return self.passage_postings.idf.get(term, self.unknown_idf)

    def mentioned(self, phrase: tuple[str, ...]) -> bool:
        """Does any passage contain every word of the phrase?"""
        return any(all(t in terms for t in phrase) for terms in self.terms)

    def knows(self, term: str) -> bool:
        return term in self.passage_postings.idf

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
        return [Hit(int(c), float(scores[c])) for c in order]

    def scores(self, weighted: list[tuple[float, str]]) -> np.ndarray:
        """Every passage's score: its words, plus HINT_WEIGHT times its best-matching hint."""
        scores = self.passage_postings.scores(weighted)
        if self.hint_postings is not None:
            best_hint = np.zeros(len(self.passages))
            np.maximum.at(best_hint, self._hint_owner, self.hint_postings.scores(weighted))
            scores += HINT_WEIGHT * best_hint
        return scores

    def reach(self, weighted: list[tuple[float, str]]) -> float:
        """What a passage of average length holding each unigram once would score."""
        k1 = self.passage_postings.bm25.k1
        return sum(w * self.idf(t) for w, t in weighted if ">" not in t) * (k1 + 1) / (1 + k1)
