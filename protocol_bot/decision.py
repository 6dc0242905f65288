"""Whether to answer: a small logistic model over features that carry over to new questions.

Each feature is a number between about 0 and 1 that a person can read:

- how much of the question's *informative* weight the best passage covers, where a word's weight
  is how rare it is in general English (protocol_bot/data/english_freq.txt, from wordfreq) - "the
  quorum of the planning committee" is about "quorum", which no passage has;
- the same share weighted by rarity in the knowledge base (idf), as BM25 sees it;
- the share of the informative weight in words the knowledge base has never seen;
- the rarest question word the passage leaves out;
- the best score divided by the best the question could reach (every word matched once);
- the margin between the best and the next passage;
- whether the question asks for a fact (a date, a number, a name: "when is the next...", "how
  many...", "who won...") that the passage does not state;
- how many informative words the question has;
- how characteristic of the knowledge base the question's words are: each word's frequency in
  the knowledge base against its frequency in general English ("officer", "protocol", "respect"
  are far commoner in it; "agenda", "vote", "weather" are not), on average and at the least
  characteristic informative word;
- how much nearer the question comes to a message the documents do not answer (the training
  sets' out-of-scope questions, data/declined_examples.txt) than to anything the knowledge base
  says or is asked (neighbours.py);
- the share of the names in the question (capitalised words and acronyms not opening a sentence:
  "Localism Act", "ICO", "Audit and Governance Committee") that the passage does not contain.

The weights are fitted by `python -m protocol_bot.decision_fit` on the evaluation sets and stored in
decision_weights.json beside it; the model answers when its probability reaches the threshold.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .analyzer import stem

HERE = Path(__file__).resolve().parent
FREQ_FILE = HERE / "data" / "english_freq.txt"
WEIGHTS_FILE = HERE / "decision_weights.json"
DECLINED_FILE = HERE / "data" / "declined_examples.txt"

FEATURES = ("cover_rare", "cover_idf", "unknown_rare", "max_uncovered", "reach", "margin",
            "fact_gap", "informative_words", "domain", "domain_low", "names_missing",
            "statement", "declined_near", "declined_near_unhinted")

# General-English Zipf frequency at which a word stops telling what a question is about
# ("time", "people", "good" are ~6; "officer" 4.6, "councillor" 3.6, "quorum" 2.4).
COMMON_ZIPF = 6.0
RARE_ZIPF = 2.0


@lru_cache(maxsize=1)
def _words() -> tuple[list[str], list[float]]:
    """The list's words, sorted, and their Zipf frequencies."""
    table: dict[str, float] = {}
    for line in FREQ_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        band, text = line.split("\t", 1)
        z = int(band) / 10
        for word in text.split():
            table.setdefault(word, z)
    words = sorted(table)
    return words, [table[w] for w in words]


@lru_cache(maxsize=65536)
def _stem_zipf(term: str) -> float:
    """Zipf frequency of the commonest word whose stem is `term`. A Snowball stem is a prefix of
    its words, but for a final y->i ('polici'), so only words sharing the prefix are stemmed."""
    words, zipfs = _words()
    prefix = term[:-1] if term.endswith("i") and len(term) > 2 else term
    # British spellings the analyzer folds to ('organis' from 'organize') are looked up as -iz too.
    prefixes = {prefix, prefix.replace("is", "iz")} if "is" in prefix else {prefix}
    best = 0.0
    for p in prefixes:
        i = bisect.bisect_left(words, p)
        while i < len(words) and words[i].startswith(p):
            if zipfs[i] > best and stem(words[i]) == term:
                best = zipfs[i]
            i += 1
    return best


@lru_cache(maxsize=65536)
def zipf(term: str) -> float:
    """General-English frequency of a search term (a stem, or a folded synonym phrase a_b)."""
    if "_" in term:  # a synonym phrase ("monitor_offic"): rarer than its rarest word, by about
        parts = [part for part in term.split("_") if part]  # one step per further word
        return max(0.0, min((zipf(part) for part in parts), default=0.0) - (len(parts) - 1))
    if any(c.isdigit() for c in term):  # numbers, "s151"
        return 3.0
    return _stem_zipf(term)


def specificity(term: str, count: int, total: int) -> float:
    """How much more often the knowledge base uses the word than general English does, from
    0 (no more, or never) to 1 (1,000 times more): log10(p_kb / p_english) / 3, clipped."""
    if count <= 0:
        return 0.0
    english = 10 ** (max(zipf(term), 1.0) - 9)
    return min(1.0, max(0.0, math.log10((count / total) / english) / 3))


@lru_cache(maxsize=65536)
def rarity(term: str) -> float:
    """0.05 for everyday words up to 1 for words rare in general English (or unseen in it)."""
    return min(1.0, max(0.05, (COMMON_ZIPF - zipf(term)) / (COMMON_ZIPF - RARE_ZIPF)))


