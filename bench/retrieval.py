"""Benchmark: index build time, per-question latency (shipped and 20,000-passage bases), cold start.

Prints figures; asserts nothing. Compares with plain rank-bm25 (BM25Okapi.get_scores over every
passage) in the same run. Usage: .venv/bin/python bench/retrieval.py [--passages 20000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from rank_bm25 import BM25Okapi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol_bot.answering import Answerer  # noqa: E402
from protocol_bot.config import SHIPPED_KNOWLEDGE  # noqa: E402
from protocol_bot.evaluation import load_eval_set  # noqa: E402
from protocol_bot.knowledge import KnowledgeBase, load_knowledge  # noqa: E402

EVAL = Path(__file__).resolve().parent.parent / "eval"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def synthetic(kb: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """A base of `size` passages made by shuffling real passages' words (realistic vocabulary)."""
    rng = random.Random(seed)
    words = [w for p in kb.passages for w in p.text.split()]
    vocabulary = words + [f"term{n}" for n in range(20000)]
    passages = list(kb.passages)
    while len(passages) < size:
        base = rng.choice(kb.passages)
        n = rng.randint(30, 200)
        text = " ".join(rng.choice(vocabulary) for _ in range(n))
        passages.append(replace(base, ref=f"{base.ref}/{len(passages)}", text=text, questions=()))
    return replace(kb, passages=tuple(passages))


def time_questions(fn, questions: list[str], rounds: int = 3) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - start) * 1000)
    return out


def measure(label: str, kb: KnowledgeBase, questions: list[str]) -> None:
    start = time.perf_counter()
    answerer = Answerer(kb)
    build = time.perf_counter() - start
    ours = time_questions(answerer.answer, questions)
    tokenized = [answerer.analyzer.terms(answerer.index.searchable_text(p)) for p in kb.passages]
    start = time.perf_counter()
    plain = BM25Okapi(tokenized)
    plain_build = time.perf_counter() - start
    theirs = time_questions(lambda q: plain.get_scores(answerer.analyzer.terms(q)), questions,
                            rounds=1)
    p50, p99, t50 = percentile(ours, 50), percentile(ours, 99), percentile(theirs, 50)
    print(f"{label}: {len(kb.passages)} passages")
    print(f"  index build          {build * 1000:8.1f} ms   (plain rank-bm25 {plain_build * 1000:.1f} ms)")
    print(f"  per question  p50    {p50:8.2f} ms   p99 {p99:.2f} ms")
    print(f"  plain rank-bm25 p50  {t50:8.2f} ms   p99 {percentile(theirs, 99):.2f} ms"
          f"   (plain rank-bm25 p50 / ours: {t50 / max(p50, 1e-9):.1f}x)")


def cold_start() -> float:
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "protocol_bot.cli", "ask", "--json",
                        "Can I ask an officer to help with party political work?"],
                       check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=20000)
    args = parser.parse_args()
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    questions = [q.question for q in load_eval_set(EVAL / "answerable.yaml")]
    questions += [q.question for q in load_eval_set(EVAL / "out_of_scope.yaml")]
    measure("shipped knowledge base", kb, questions)
    measure("generated knowledge base", synthetic(kb, args.passages), questions)
    print(f"cold start: `protocol-bot ask` end to end (median of 3) {cold_start() * 1000:.0f} ms")


if __name__ == "__main__":
    main()
