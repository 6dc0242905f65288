"""Turns passages and questions into the same search terms: one analyzer, used identically for both."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import snowballstemmer

from .knowledge import Synonyms

# Function words that carry no topic. Modal verbs (can, must, should) are here too: the
# questions "can I..." and "must I..." are about the same topic.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me might more most must my myself no nor not now of off on once only or other our ours
ourselves out over own same shall she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
im ive id ill youre dont doesnt isnt arent cant wont shouldnt wouldnt couldnt didnt hasnt
havent may also eg ie etc s t ok okay hi please thanks thank anyone anything someone something
get got getting go going want wants like let lets know tell say says said us one ones e g
whats hows whos wheres whens whys theres thats heres its id youve weve theyre theyve
really just actually basically even still ever every lot lots bit quite pretty much many
thing things stuff way ways kind sort anyway generally totally v vs
wat wot frm acc pls plz thx tho cos coz cuz ur u r ya yr abt wrt b4 bc gonna wanna dunno lol
""".split())  # the last line: chat shorthand ("wat", "frm", "acc to", "pls")

# American spellings folded to the British spellings the sources use.
SPELLINGS = {
    "behavior": "behaviour", "behaviors": "behaviours", "behavioral": "behavioural",
    "favor": "favour", "favors": "favours", "favoring": "favouring", "favored": "favoured",
    "favorite": "favourite", "honor": "honour", "honors": "honours", "labor": "labour",
    "neighbor": "neighbour", "neighbors": "neighbours", "rumor": "rumour", "humor": "humour",
    "color": "colour", "center": "centre", "centers": "centres", "theater": "theatre",
    "judgment": "judgement", "judgmental": "judgemental", "program": "programme",
    "programs": "programmes", "defense": "defence", "offense": "offence", "license": "licence",
    "counselor": "councillor", "councilor": "councillor", "councilors": "councillors",
    "councilman": "councillor", "councilwoman": "councillor", "councilmember": "councillor",
    "fulfill": "fulfil", "enrollment": "enrolment", "skeptical": "sceptical",
}
_IZE = re.compile(r"(?<=[a-z]{3})iz(e|es|ed|ing|ation|ations|er|ers)$")

_STEMMER = snowballstemmer.stemmer("english")
_SECTION = re.compile(r"\bs(?:ection|ect|ec)?\.?\s*(\d{1,3})\b")
_APOSTROPHE_S = re.compile(r"['’]s\b")
_WORD = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"\d")
_HYPHENATED = re.compile(r"\b[a-z]+(?:-[a-z]+)+\b")


