"""Adds answerable evaluation questions to the `questions:` hints of the passages that answer them.

    .venv/bin/python eval/attach_examples.py eval/train_answerable.yaml ... [--dry-run]

A question is attached to every passage (exercises aside) whose text holds one of its expected
phrases, unless a hint of that passage already has the same search words. The knowledge files are edited as text, so their
comments and layout stay; the result is loaded again and checked before anything is written.
A set whose questions become hints is a training set from then on: never report figures on it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol_bot.analyzer import Analyzer  # noqa: E402
from protocol_bot.evaluation import _flat, load_eval_set  # noqa: E402
from protocol_bot.knowledge import load_knowledge  # noqa: E402

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
_REF = re.compile(r'^  - ref: "?(.*?)"?\s*$')


def new_hints(knowledge: Path, sets: list[Path]) -> dict[tuple[str, str], list[str]]:
    """(document id, ref) -> the questions to add to that passage's hints."""
    kb = load_knowledge(knowledge)
    analyzer = Analyzer(kb.synonyms)
    texts = [(p, _flat(p.text)) for p in kb.passages if p.type != "exercise"]
    # A question whose search words another hint of the passage already has adds nothing.
    have = {(p.document_id, p.ref): {frozenset(analyzer.terms(q)) for q in p.questions}
            for p, _ in texts}
    out: dict[tuple[str, str], list[str]] = {}
    for path in sets:
        for item in load_eval_set(path):
            expected = [_flat(e) for e in item.expect]
            words = frozenset(analyzer.terms(item.question))
            for passage, text in texts:
                key = (passage.document_id, passage.ref)
                if any(e in text for e in expected) and words not in have[key]:
                    have[key].add(words)
                    out.setdefault(key, []).append(item.question)
    return out


def insert(lines: list[str], additions: dict[str, list[str]]) -> list[str]:
    """The file's lines with each passage's new hints after its last `questions:` item."""
    out: list[str] = []
    ref, in_questions = None, False
    pending: list[str] = []
    for line in lines:
        if in_questions and not line.startswith("      ") and line.strip():
            out.extend(pending)
            pending, in_questions = [], False
        match = _REF.match(line)
        if match:
            ref = match.group(1)
        elif line.rstrip() == "    questions:" and ref in additions:
            in_questions = True
            pending = [f"      - {json.dumps(q, ensure_ascii=False)}\n" for q in additions.pop(ref)]
        out.append(line)
    out.extend(pending)
    if additions:
        raise SystemExit(f"no `questions:` list found for {', '.join(additions)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    hints = new_hints(args.knowledge, args.sets)
    before = {(p.document_id, p.ref): len(p.questions) for p in load_knowledge(args.knowledge).passages}
    edited = {}
    for path in sorted(args.knowledge.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        doc = re.search(r"^  id: (\S+)", text, re.M)
        mine = {ref: qs for (doc_id, ref), qs in hints.items() if doc and doc_id == doc.group(1)}
        if mine:
            edited[path] = "".join(insert(text.splitlines(keepends=True), dict(mine)))
    print(f"{sum(map(len, hints.values()))} hints for {len(hints)} passages")
    if args.dry_run:
        return 0
    originals = {path: path.read_text(encoding="utf-8") for path in edited}
    for path, text in edited.items():
        path.write_text(text, encoding="utf-8")
    after = {(p.document_id, p.ref): len(p.questions) for p in load_knowledge(args.knowledge).passages}
    wrong = [k for k in before if after.get(k) != before[k] + len(hints.get(k, ()))]
    if wrong:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        raise SystemExit(f"not written: the hint counts came out wrong for {wrong[:5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
