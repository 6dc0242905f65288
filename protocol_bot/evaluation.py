"""Measures answer quality: hit@1, hit@3 and MRR on answerable questions, declines on the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .answering import Answerer

_SPACE = re.compile(r"\s+")


def _flat(text: str) -> str:
    text = "\n".join(line[2:] if line.startswith("- ") else line for line in text.splitlines())
    return _SPACE.sub(" ", text).strip().lower()


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    expect: tuple[str, ...] = ()


def load_eval_set(path: Path) -> list[EvalQuestion]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [EvalQuestion(str(item["question"]), tuple(item.get("expect") or ())) for item in data]


@dataclass
class EvalReport:
    answerable: int = 0
    out_of_scope: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_ranks: float = 0.0
    answered: int = 0
    declined: int = 0
    missed: list[str] = field(default_factory=list)
    wrongly_answered: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        n, m = max(1, self.answerable), max(1, self.out_of_scope)
        return {"answerable": self.answerable, "out_of_scope": self.out_of_scope,
                "hit@1": round(self.hit1 / n, 3), "hit@3": round(self.hit3 / n, 3),
                "mrr": round(self.reciprocal_ranks / n, 3),
                "answered": round(self.answered / n, 3), "declined": round(self.declined / m, 3)}

    def summary(self) -> str:
        f = self.figures()
        return (f"answerable questions: {f['answerable']}   out-of-scope questions: {f['out_of_scope']}\n"
                f"hit@1 {f['hit@1']:.3f}   hit@3 {f['hit@3']:.3f}   MRR {f['mrr']:.3f}\n"
                f"answerable answered {f['answered']:.3f}   out-of-scope declined {f['declined']:.3f}")

    def misses(self) -> str:
        return "\n".join(["", "Answerable, not hit in the top 3 or declined:", *self.missed,
                          "", "Out of scope, but answered:", *self.wrongly_answered])


def evaluate(answerer: Answerer, answerable: list[EvalQuestion],
             out_of_scope: list[EvalQuestion]) -> EvalReport:
    """A citation is a hit when its text contains one of the question's expected phrases.

    Rank is judged on the citations the bot would show, whether or not it felt confident, so
    hit@k measures retrieval and `answered` measures the confidence decision separately.
    """
    report = EvalReport(answerable=len(answerable), out_of_scope=len(out_of_scope))
    for item in answerable:
        answer = answerer.answer(item.question)
        shown = answer.citations or answerer.ranked_citations(item.question)
        expected = [_flat(e) for e in item.expect]
        rank = next((i for i, c in enumerate(shown, start=1)
                     if any(e in _flat(c.text) for e in expected)), None)
        report.answered += answer.answered
        if rank == 1:
            report.hit1 += 1
        if rank and rank <= 3:
            report.hit3 += 1
            report.reciprocal_ranks += 1 / rank
        if not rank or rank > 3 or not answer.answered:
            got = ", ".join(f"{c.document_id}#{c.ref}" for c in shown) or "nothing"
            report.missed.append(f"  [{'answered' if answer.answered else 'declined'}; rank {rank}] "
                                 f"{item.question}  -> {got}")
    for item in out_of_scope:
        answer = answerer.answer(item.question)
        if answer.answered:
            report.wrongly_answered.append(f"  {item.question}  -> "
                                           f"{answer.citations[0].document_id}#{answer.citations[0].ref}")
        else:
            report.declined += 1
    return report