def normalise(text: str) -> str:
    """Lower-case, fold accents and curly quotes, write 's.151'-style references as 's151'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii") \
        if not text.isascii() else text
    text = text.lower()
    if "'" in text or "’" in text:
        text = _APOSTROPHE_S.sub("", text.replace("’", "'")).replace("'", "")
    if "-" in text:  # "by-election", "call-in", "in-law": one word, not a stopword and another
        text = _HYPHENATED.sub(_join_hyphenated, text)
    return _SECTION.sub(r"s\1", text) if _DIGIT.search(text) else text


def _join_hyphenated(match: re.Match) -> str:
    parts = match.group(0).split("-")
    return "".join(parts) if any(p in STOPWORDS for p in parts) and len(parts) == 2 else match.group(0)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    word = SPELLINGS.get(word, word)
    word = _IZE.sub(r"is\1", word)
    return _STEMMER.stemWord(word)


# (synonyms, text) -> its terms, for passages' texts (see Analyzer.passage_terms).
_PASSAGE_TERMS: dict[tuple[str, str], tuple[str, ...]] = {}
# Word -> its search term, or "" for a word that is dropped (stopwords, single letters).
_TERMS: dict[str, str] = {}


def _new_terms(words: list[str]) -> None:
    """Add words to _TERMS, stemming them in one call to the stemmer."""
    if len(_TERMS) > 200000:
        _TERMS.clear()
    kept = [w for w in dict.fromkeys(words) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    _TERMS.update(zip(kept, stem_all(kept)))
    _TERMS.update((w, "") for w in words if w not in _TERMS)


def stem_all(words: list[str]) -> list[str]:
    """stem() for many words at once (the stemmer's batch call)."""
    folded = [SPELLINGS.get(w, w) for w in words]
    folded = [_IZE.sub(r"is\1", w) if "iz" in w else w for w in folded]
    return _STEMMER.stemWords(folded)


class Analyzer:
    """normalise -> words (hyphens split) -> drop stopwords -> stem -> fold synonym phrases.

    Synonym groups ('same') are folded to one term in passages and questions alike, so
    'MO' and 'monitoring officer' are the same term. 'related' words only widen a question:
    'leaflet' suggests 'party political', but a passage about leaflets is not about party politics.
    """

    def __init__(self, synonyms: Synonyms | None = None):
        synonyms = synonyms or Synonyms()
        self._signature = hashlib.sha1(repr((synonyms.same, synonyms.related)).encode()).hexdigest()
        # Groups made only of stopwords ("us and them", "do's and don'ts") would vanish: they
        # are joined into one word in the normalised text, before stopwords are dropped.
        self._join: re.Pattern | None = None
        self._joined: list[str] = []
        patterns: list[str] = []
        self._join_words: list[frozenset[str]] = []  # a variant can only match if all are there
        for group in synonyms.same:
            if not any(self._stems(variant) for variant in group):
                joined = " " + "".join(_WORD.findall(normalise(group[0]))) + " "
                for v in group:
                    patterns.append(r"(\b" + r"[\s/-]+".join(_WORD.findall(normalise(v))) + r"\b)")
                    self._joined.append(joined)
                    self._join_words.append(frozenset(_WORD.findall(normalise(v))))
        if patterns:  # one pass over the text for all of them
            self._join = re.compile("|".join(patterns))
        self._phrases: dict[tuple[str, ...], str] = {}
        for group in synonyms.same:
            canonical = "_".join(self._stems(group[0])) or group[0].lower()
            for variant in group:
                stems = tuple(self._stems(variant))
                if stems:
                    self._phrases[stems] = canonical
        self._longest = max((len(p) for p in self._phrases), default=1)
        self._phrase_starts = frozenset(p[0] for p in self._phrases)
        self._related: dict[tuple[str, ...], tuple[str, ...]] = {}
        for means, words in synonyms.related:
            meaning = tuple(self.terms(means))
            for word in words:
                stems = tuple(self.terms(word))
                if stems and meaning:
                    self._related[stems] = meaning
        self._related_longest = max((len(p) for p in self._related), default=1)
        self._off_topic = [tuple(self.terms(w)) for w in synonyms.off_topic]
        self._off_topic = [t for t in self._off_topic if t]

    def _stems(self, text: str) -> list[str]:
        text = normalise(text)
        words = _WORD.findall(text)
        if self._join is not None:
            present = set(words)
            if any(needed <= present for needed in self._join_words):
                text = self._join.sub(lambda m: self._joined[m.lastindex - 1], text)
                words = _WORD.findall(text)
        known = _TERMS
        missing = [w for w in words if w not in known]
        if missing:
            _new_terms(missing)
        return [t for t in map(known.__getitem__, words) if t]

    def terms(self, text: str) -> list[str]:
        """The search terms of a text, in order, with repeats (passages need term counts)."""
        stems = self._stems(text)
        if not self._phrases:
            return stems
        starts = self._phrase_starts
        candidates = [i for i, t in enumerate(stems) if t in starts]
        if not candidates:  # most texts' words start no synonym phrase
            return stems
        phrases, n = self._phrases, len(stems)
        out: list[str] = []
        i = 0
        for j in candidates:
            if j < i:
                continue
            out.extend(stems[i:j])
            for size in range(min(self._longest, n - j), 0, -1):
                canonical = phrases.get(tuple(stems[j:j + size]))
                if canonical:
                    out.append(canonical)
                    i = j + size
                    break
            else:
                out.append(stems[j])
                i = j + 1
        out.extend(stems[i:])
        return out

    def passage_terms(self, text: str) -> tuple[str, ...]:
        """terms() for knowledge-base text, remembered across index builds with the same synonyms,
        so a reload after an edit analyses only the passages that changed."""
        key = (self._signature, text)
        found = _PASSAGE_TERMS.get(key)
        if found is None:
            if len(_PASSAGE_TERMS) > 300000:
                _PASSAGE_TERMS.clear()
            found = _PASSAGE_TERMS[key] = tuple(self.terms(text))
        return found

    def off_topic_phrases(self) -> list[tuple[str, ...]]:
        """The MO's optional off-topic topics, as term sequences."""
        return list(self._off_topic)

    def query_terms(self, text: str) -> tuple[list[str], list[str]]:
        """A question's own terms (unique, in order) and the related terms it suggests."""
        own = list(dict.fromkeys(self.terms(text)))
        extra: list[str] = []
        for i in range(len(own)):
            for size in range(min(self._related_longest, len(own) - i), 0, -1):
                meaning = self._related.get(tuple(own[i:i + size]))
                if meaning:
                    extra.extend(t for t in meaning if t not in own and t not in extra)
                    break
        return own, extra
