"""Answers a question with the passages that answer it, best first, or says it cannot."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np

from . import decision
from .about_bot import BotFacts, classify, is_small_talk
from .analyzer import Analyzer
from .editions import EditionRules
from .index import PAIR_WEIGHT, Hit, SearchIndex, word_pairs
from .knowledge import KnowledgeBase
from .models import Answer, Citation, Escalation, Passage
from .neighbours import Neighbours

MAX_QUESTION_CHARS = 2000
MAX_CITATIONS = 3

# At similar relevance the council's own protocol comes first, then the monitoring officer's
# answers, then current national guidance, then superseded editions and background papers.
AUTHORITY = {"protocol": 1.15, "faq": 1.1, "guidance": 1.0, "background": 0.6}
SUPERSEDED_WEIGHT = 0.8

# A further citation must be at least this share of the best one's score to be shown.
FOLLOWER_SHARE = 0.3
# Whether to answer is decided by decision.Model from bounded features (see decision.py and
# README, "How it finds answers"), never from a raw BM25 score.
# Related words ("leaflet" suggests "party political") count this much.
RELATED_WEIGHT = 0.5
# In a long message, the sentences around the question count this much (or CONTEXT_WEIGHT_VAGUE
# when the question itself is vague: "what should I do?").
CONTEXT_WEIGHT = 0.35
CONTEXT_WEIGHT_VAGUE = 0.8
# Pseudo-relevance feedback: words shared by the first pass's best passages widen the question.
FEEDBACK_PASSAGES = 3
FEEDBACK_TERMS = 8
FEEDBACK_WEIGHT = 0.0
CANDIDATES = 30
SENTENCE_WEIGHT = 0.45
RERANKED = 15  # the sentence re-rank looks at this many best passages (30 measured the same)
# A message whose words are all everyday English ("I have a question", "what about this?") says
# too little to answer from: the sum of its words' general-English rarity must reach this.
MIN_INFORMATION = 0.2
# A word the knowledge base does not know is taken for a misspelling of one it does (one edit
# away) only if general English hardly uses it either (Zipf frequency below this).
TYPO_MAX_ZIPF = 2.5
# Two passages whose term sets overlap this much say the same thing (Jaccard).
SAME_TEXT = 0.55
SUCCESSOR_PROBES = 8

SENSITIVE_TERMS = frozenset({"bulli", "harass", "complaint", "grievanc", "whistleblow",
                             "disciplinari", "victimis", "discrimin"})
# A question that names a document ("under our protocol", "what does the LGA workbook say")
# says where to look: that document's passages weigh this much more, and the naming words
# stop counting as what the question is about.
NAMED_WEIGHT = 1.3
# A declined example counts only while no passage says this much of it (informative weight).
SAID_SHARE = 0.9
_ABOUT_EXERCISE = re.compile(r"\b(exercises?|challenge\s*(\d+|one|two|three|four|five|six|seven"
                             r"|eight|nine)|appendix)\b", re.I)

LEAD_CHARS = 300
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"\u201c])|\n")

NOT_FOUND = "I couldn't find this in the protocol or the guidance I hold."
SENSITIVE_LEAD = ("This may concern a complaint or a person's conduct: you can speak to the "
                  "monitoring officer privately.")


class EmptyQuestion(ValueError):
    pass


_QUESTION_START = re.compile(
    r"^(what|whats|how|hows|can|could|should|shall|may|might|must|is|are|am|was|were|do|does|did|"
    r"who|whom|whose|when|where|why|which|will|would|has|have|any|if|i need to know|i want to know|"
    r"i'?d like to know|i'?m wondering|i wonder|wondering|please (advise|tell|explain|confirm)|"
    r"tell me|explain|advice|any advice|help)\b", re.I)
# Pleasantries around a question: not what it is about.
_GREETING = re.compile(r"^\W*((hi|hello|hey|hiya|morning|good (morning|afternoon|evening))\b"
                       r"([\s,]+(there|all|bot|everyone))?[\s,!.:-]*)+", re.I)
_THANKS = re.compile(r"[\s,.!-]*((many )?thanks|thank you|cheers|ta)( (in advance|very much|a lot))?"
                     r"[\s.!]*$", re.I)
_ALIAS_WORD = re.compile(r"[\w']+")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def split_message(message: str) -> tuple[str, str]:
    """The question inside a message, and the context around it ("" when it is all question).

    The question is the sentences that end in '?' or open like a question; in a message of one
    sentence, or with no such sentence, the whole message is the question.
    """
    sentences = [s.strip() for s in _SENTENCE_SPLIT.split(message) if s.strip()]
    if len(sentences) < 2:
        return message, ""
    asked = [s for s in sentences if s.endswith("?")]
    if not asked:
        asked = [s for s in sentences if _QUESTION_START.match(s)]
    if not asked or len(asked) == len(sentences):
        return message, ""
    return " ".join(asked), " ".join(s for s in sentences if s not in asked)


@dataclass
class Query:
    """A question as the index sees it."""

    focus: str  # the question inside the message
    context: str  # the rest of the message
    weights: dict[str, float]  # term -> weight: the question's own words 1, context less
    extra: list[str]  # related words and feedback words, at RELATED_WEIGHT / FEEDBACK_WEIGHT
    pairs: list[str]
    named: set[str] = field(default_factory=set)
    feedback: list[str] = field(default_factory=list)
    information: float = 0.0  # general-English rarity of all its words, naming words included

    @property
    def terms(self) -> list[str]:
        return list(self.weights)

    def weighted(self) -> list[tuple[float, str]]:
        return ([(w, t) for t, w in self.weights.items()]
                + [(RELATED_WEIGHT, t) for t in self.extra]
                + [(FEEDBACK_WEIGHT, t) for t in self.feedback]
                + [(PAIR_WEIGHT, p) for p in dict.fromkeys(self.pairs)])


class Answerer:
    """Built once per knowledge base; `answer` is pure and safe to call from many threads."""

    def __init__(self, kb: KnowledgeBase, facts: BotFacts = BotFacts(), *, _built=None,
                 declined: tuple[str, ...] | None = None):
        """`declined`: messages the documents do not answer, for the decision's `declined_near`
        (default: protocol_bot/data/declined_examples.txt; decision_fit passes its own)."""
        self.kb = kb
        self.facts = facts
        self.model = decision.Model.load()
        if _built is not None:  # from the index cache (index_cache.py)
            self.analyzer, self.index, self._successor, self.declined = _built
        else:
            self.analyzer = Analyzer(kb.synonyms)
            self.index = SearchIndex(kb.passages, self.analyzer)
        if _built is None or declined is not None:
            examples = decision.declined_examples() if declined is None else declined
            self.declined = Neighbours.build(
                kb.passages, tuple(e for e in examples if not self._said(e)), self.analyzer)
        superseded = kb.superseded()
        self._weights = np.asarray([
            AUTHORITY.get(kb.documents[p.document_id].kind, 1.0)
            * (SUPERSEDED_WEIGHT if p.document_id in superseded else 1.0) for p in kb.passages])
        self._aliases = [(doc.id, re.compile(r"(?<!\w)" + r"[\s/-]+".join(
                              re.escape(w) for w in alias.lower().split()) + r"(?!\w)"),
                          frozenset(self.analyzer.terms(alias)),
                          _ALIAS_WORD.findall(alias.lower())[0] if _ALIAS_WORD.findall(alias.lower()) else "")
                         for doc in kb.documents.values() for alias in doc.aliases]
        self._doc_ids = np.asarray([p.document_id for p in kb.passages])
        self._exercises = np.asarray([p.type == "exercise" for p in kb.passages], dtype=bool)
        # What a passage says (heading and text, not its search hints): to tell editions apart.
        self._content = self.index.content_terms
        if _built is None:
            self._successor = self._find_successors(superseded)
        self._successor_docs = frozenset(superseded)
        self.editions = EditionRules(kb, self.analyzer)  # issue 10: replaced clauses, labels
        self._deletes: dict[str, list[str]] | None = None  # built on the first misspelling
        self._spelled_words: frozenset[str] | None = None  # what the passages say, ditto
        self._sentence_cache: dict[str, list[tuple[str, frozenset[str]]]] = {}
        self._sentence_sets: dict[int, dict[str, tuple[int, ...]]] = {}  # by passage position
        self._same: dict[tuple[int, int], bool] = {}  # see _alike
        # The MO's optional off-topic list counts only for topics no passage mentions.
        self._off_topic = [phrase for phrase in self.analyzer.off_topic_phrases()
                           if not self.index.mentioned(phrase)]

    def _said(self, message: str) -> bool:
        """Does one passage's heading and text hold (nearly) all of the message's informative
        words? Then a declined example like it no longer counts: the knowledge base now says it
        ("what is the quorum for full council?" once the MO adds standing orders)."""
        terms = [t for t in dict.fromkeys(self.analyzer.passage_terms(message))
                 if decision.rarity(t) >= 0.2]
        if not terms:
            return False
        weight = {t: decision.rarity(t) for t in terms}
        need = SAID_SHARE * sum(weight.values())
        # Passages whose words (hints included) hold enough, counted at once; then checked
        # against what they say.
        holding = [self.index.passages_with(t) for t in terms]
        found = np.bincount(np.concatenate(holding),
                            weights=np.repeat(list(weight.values()), [len(h) for h in holding]),
                            minlength=len(self.kb.passages))
        for position in np.flatnonzero(found >= need - 1e-9).tolist():
            content = self.index.content_terms[position]
            if sum(w for t, w in weight.items() if t in content) >= need - 1e-9:
                return True
        return False

    def built(self):
        """What the index cache stores."""
        return self.analyzer, self.index, self._successor, self.declined

    def _find_successors(self, superseded: dict[str, str]) -> dict[int, int]:
        """Superseded passage -> the current edition's passage that says the same thing."""
        passages = self.kb.passages
        out: dict[int, int] = {}
        for old, passage in enumerate(passages):
            new_doc = superseded.get(passage.document_id)
            if not new_doc:
                continue
            # Only passages sharing one of this passage's rarest words can say the same thing.
            rare = sorted(self._content[old], key=self.index.idf, reverse=True)[:SUCCESSOR_PROBES]
            hits = self.index.search([(1.0, t) for t in rare], limit=SUCCESSOR_PROBES)
            candidates = [h.position for h in hits if passages[h.position].document_id == new_doc]
            best = max(candidates, default=None, key=lambda new: self._similarity(old, new))
            if best is not None and self._similarity(old, best) >= SAME_TEXT:
                out[old] = best
        return out

    def _similarity(self, a: int, b: int) -> float:
        ta, tb = self._content[a], self._content[b]
        return len(ta & tb) / max(1, len(ta | tb))

    def _alike(self, a: int, b: int) -> bool:
        """Do two passages say the same thing? Remembered: the same few are compared for
        question after question."""
        key = (a, b) if a < b else (b, a)
        found = self._same.get(key)
        if found is None:
            if len(self._same) > 100000:
                self._same.clear()
            found = self._same[key] = self._similarity(a, b) >= SAME_TEXT
        return found

    def answer(self, question: str, today: dt.date | None = None) -> Answer:
        question = (question or "").strip()
        if not question:
            raise EmptyQuestion("Please type a question, for example: "
                                "'Can I ask an officer to help with party political work?'")
        truncated = len(question) > MAX_QUESTION_CHARS
        if truncated:
            question = question[:MAX_QUESTION_CHARS]
        special = classify(question, self.facts)
        if special:
            intent, lead = special
            return Answer(question=question, answered=False, lead=lead, citations=(),
                          escalation=Escalation(offered=True, reason="asked" if intent == "ask_mo"
                                                else "about_bot", prominent=intent == "ask_mo"),
                          truncated=truncated, intent=intent)
        query, chosen, _ = self._search(question)
        terms = query.terms
        sensitive = bool(SENSITIVE_TERMS & set(terms))
        answered = bool(chosen) and self._decide(question, query, chosen)[1]
        citations = tuple(self._cite(position, score) for score, position in chosen) if answered else ()
        notices = self._notices(citations, today or dt.date.today())
        if truncated:
            notices = (f"Your question was long: I answered from its first {MAX_QUESTION_CHARS} "
                       "characters.",) + notices
        if answered:
            lead = f"{citations[0].label()}: \u201c{self.key_sentence(citations[0].text, terms)}\u201d"
            reason = "sensitive" if sensitive else "available"
        elif is_small_talk(question):
            lead = ("You're welcome. " if re.search(r"thank|cheers", question, re.I) else "") + \
                "Ask me about how councillors and officers work together."
            reason = "not_found"
        else:
            lead = NOT_FOUND + " You can ask the monitoring officer."
            reason = "not_found"
        if sensitive:
            lead = f"{SENSITIVE_LEAD} {lead}"
        return Answer(question=question, answered=answered, lead=lead, citations=citations,
                      escalation=Escalation(offered=True, reason=reason,
                                            prominent=(not answered and not is_small_talk(question))
                                            or sensitive),
                      notices=notices, sensitive=sensitive, truncated=truncated)

    def ranked_citations(self, question: str) -> tuple[Citation, ...]:
        """The citations the bot would give if it were confident (for evaluation)."""
        _, chosen, _ = self._search(question[:MAX_QUESTION_CHARS])
        return tuple(self._cite(p, s) for s, p in chosen)

    def _corrections(self) -> dict[str, list[str]]:
        """Every word the passages say (heading, text)'s one-letter deletions -> the words (a
        spelling corrector's index). Hints are questions as people type them, typos and all."""
        if self._deletes is None:
            out: dict[str, list[str]] = {}
            for term in self._spelled():
                if len(term) >= 3 and term.isalpha():
                    for variant in {term} | {term[:i] + term[i + 1:] for i in range(len(term))}:
                        out.setdefault(variant, []).append(term)
            self._deletes = out
        return self._deletes

    def _spelled(self) -> frozenset[str]:
        if self._spelled_words is None:
            self._spelled_words = frozenset().union(*self.index.content_terms)
        return self._spelled_words

    def correct(self, term: str) -> str:
        """A misspelt word ("protocl", "officr") -> the knowledge base's word one edit away.

        Only words no passage says and general English hardly uses are corrected; of several
        candidates the one the knowledge base uses most wins."""
        if (len(term) < 4 or not term.isalpha() or term in self._spelled()
                or decision.zipf(term) >= TYPO_MAX_ZIPF):
            return term
        index = self._corrections()
        candidates: set[str] = set()
        for variant in {term} | {term[:i] + term[i + 1:] for i in range(len(term))}:
            candidates.update(index.get(variant, ()))
        return max(sorted(candidates), key=self.index.count, default=term)

    def _own_terms(self, text: str) -> tuple[list[str], list[str]]:
        own, extra = self.analyzer.query_terms(text)
        return list(dict.fromkeys(self.correct(t) for t in own)), extra

    def query(self, question: str) -> Query:
        question = _THANKS.sub("", _GREETING.sub("", question)) or question
        focus, context = split_message(question)
        own, extra = self._own_terms(focus)
        weights = dict.fromkeys(own, 1.0)
        if context:
            informative = sum(decision.rarity(t) for t in own if self.index.knows(t))
            share = CONTEXT_WEIGHT if informative >= 1.0 else CONTEXT_WEIGHT_VAGUE
            context_own, context_extra = self._own_terms(context)
            for t in context_own:
                weights.setdefault(t, share)
            extra += [t for t in context_extra if t not in extra]
        information = sum(decision.rarity(t) * w for t, w in weights.items())
        named, naming_terms = self._named_documents(question)
        if named:
            kept = {t: w for t, w in weights.items() if t not in naming_terms}
            weights = kept or weights
        extra = [t for t in extra if t not in weights]
        return Query(focus=focus, context=context, weights=weights, extra=extra,
                     pairs=word_pairs(self.analyzer.terms(focus)), named=named,
                     information=information)

    def _search(self, question: str) -> tuple[Query, list[tuple[float, int]], list[tuple[float, int]]]:
        """The query, the chosen (score, passage position) pairs best first, and the ranking."""
        query = self.query(question)
        about_exercise = bool(_ABOUT_EXERCISE.search(question))
        weights = self._weights
        if query.named:  # the named document comes first, whatever its kind
            weights = np.where(np.isin(self._doc_ids, list(query.named)),
                               NAMED_WEIGHT * max(AUTHORITY.values()), weights)
        # Editions (editions.py): "the 2026 protocol"/"the old protocol" keeps that edition's
        # words; "which version is current" looks at the version table.
        terms, weights, old_named = self.editions.adjust(question, query.terms, weights)
        for term in [t for t in query.terms if t not in terms]:
            del query.weights[term]
        for term in terms:
            query.weights.setdefault(term, 1.0)
        exclude = None if about_exercise else self._exercises
        hits = self.index.search(query.weighted(), exclude=exclude, limit=CANDIDATES)
        if FEEDBACK_WEIGHT and hits:
            query.feedback = self._feedback(query, [h.position for h in hits[:FEEDBACK_PASSAGES]])
            if query.feedback:
                hits = self.index.search(query.weighted(), exclude=exclude, limit=CANDIDATES)
        if SENTENCE_WEIGHT:
            hits = self._sentence_rerank(query, hits[:RERANKED]) + hits[RERANKED:]
        positions = [h.position for h in hits]
        ranked = sorted(zip((np.asarray([h.relevance for h in hits]) * weights[positions]).tolist(),
                            positions), key=lambda sp: -sp[0])
        ranked = self.editions.drop_replaced(ranked, keep=old_named)  # never a replaced clause
        # Someone asking about "the 2012 workbook" wants that edition's words, not its successor's.
        words = set(re.findall(r"\w+", question.lower()))
        named = {doc_id for doc_id in self._successor_docs
                 if self.kb.documents[doc_id].edition.lower() in words}
        return query, self._choose(ranked, keep=named | old_named), ranked

    def _sentence_rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        """Each candidate's relevance plus SENTENCE_WEIGHT times the question's weight that its
        best single sentence (or heading) holds: an answer says it in one place."""
        weighted = {t: w * self.index.idf(t) for t, w in query.weights.items()}
        for t in query.extra:
            weighted.setdefault(t, RELATED_WEIGHT * self.index.idf(t))
        items = list(weighted.items())
        out = []
        for h in hits:
            where = self._sentence_index(h.position)
            held: dict[int, float] = {}
            for t, w in items:
                for i in where.get(t, ()):
                    held[i] = held.get(i, 0.0) + w
            out.append(Hit(h.position, h.relevance + SENTENCE_WEIGHT * max(held.values(), default=0.0)))
        return out

    def _sentence_index(self, position: int) -> dict[str, tuple[int, ...]]:
        """term -> the passage's sentences (the heading is one) that hold it, built once."""
        found = self._sentence_sets.get(position)
        if found is None:
            passage = self.kb.passages[position]
            where: dict[str, list[int]] = {}
            for i, (_, terms) in enumerate(self._sentences(passage.heading + ". " + passage.text)):
                for t in terms:
                    where.setdefault(t, []).append(i)
            found = self._sentence_sets[position] = {t: tuple(i) for t, i in where.items()}
        return found

    def _feedback(self, query: Query, top: list[int]) -> list[str]:
        """Words the best passages share (pseudo-relevance feedback): what the question is about,
        in the knowledge base's own words ("lean on" -> the passage's "undue pressure")."""
        counts: dict[str, int] = {}
        for position in top:
            for t in self._content[position]:
                counts[t] = counts.get(t, 0) + 1
        asked = set(query.weights) | set(query.extra)
        scored = [(c * self.index.idf(t), t) for t, c in counts.items()
                  if c >= 2 and t not in asked]
        scored.sort(reverse=True)
        return [t for _, t in scored[:FEEDBACK_TERMS]]

    def _sentences(self, text: str) -> list[tuple[str, frozenset[str]]]:
        """A passage's sentences (list items) and their terms, analysed once per passage."""
        cached = self._sentence_cache.get(text)
        if cached is None:
            cached = [(s, frozenset(self.analyzer.terms(s))) for s in
                      (part.strip().removeprefix("- ").strip() for part in _SENTENCE.split(text)) if s]
            if len(self._sentence_cache) < 50000:
                self._sentence_cache[text] = cached
        return cached

    def key_sentence(self, text: str, terms: list[str]) -> str:
        """The passage's sentence (or list item) that best matches the question, word for word.

        The lead line quotes it so the short answer is the source's own words, never ours.
        """
        wanted = set(terms)
        best, best_score = "", -1.0
        for sentence, sentence_terms in self._sentences(text):
            if len(sentence) < 12:
                continue
            score = sum(self.index.idf(t) for t in wanted & sentence_terms)
            if score > best_score:
                best, best_score = sentence, score
        if len(best) > LEAD_CHARS:
            best = best[:LEAD_CHARS].rsplit(" ", 1)[0] + " ..."
        return best

    def features(self, question: str, query: Query, chosen: list[tuple[float, int]]) -> dict[str, float]:
        """The decision's inputs for the best passage (see decision.py)."""
        score, position = chosen[0]
        covered_terms = self.index.terms[position]
        # Informative weight of each question word: general-English rarity x its weight here.
        info = {t: decision.rarity(t) * w for t, w in query.weights.items()}
        total = sum(info.values()) or 1.0
        covered = sum(v for t, v in info.items() if t in covered_terms)
        unknown = sum(v for t, v in info.items() if not self.index.knows(t))
        uncovered = [decision.rarity(t) for t, w in query.weights.items()
                     if t not in covered_terms and w >= 0.99]
        idf_w = {t: self.index.idf(t) * w for t, w in query.weights.items() if self.index.knows(t)}
        idf_total = sum(idf_w.values())
        own = [(w, t) for t, w in query.weights.items()]  # the question's words, no related ones
        reach = self.index.reach(own) or 1.0
        raw = self.index.word_score(own, position)
        second = chosen[1][0] if len(chosen) > 1 else 0.0
        near = self.declined.declined_share(own)
        # A passage nobody wrote hints for (a new document) has fewer examples near a question
        # about it: its nearness to declined messages is weighed on its own.
        hinted = bool(self.kb.passages[position].questions)
        kind = decision.fact_kind(query.focus)
        fact = kind is not None and not self._states_fact(kind, position, query)
        spec = {t: decision.specificity(t, self.index.count(t), self.index.total_words)
                for t in query.weights}
        informative = [t for t, w in query.weights.items() if w >= 0.99 and decision.rarity(t) >= 0.2]
        spec_total = sum(w for w in query.weights.values()) or 1.0
        named = [t for n in decision.names(query.focus) for t in self.analyzer.terms(n)]
        return {
            "statement": decision.statement(question),
            "names_missing": (sum(1 for t in named if t not in covered_terms) / len(named)
                              if named else 0.0),
            "domain": sum(spec[t] * w for t, w in query.weights.items()) / spec_total,
            "domain_low": min((spec[t] for t in informative), default=0.5),
            "cover_rare": covered / total,
            "cover_idf": (sum(v for t, v in idf_w.items() if t in covered_terms) / idf_total
                          if idf_total else 0.0),
            "unknown_rare": unknown / total,
            "max_uncovered": max(uncovered, default=0.0),
            "reach": min(2.0, raw / reach),
            "declined_near": near if hinted else 0.0,
            "declined_near_unhinted": 0.0 if hinted else near,
            "margin": (score - second) / score if score else 0.0,
            "fact_gap": 1.0 if fact else 0.0,
            "informative_words": min(1.0, sum(decision.rarity(t) for t, w in query.weights.items()
                                              if w >= 0.99) / 4),
        }

    def _states_fact(self, kind: str, position: int, query: Query) -> bool:
        """Does a sentence of the passage state a fact of this kind about the question's topic?"""
        topic = {t for t, w in query.weights.items() if w >= 0.99 and decision.rarity(t) >= 0.2}
        for sentence, sentence_terms in self._sentences(self.kb.passages[position].text):
            if decision.states_fact(kind, sentence) and (not topic or topic & sentence_terms):
                return True
        return False

    def _decide(self, question: str, query: Query, chosen: list[tuple[float, int]]
                ) -> tuple[dict[str, float], bool, float, str]:
        """(features, answer?, probability, why)."""
        if is_small_talk(question):
            return {}, False, 0.0, "small talk"
        if not query.weights:
            return {}, False, 0.0, "no searchable words"
        if query.information < MIN_INFORMATION:
            return {}, False, 0.0, "too little to go on (only everyday words)"
        listed = []
        if self._off_topic:
            terms = self.analyzer.terms(question)
            present = set(terms)
            listed = [" ".join(p) for p in self._off_topic if p[0] in present and any(
                tuple(terms[i:i + len(p)]) == p for i in range(len(terms) - len(p) + 1))]
        features = self.features(question, query, chosen)
        p, ok = self.model.decide(features)
        if listed:
            return features, False, p, f"off-topic list: {', '.join(listed)}"
        return features, ok, p, "model"

    def explain(self, question: str) -> dict:
        """Why the bot answers or declines: the question's words, each feature, the decision,
        and the passages considered with their scores."""
        question = (question or "").strip()[:MAX_QUESTION_CHARS]
        special = classify(question, self.facts)
        out: dict = {"question": question}
        if special:
            out.update(intent=special[0], answered=False, decision=f"fixed reply ({special[0]})",
                       reply=special[1])
            return out
        query, chosen, ranked = self._search(question)
        out.update(intent="question", focus=query.focus, context=query.context,
                   terms=[{"term": t, "weight": w, "known": self.index.knows(t),
                           "idf": round(self.index.idf(t), 3),
                           "english_zipf": round(decision.zipf(t), 2), "rarity": round(decision.rarity(t), 3)}
                          for t, w in query.weights.items()],
                   related=query.extra, feedback=query.feedback)
        if chosen:
            features, ok, p, why = self._decide(question, query, chosen)
            contributions = self.model.contributions(features) if features else {}
            out.update(features={k: round(v, 3) for k, v in features.items()},
                       contributions={k: round(v, 3) for k, v in contributions.items()},
                       bias=self.model.bias, probability=round(p, 3),
                       threshold=self.model.threshold, answered=ok, decision=why)
        else:
            out.update(answered=False, decision="no passage shares a word with the question")
        chosen_positions = {p for _, p in chosen}
        out["passages"] = [{"passage": self.kb.passages[p].key, "heading": self.kb.passages[p].heading,
                            "score": round(s, 3), "cited": p in chosen_positions}
                           for s, p in ranked[:10]]
        return out

    def coverage(self, terms: list[str], position: int) -> float:
        """Share of the terms' idf weight that the passage contains."""
        if not terms:
            return 0.0
        total = sum(self.index.idf(t) for t in terms)
        found = sum(self.index.idf(t) for t in terms if t in self.index.terms[position])
        return found / total

    def _named_documents(self, question: str) -> tuple[set[str], set[str]]:
        """The documents a question names by one of their aliases, and the naming words."""
        lowered = question.lower().replace("\u2019", "'")
        present = set(_ALIAS_WORD.findall(lowered))
        named: set[str] = set()
        words: set[str] = set()
        for doc_id, pattern, alias_terms, first in self._aliases:
            if first in present and pattern.search(lowered):
                named.add(doc_id)
                words |= alias_terms
        return named, words

    def _choose(self, ranked: list[tuple[float, int]], keep: set[str] = frozenset()
                ) -> list[tuple[float, int]]:
        """Up to MAX_CITATIONS passages, each saying something the others do not.

        A superseded passage is replaced by its successor's, unless its document is in `keep`.
        """
        chosen: list[tuple[float, int]] = []
        for score, position in ranked:
            if self.kb.passages[position].document_id not in keep:
                position = self._successor.get(position, position)
            if chosen and score < FOLLOWER_SHARE * chosen[0][0]:
                break
            if any(position == p or self._alike(position, p) for _, p in chosen):
                continue
            chosen.append((score, position))
            if len(chosen) == MAX_CITATIONS:
                break
        return chosen

    def _cite(self, position: int, score: float) -> Citation:
        passage: Passage = self.kb.passages[position]
        doc = self.kb.documents[passage.document_id]
        return Citation(document_id=doc.id, document=doc.title, edition=self.editions.label(doc.id),
                        ref=passage.ref, heading=passage.heading, text=passage.text,
                        score=score, kind=doc.kind, type=passage.type)

    def _notices(self, citations: tuple[Citation, ...], today: dt.date) -> tuple[str, ...]:
        out = []
        for doc_id in dict.fromkeys(c.document_id for c in citations):
            doc = self.kb.documents[doc_id]
            if (doc.kind == "protocol" and doc.review and doc.review < today
                    and doc_id not in self.editions.successor):  # replaced: labelled so
                out.append(f"The {doc.title} ({doc.edition}) was due for review by "
                           f"{doc.review:%d %B %Y}; please check with the monitoring officer "
                           "that it is still current.")
        return tuple(out)
