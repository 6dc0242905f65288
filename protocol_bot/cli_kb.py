"""`protocol-bot kb check`: validate the knowledge base and say what to fix, file by file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli_ask import add_knowledge_option
from .knowledge import KnowledgeError, knowledge_warnings, load_knowledge


def register(sub, kb_sub) -> None:
    check = kb_sub.add_parser("check", help="validate the knowledge base (exit 1 if it has problems)")
    check.add_argument("directory", nargs="?", type=Path, help="folder to check (default: --knowledge)")
    add_knowledge_option(check)
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    directory = args.directory or args.knowledge
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        count = len(exc.problems)
        print(f"{directory}: {count} problem{'s' if count != 1 else ''} to fix "
              "(the bot keeps answering from the last good version until they are):")
        for problem in exc.problems:
            print(f"  {problem}")
        return 1
    print(f"{directory}: OK - {len(kb.documents)} documents, {len(kb.passages)} passages.")
    for doc in sorted(kb.documents.values(), key=lambda d: d.id):
        count = sum(1 for p in kb.passages if p.document_id == doc.id)
        review = f", review by {doc.review:%d %B %Y}" if doc.review else ""
        print(f"  {doc.id}: {doc.title} ({doc.edition}), {doc.kind}, {count} passages{review}")
    warnings = knowledge_warnings(kb)
    if warnings:  # worth a look, but the bot answers from it as it is
        print(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:")
        for warning in warnings:
            print(f"  {warning}")
    return 0
