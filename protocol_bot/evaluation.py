"""Measures answer quality: hit@1, hit@3 and MRR on answerable questions, declines on the rest,
overall and per category."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .answering import Answerer
from .knowledge import KnowledgeBase

_SPACE = re.compile(r"\s+")


def _flat(text: str) -> str:
    text = "\n".join(line[2:] if line.startswith("- ") else line for line in text.splitlines())
    return _SPACE.sub(" ", text).strip().lower()


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    expect: tuple[str, ...] = ()
    category: str = ""


def load_eval_set(path: Path) -> list[EvalQuestion]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [EvalQuestion(str(item["question"]), tuple(item.get("expect") or ()),
                         str(item.get("category") or item.get("why") or item.get("source") or ""))
            for item in data]


def without_hints(kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base with every passage's `questions:` hints removed, taught ones included.
    An FAQ entry keeps its own question (its heading) and answer (its text)."""
    return replace(kb, passages=tuple(replace(p, questions=()) for p in kb.passages))


@dataclass
class Tally:
    answerable: int = 0
    out_of_scope: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_ranks: float = 0.0
    answered: int = 0
    answered_right: int = 0  # answered, with a right passage among the citations
    declined: int = 0

    def figures(self) -> dict[str, float]:
        n, m = max(1, self.answerable), max(1, self.out_of_scope)
        out: dict[str, float] = {"answerable": self.answerable, "out_of_scope": self.out_of_scope}
        if self.answerable:
            out.update({"hit@1": round(self.hit1 / n, 3), "hit@3": round(self.hit3 / n, 3),
                        "mrr": round(self.reciprocal_ranks / n, 3),
                        "answered": round(self.answered / n, 3),
                        "right_when_answered": round(self.answered_right / max(1, self.answered), 3)})
        if self.out_of_scope:
            out["declined"] = round(self.declined / m, 3)
        return out


@dataclass
class EvalReport(Tally):
    missed: list[str] = field(default_factory=list)
    wrongly_answered: list[str] = field(default_factory=list)
    categories: dict[str, Tally] = field(default_factory=dict)

    def figures(self) -> dict[str, float]:
        out = super().figures()
        out.setdefault("hit@1", 0.0)
        out.setdefault("hit@3", 0.0)
        out.setdefault("mrr", 0.0)
        out.setdefault("answered", 0.0)
        out.setdefault("right_when_answered", 0.0)
        out.setdefault("declined", 0.0)
        return out

    def per_category(self) -> dict[str, dict[str, float]]:
        return {name: tally.figures() for name, tally in sorted(self.categories.items())}

    def summary(self) -> str:
        f = self.figures()
        lines = [f"answerable questions: {f['answerable']}   out-of-scope questions: {f['out_of_scope']}",
                 f"hit@1 {f['hit@1']:.3f}   hit@3 {f['hit@3']:.3f}   MRR {f['mrr']:.3f}",
                 f"answerable answered {f['answered']:.3f} (right passage cited when answered: "
                 f"{f['right_when_answered']:.3f})   out-of-scope declined {f['declined']:.3f}"]
        if len(self.categories) > 1 or any(self.categories):
            lines += ["", "per category:"]
            for name, c in self.per_category().items():
                if c["answerable"]:
                    lines.append(f"  {name or '-':28} n={c['answerable']:<4} hit@1 {c['hit@1']:.3f}  "
                                 f"hit@3 {c['hit@3']:.3f}  answered {c['answered']:.3f}")
                else:
                    lines.append(f"  {name or '-':28} n={c['out_of_scope']:<4} declined/handled "
                                 f"{c['declined']:.3f}")
        return "\n".join(lines)

    def misses(self) -> str:
        return "\n".join(["", "Answerable, not hit in the top 3 or declined:", *self.missed,
                          "", "Out of scope, but answered (or about the bot, not recognised):",
                          *self.wrongly_answered])


def evaluate(answerer: Answerer, answerable: list[EvalQuestion],
             out_of_scope: list[EvalQuestion]) -> EvalReport:
    """A citation is a hit when its text contains one of the question's expected phrases.

    Rank is judged on the citations the bot would show, whether or not it felt confident, so
    hit@k measures retrieval and `answered` measures the confidence decision separately. An
    out-of-scope question counts as handled when it is declined; one in the category
    "about-bot" only when the bot recognises it as being about itself (intent "about_bot").
    """
    report = EvalReport(answerable=len(answerable), out_of_scope=len(out_of_scope))
    for item in answerable:
        tally = report.categories.setdefault("answerable: " + (item.category or "-"), Tally())
        tally.answerable += 1
        answer = answerer.answer(item.question)
        shown = answer.citations or answerer.ranked_citations(item.question)
        expected = [_flat(e) for e in item.expect]
        rank = next((i for i, c in enumerate(shown, start=1)
                     if any(e in _flat(c.text) for e in expected)), None)
        for t in (report, tally):
            t.answered += answer.answered
            if rank == 1:
                t.hit1 += 1
            if rank and rank <= 3:
                t.hit3 += 1
                t.reciprocal_ranks += 1 / rank
                t.answered_right += answer.answered
        if not rank or rank > 3 or not answer.answered:
            got = ", ".join(c.key for c in shown) or "nothing"
            report.missed.append(f"  [{'answered' if answer.answered else 'declined'}; rank {rank}] "
                                 f"{item.question}  -> {got}")
    for item in out_of_scope:
        tally = report.categories.setdefault("out of scope: " + (item.category or "-"), Tally())
        tally.out_of_scope += 1
        answer = answerer.answer(item.question)
        if item.category == "about-bot":
            handled = answer.intent == "about_bot"
        else:
            handled = not answer.answered
        if handled:
            report.declined += 1
            tally.declined += 1
        elif answer.answered:
            report.wrongly_answered.append(f"  {item.question}  -> {answer.citations[0].key}")
        else:
            report.wrongly_answered.append(f"  {item.question}  -> intent {answer.intent}")
    return report
