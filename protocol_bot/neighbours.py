"""Nearest examples: is a message closer to one the documents do not answer than to anything they say or are asked?"""

from __future__ import annotations

from dataclasses import dataclass

from .analyzer import Analyzer
from .index import SearchIndex
from .models import Passage

COMMON_IDF = 1.5  # BM25 idf of a word in about 22% of the examples


@dataclass(frozen=True)
class Neighbours:
    """One BM25 index over short examples of two kinds: what the knowledge base says or is asked
    (each passage's heading, lines and `questions:` hints) and messages it does not answer
    (declined_examples.txt). Scored in one space, so the two nearest are comparable."""

    index: SearchIndex
    first_declined: int  # examples from here on are messages the documents do not answer

    @classmethod
    def build(cls, passages: tuple[Passage, ...], declined: tuple[str, ...],
              analyzer: Analyzer) -> "Neighbours":
        # The parts the search index analysed already (heading, each line, each hint): the
        # analyzer remembers them, so this index costs no second analysis.
        said = [part for p in passages for part in (p.heading, *p.text.splitlines(), *p.questions)
                if part.strip()]
        texts = said + list(declined)
        # No ref or heading: each would be one more text to analyse, thousands of times over.
        examples = tuple(Passage("example", "", "", text, "example") for text in texts)
        return cls(SearchIndex(examples, analyzer), len(said))

    def declined_share(self, weighted: list[tuple[float, str]]) -> float:
        """The nearest declined message's score over its own plus the nearest other example's:
        1 when only declined messages share the question's words, 0.5 when both are as near."""
        if self.first_declined >= len(self.index.passages):
            return 0.0
        # Not the words in about a fifth of the examples or more ("councillor", "officer"): they
        # tell the two kinds apart least and cost the most to score.
        scores = self.index.scores([(w, t) for w, t in weighted if self.index.idf(t) >= COMMON_IDF])
        declined = float(scores[self.first_declined:].max(initial=0.0))
        other = float(scores[:self.first_declined].max(initial=0.0))
        return declined / (declined + other) if declined + other else 0.0