# Questions that ask for a fact - a date, a number, a name - rather than for guidance, and what a
# passage must state to answer one: a date or time; a number or amount; a place or contact
# detail (an address, a number, a room); a name (never in the
# guidance: "who won the by-election?", "who chairs planning?").
_MONTH = (r"january|february|march|april|may|june|july|august|september|october|november|december"
          r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday")
FACT_KINDS = {
    "when": re.compile(
        r"\b(when (is|was|are|will|does|do|did|should|must)\b|when'?s\b|what (time|date|day)\b"
        r"|which (day|date|month|year)\b|how (soon|long)\b|(deadline|date|time) (for|of|to)\b"
        r"|by when\b|what'?s the deadline)", re.I),
    "number": re.compile(
        r"\b(how (many|much|big|large|often)\b|what percentage|(limit|cap|maximum|minimum) (on|to|of) "
        r"the (number|amount)|what('?s| is| are| was| were)( the| our| my)? (\w+ )?(\w+'s )?"
        r"(current |latest |new |annual )?(rate|rates|threshold|amount|fee|fees|cost|salary|number|figure|"
        r"quorum|limit|turnout|majority|population|budget|allowance|allowances|score|total|size)\b)", re.I),
    "place": re.compile(
        r"\b(where('?s| is| are) (the|my|our|a) (?!(protocol|guidance|workbook|line|boundary|balance|"
        r"difference|distinction))|where (do|can) i (get|find|pick up|collect) (the|a|an|my) (form|pass|"
        r"badge|key|card|copy of the form)|(phone|telephone|mobile|contact) number|email address|"
        r"postal address|extension number)\b", re.I),
    "name": re.compile(
        r"\b(who (won|chairs|leads|sits on|got elected|was elected|is (the )?(current |new )?"
        r"(chair|chairman|chairperson|leader|mayor|mp|member for|councillor for|cabinet member|"
        r"portfolio holder))|which (party|ward|councillor|room))\b", re.I),
}
STATES = {
    "when": re.compile(r"\b(" + _MONTH + r"|\d{1,2}(:\d\d|am|pm)|(19|20)\d\d|\d+ (working )?"
                       r"(days?|weeks?|months?|hours?)|(one|two|three|four|five|six|seven|eight|nine|"
                       r"ten|fourteen|twenty|thirty) (working )?(days?|weeks?|months?|hours?)|"
                       r"annual|annually|monthly|weekly|daily)\b", re.I),
    "number": re.compile(r"\d|£|%|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                         r"twenty|thirty|forty|fifty|hundred|thousand|million|half|third|quarter)\b",
                         re.I),
    "place": re.compile(r"@|\b\d{3,}|\bwww\.|\b(room|floor|building|street|road)\b", re.I),
    "name": re.compile(r"(?!)"),  # the knowledge base states no such names
}


def fact_kind(question: str) -> str | None:
    """'when', 'number', 'place' or 'name' if the question asks for that kind of fact."""
    for kind, pattern in FACT_KINDS.items():
        if pattern.search(question):
            return kind
    return None


def states_fact(kind: str, text: str) -> bool:
    return bool(STATES[kind].search(text))


@lru_cache(maxsize=1)
def declined_examples(path: Path = DECLINED_FILE) -> tuple[str, ...]:
    """Messages the documents do not answer (one a line; '#' starts a comment line), written by
    decision_fit from the training sets' out-of-scope questions."""
    if not path.is_file():
        return ()
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class Model:
    weights: dict[str, float]
    bias: float
    threshold: float
    note: str = ""

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> "Model":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(weights={k: float(v) for k, v in data["weights"].items()},
                   bias=float(data["bias"]), threshold=float(data["threshold"]),
                   note=str(data.get("note", "")))

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        return {name: self.weights.get(name, 0.0) * features[name] for name in FEATURES}

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.contributions(features).values())
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(self, features: dict[str, float]) -> tuple[float, bool]:
        p = self.probability(features)
        return p, p >= self.threshold


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zA-Z]+|[A-Z]{2,})\b")
_NOT_NAMES = frozenset({"I", "I'm", "OK", "MO", "LGA", "Cllr", "Councillor", "Councillors", "Officer",
                        "Officers", "Council", "Protocol", "Member", "Members"})


def names(question: str) -> list[str]:
    """Capitalised words and acronyms inside sentences: the names a question mentions."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+", question):
        words = sentence.split()
        for word in words[1:]:
            word = word.strip(".,;:!?()'\"")
            if word and word[0].isupper() and word not in _NOT_NAMES and word.isalpha():
                found.append(word)
    return found


# A sentence that asks something: it ends in '?' or opens like a question.
_ASKS = re.compile(r"\?|^\W*(what|how|can|could|should|shall|may|might|must|is|are|am|do|does|did|who|"
                   r"when|where|why|which|will|would|has|have|any)\b", re.I | re.M)


def statement(message: str) -> float:
    """1 when the message asks nothing (no '?', no sentence opening like a question): a situation
    described, as in "my cousin works in revenues and wants me to put in a good word for her"."""
    sentences = re.split(r"(?<=[.!?])\s+|\n+", message.strip())
    return 0.0 if any(_ASKS.search(s) for s in sentences) else 1.0
