"""`protocol-bot ask` and `protocol-bot eval`: answer questions from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from .about_bot import BotFacts
from .answering import EmptyQuestion
from .config import Config, ConfigError
from .datadir import default_knowledge
from .index_cache import data_dir
from .knowledge import KnowledgeError
from .live import LiveKnowledge
from .models import Answer


def add_knowledge_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--knowledge", metavar="DIR", type=Path, default=None,
                        help="knowledge base folder (default: with a PostgreSQL database its "
                             "latest knowledge version; else $PROTOCOL_BOT_KNOWLEDGE, else the "
                             "council's folder in the data directory, else the shipped one)")


def resolve_knowledge(args: argparse.Namespace) -> Path:
    """--knowledge, else the folder the settings name (kb_versions.command_knowledge)."""
    if args.knowledge is None:
        from .kb_versions import command_knowledge

        try:
            config = Config.from_env()
        except ConfigError:  # reported by the command with its own exit status
            return default_knowledge()
        args.knowledge = command_knowledge(config)
    return args.knowledge


def register(sub, kb_sub) -> None:
    ask = sub.add_parser("ask", help="answer a question, quoting and citing the protocol")
    ask.add_argument("question", nargs="+", help="the question; '-' reads one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="print JSON (JSON Lines with '-')")
    ask.add_argument("--explain", action="store_true",
                     help="show why: each feature of the decision, and the passages considered")
    add_knowledge_option(ask)
    ask.set_defaults(func=run_ask)

    ev = sub.add_parser("eval", help="measure answer quality on the evaluation questions")
    ev.add_argument("--answerable", type=Path, default=Path("eval/answerable.yaml"))
    ev.add_argument("--out-of-scope", type=Path, default=Path("eval/out_of_scope.yaml"))
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--no-hints", action="store_true",
                    help="ignore every passage's `questions:` hints (FAQ entries keep their own "
                         "question and answer)")
    ev.add_argument("--show-misses", action="store_true", help="list the questions it got wrong")
    add_knowledge_option(ev)
    ev.set_defaults(func=run_eval)


def _taught_hints():
    """Questions the MO taught (`kb teach`), from the bot's database when there is one."""
    import os

    from .sqlite_store import read_taught_hints

    db = os.environ.get("PROTOCOL_BOT_DB", "protocol-bot.db")
    if db.strip().lower().startswith(("postgresql://", "postgres://")):
        from .pg_store import read_taught_hints as read_from_server

        return lambda: read_from_server(db.strip())
    if "://" in db:
        return None
    return lambda: read_taught_hints(db)


def bot_facts() -> BotFacts:
    config = Config.from_env()
    return BotFacts(log_retention_days=config.log_retention_days,
                    logs_identity=config.log_keep_identity)


def load_live(directory: Path, cache: bool = True) -> LiveKnowledge | None:
    """The knowledge for answering here: its index from the cache in the data directory, once
    the bot has made one (asking never creates the data directory)."""
    cache_dir = data_dir(Config.from_env())
    try:
        return LiveKnowledge(directory, facts=bot_facts(), hints=_taught_hints(),
                             cache_dir=cache_dir if cache and cache_dir.parent.is_dir() else None)
    except KnowledgeError as exc:
        print(f"The knowledge base in {directory} has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def format_answer(answer: Answer, width: int = 88) -> str:
    """The answer as a person reads it in a terminal."""
    lines = [answer.lead]
    for notice in answer.notices:
        lines.append(f"Note: {notice}")
    for number, c in enumerate(answer.citations, start=1):
        lines.append("")
        lines.append(f"[{number}] {c.label()} - {c.heading}")
        for paragraph in c.text.splitlines():
            lines.extend(textwrap.wrap(paragraph, width, initial_indent="    ",
                                       subsequent_indent="      " if paragraph.startswith("- ") else "    ")
                         or [""])
    lines.append("")
    if answer.escalation.prominent:
        lines.append("-> Ask the monitoring officer: protocol-bot tickets open --asker cli:YOU \"...\"")
    else:
        lines.append("Not what you needed? You can ask the monitoring officer "
                     "(protocol-bot tickets open).")
    return "\n".join(lines)


def format_explain(e: dict) -> str:
    """`ask --explain` for a person: the words, the features, the decision, the passages."""
    lines = [f"question: {e['question']}", f"intent:   {e['intent']}"]
    if e["intent"] != "question":
        lines += [f"decision: {e['decision']}", f"reply:    {e['reply']}"]
        return "\n".join(lines)
    if e.get("context"):
        lines += [f"question part: {e['focus']}", f"context part:  {e['context']}"]
    lines.append("words (weight, known to the knowledge base, idf, general-English Zipf, rarity):")
    for t in e["terms"]:
        lines.append(f"  {t['term']:22} {t['weight']:.2f}  {'known' if t['known'] else 'UNKNOWN':7} "
                     f"idf {t['idf']:5.2f}  zipf {t['english_zipf']:.1f}  rarity {t['rarity']:.2f}")
    if e.get("related"):
        lines.append(f"related words added: {', '.join(e['related'])}")
    if e.get("feedback"):
        lines.append(f"feedback words added: {', '.join(e['feedback'])}")
    if "features" in e:
        lines.append("features (value x weight = contribution):")
        for name, value in e["features"].items():
            lines.append(f"  {name:18} {value:6.3f}   {e['contributions'].get(name, 0.0):+7.3f}")
        lines.append(f"  {'bias':18} {'':6}   {e['bias']:+7.3f}")
        lines.append(f"probability {e['probability']:.3f} (answers at >= {e['threshold']:.2f})")
    lines.append(f"decision: {'ANSWER' if e['answered'] else 'DECLINE'} ({e['decision']})")
    lines.append("passages considered (score, * = would be cited):")
    for p in e["passages"]:
        lines.append(f"  {'*' if p['cited'] else ' '} {p['score']:8.3f}  {p['passage']}  - {p['heading']}")
    return "\n".join(lines)


def run_ask(args: argparse.Namespace) -> int:
    questions = args.question
    from_stdin = questions == ["-"]
    live = load_live(resolve_knowledge(args))
    if live is None:
        return 1
    if args.explain:
        lines = [line for line in sys.stdin if line.strip()] if from_stdin else [" ".join(questions)]
        for line in lines:
            explained = live.answerer.explain(line)
            print(json.dumps(explained, ensure_ascii=False) if args.json else format_explain(explained))
        return 0
    if from_stdin:
        for line in sys.stdin:
            if not line.strip():
                continue
            answer = live.ask(line)
            print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else
                  format_answer(answer) + "\n", flush=True)
        return 0
    try:
        answer = live.ask(" ".join(questions))
    except EmptyQuestion as exc:
        print(f"protocol-bot: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=None if args.json else 2)
          if args.json else format_answer(answer))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from .answering import Answerer
    from .evaluation import evaluate, load_eval_set, without_hints

    live = load_live(resolve_knowledge(args), cache=False)
    if live is None:
        return 1
    answerer = live.answerer
    if args.no_hints:
        answerer = Answerer(without_hints(answerer.kb), answerer.facts)
    report = evaluate(answerer, load_eval_set(args.answerable), load_eval_set(args.out_of_scope))
    if args.json:
        print(json.dumps({**report.figures(), "categories": report.per_category()}, indent=2))
    else:
        print(report.summary())
        if args.show_misses:
            print(report.misses())
    return 0
