"""Nearest examples: is a message closer to one the documents do not answer than to anything they say or are asked?"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analyzer import Analyzer
from .index import SearchIndex
from .models import Passage

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"\u201c])|\n")


@dataclass(frozen=True)
class Neighbours:
    """One BM25 index over short examples of two kinds: what the knowledge base says or is asked
    (each passage's heading, sentences and `questions:` hints) and messages it does not answer
    (declined_examples.txt). Scored in one space, so the two nearest are comparable."""

    index: SearchIndex
    first_declined: int  # examples from here on are messages the documents do not answer

    @classmethod
    def build(cls, passages: tuple[Passage, ...], declined: tuple[str, ...],
              analyzer: Analyzer) -> "Neighbours":
        said = [part.strip() for p in passages
                for part in (p.heading, *_SENTENCE.split(p.text), *p.questions) if part.strip()]
        texts = said + list(declined)
        examples = tuple(Passage("example", str(n), "", text, "example") for n, text in enumerate(texts))
        return cls(SearchIndex(examples, analyzer), len(said))

    def declined_share(self, weighted: list[tuple[float, str]]) -> float:
        """The nearest declined message's score over its own plus the nearest other example's:
        1 when only declined messages share the question's words, 0.5 when both are as near."""
        if self.first_declined >= len(self.index.passages):
            return 0.0
        scores = self.index.scores(weighted)
        declined = float(scores[self.first_declined:].max(initial=0.0))
        other = float(scores[:self.first_declined].max(initial=0.0))
        return declined / (declined + other) if declined + other else 0.0
