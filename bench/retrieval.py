"""Benchmark: index build, per-question latency and cold start, as ratios to plain rank-bm25.

Prints figures; asserts nothing. Every figure is the median of --runs runs (default 5), and
plain rank-bm25 (BM25Okapi.get_scores over every passage, same tokens) is measured in the same
run, so the ratios hold on a busy machine where absolute times do not.

    .venv/bin/python bench/retrieval.py [--runs 5] [--sizes 2000 20000]

Targets (README, "Speed"): per question at most 6x plain rank-bm25 on the shipped base; faster
than plain rank-bm25 at 20,000 passages; a cold `protocol-bot ask` under 1 s (on a 2,000-passage
base, index cached); reloading a 2,000-passage base under 2 s (measured both from scratch and as a
running bot's reload after an edit, which re-analyses only the changed passages).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml
from rank_bm25 import BM25Okapi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol_bot import analyzer as analyzer_module  # noqa: E402
from protocol_bot.answering import Answerer  # noqa: E402
from protocol_bot.config import SHIPPED_KNOWLEDGE  # noqa: E402
from protocol_bot.evaluation import load_eval_set  # noqa: E402
from protocol_bot.knowledge import KnowledgeBase, load_knowledge  # noqa: E402
from protocol_bot.live import LiveKnowledge  # noqa: E402

EVAL = Path(__file__).resolve().parent.parent / "eval"
QUESTION = "Can I ask an officer to help with party political work?"


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


def write_knowledge(kb: KnowledgeBase, shipped: int, target: Path) -> None:
    """The generated base as a knowledge folder (one file per document), for the CLI to load."""
    shutil.copytree(SHIPPED_KNOWLEDGE, target)
    for path in target.glob("*.yaml"):
        if path.name == "synonyms.yaml":
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc_id = data["document"]["id"]
        extra = [{"ref": p.ref, "heading": p.heading, "type": p.type, "text": p.text}
                 for p in kb.passages[shipped:] if p.document_id == doc_id]
        data["passages"].extend(extra)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def forget_analysis() -> None:
    """Empty the analyzer's per-process memories (passage texts, word stems), so every build is
    measured cold, as in a fresh process."""
    analyzer_module._PASSAGE_TERMS.clear()
    analyzer_module._TERMS.clear()
    analyzer_module.stem.cache_clear()


def per_question(fn, questions: list[str]) -> float:
    """Median time per question, in ms, over one pass through the questions."""
    times = []
    for q in questions:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(label: str, kb: KnowledgeBase, questions: list[str], runs: int) -> None:
    builds, plain_builds, ours, theirs = [], [], [], []
    for _ in range(runs):
        forget_analysis()
        start = time.perf_counter()
        answerer = Answerer(kb)
        builds.append(time.perf_counter() - start)
        tokenized = [answerer.analyzer.terms(answerer.index.searchable_text(p)) for p in kb.passages]
        start = time.perf_counter()
        plain = BM25Okapi(tokenized)
        plain_builds.append(time.perf_counter() - start)
        ours.append(per_question(answerer.answer, questions))
        theirs.append(per_question(lambda q: plain.get_scores(answerer.analyzer.terms(q)), questions))
    b, pb = statistics.median(builds), statistics.median(plain_builds)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"{label}: {len(kb.passages)} passages (median of {runs} runs)")
    print(f"  index build              {b * 1000:9.1f} ms   plain rank-bm25 {pb * 1000:8.1f} ms"
          f"   ratio {b / pb:5.1f}x")
    print(f"  answer, p50 per question {o:9.3f} ms   plain rank-bm25 {t:8.3f} ms"
          f"   ratio {o / t:5.2f}x")


def cli_times(knowledge: Path, data: Path, runs: int) -> tuple[float, float]:
    """(first `ask` with an empty cache, median of later cold `ask`s), in seconds."""
    env = {**os.environ, "PROTOCOL_BOT_KNOWLEDGE": str(knowledge), "PROTOCOL_BOT_DATA": str(data)}
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)  # asking never creates the data directory: without it, no cache

    def once() -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "protocol_bot.cli", "ask", "--json", QUESTION],
                       check=True, capture_output=True, env=env)
        return time.perf_counter() - start

    first = once()
    return first, statistics.median(once() for _ in range(runs))


def reload_times(knowledge: Path, runs: int) -> tuple[float, float]:
    """(median time to load and index the folder in a fresh Answerer, median time of a running
    bot's reload after one passage was added to one file)."""
    scratch = []
    for _ in range(runs):
        forget_analysis()
        start = time.perf_counter()
        Answerer(load_knowledge(knowledge))
        scratch.append(time.perf_counter() - start)
    live = LiveKnowledge(knowledge)
    target = knowledge / "member-officer-relations-protocol-2026.yaml"
    edits = []
    for run in range(runs):
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
        data["passages"].append({"ref": f"bench {run}", "heading": "Bench", "type": "clause",
                                 "text": f"Officers and councillors read bench passage {run}."})
        target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        problems = live.reload()
        edits.append(time.perf_counter() - start)
        assert not problems, problems
    return statistics.median(scratch), statistics.median(edits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    kb = load_knowledge(SHIPPED_KNOWLEDGE)
    questions = [q.question for q in load_eval_set(EVAL / "answerable.yaml")]
    questions += [q.question for q in load_eval_set(EVAL / "out_of_scope.yaml")]
    measure("shipped knowledge base", kb, questions, args.runs)
    for size in args.sizes:
        measure("generated knowledge base", synthetic(kb, size), questions, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        shipped_first, shipped_cold = cli_times(SHIPPED_KNOWLEDGE, Path(tmp) / "data0", args.runs)
        print(f"cold `protocol-bot ask`, shipped base: {shipped_cold * 1000:.0f} ms "
              f"(first run, building the cache: {shipped_first * 1000:.0f} ms)")
        folder = Path(tmp) / "knowledge2k"
        write_knowledge(synthetic(kb, 2000), len(kb.passages), folder)
        first, cold = cli_times(folder, Path(tmp) / "data", args.runs)
        print(f"cold `protocol-bot ask`, 2,000-passage base: {cold * 1000:.0f} ms "
              f"(first run, building the cache: {first * 1000:.0f} ms)")
        scratch, edit = reload_times(folder, args.runs)
        print(f"2,000-passage base: load + index from scratch {scratch * 1000:.0f} ms; "
              f"a running bot's reload after a passage was added {edit * 1000:.0f} ms")


if __name__ == "__main__":
    main()
