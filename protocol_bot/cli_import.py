"""`protocol-bot kb import FILE`: a new edition of the protocol, or a new document, from the
monitoring officer's Word, text or Markdown file. A dry run unless --publish.

    protocol-bot kb import FILE [--knowledge DIR] [--replaces DOC_ID | --id ID --title TITLE
        --kind KIND] [--edition E] [--adopted YYYY-MM-DD] [--review YYYY-MM-DD]
        [--publish --as PLATFORM:USER] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .cli_ask import add_knowledge_option, resolve_knowledge
from .config import SHIPPED_KNOWLEDGE, Config
from .faq import write_atomically
from .datadir import council_knowledge
from .editions import Comparison, compare, successors
from .importing import ImportFailed, ParsedDocument, parse, version_facts
from .knowledge import KnowledgeBase, KnowledgeError, Problem, knowledge_warnings, load_knowledge
from .models import KINDS

EXIT_PROBLEMS, EXIT_USAGE, EXIT_NOT_PERMITTED = 1, 2, 3
EVAL_DIR = SHIPPED_KNOWLEDGE.parent / "eval"


class UsageError(Exception):
    pass


def register(sub, kb_sub) -> None:
    p = kb_sub.add_parser(
        "import", help="import a protocol edition or a document from a .docx, .txt or .md file "
                       "(a dry run unless --publish)")
    p.add_argument("file", type=Path, metavar="FILE")
    add_knowledge_option(p)
    p.add_argument("--replaces", metavar="DOC_ID",
                   help="the document this file is a new edition of (e.g. mor-protocol-2026)")
    p.add_argument("--id", metavar="ID", help="a new document's id, e.g. social-media-guidance-2026")
    p.add_argument("--title", metavar="TITLE", help="a new document's title")
    p.add_argument("--kind", metavar="KIND", help=f"a new document's kind: {', '.join(KINDS)}")
    p.add_argument("--publisher", metavar="NAME",
                   help="a new document's publisher (default: the council's protocol's publisher)")
    p.add_argument("--edition", metavar="E", help="the edition, e.g. 2027 (default: the latest "
                                                  "row of the file's version table)")
    p.add_argument("--adopted", metavar="YYYY-MM-DD", type=_date_arg)
    p.add_argument("--review", metavar="YYYY-MM-DD", type=_date_arg)
    p.add_argument("--publish", action="store_true",
                   help="validate and write it into the knowledge folder; running bots use it at once")
    p.add_argument("--as", dest="actor", metavar="PLATFORM:USER",
                   help="the monitoring officer publishing it (needed with --publish)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_import)


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: write it as YYYY-MM-DD, "
                                         "for example 2027-03-31") from None


@dataclass
class Plan:
    """What an import would do: the new file's text, and any edit to the replaced edition's."""

    parsed: ParsedDocument
    document: dict
    passages: list[dict]
    target: Path
    text: str
    old_doc_id: str | None = None
    old_path: Path | None = None
    old_text: str | None = None
    comparison: Comparison | None = None
    proposed: KnowledgeBase | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    question_changes: list[dict] | None = None  # computed by the dry run
    notes: list[str] = field(default_factory=list)


def run_import(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        config = Config.from_env()
        if config.db_url and args.publish and args.knowledge is not None:
            raise UsageError("with a PostgreSQL database (PROTOCOL_BOT_DB) --publish adds the "
                             "document to the database's knowledge: leave out --knowledge.")
        knowledge_dir = Path(resolve_knowledge(args))
        if args.publish and knowledge_dir.resolve() == SHIPPED_KNOWLEDGE.resolve():
            # Never into the installed package: the council's own folder, created if need be.
            knowledge_dir = council_knowledge(config)
        if not knowledge_dir.is_dir():
            raise UsageError(f"--knowledge {knowledge_dir}: there is no such folder (set "
                             "--knowledge or PROTOCOL_BOT_KNOWLEDGE to the council's knowledge folder).")
        if args.publish:
            _check_publisher(args, config)
        try:
            current = load_knowledge(knowledge_dir)
        except KnowledgeError as exc:
            _print_problems(f"The knowledge base in {knowledge_dir} has problems; fix them "
                            "before importing:", exc.problems)
            return EXIT_PROBLEMS
        plan = build_plan(args, current, knowledge_dir)
    except UsageError as exc:
        print(f"protocol-bot kb import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImportFailed as exc:
        print(f"protocol-bot kb import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _NotPermitted as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_NOT_PERMITTED
    published = False
    if not plan.problems and args.publish:
        try:
            publish(plan, knowledge_dir, config, args.actor)
        except OSError as exc:
            written = " (the new file was written)" if plan.target.exists() else ""
            print(f"protocol-bot kb import: could not write to {knowledge_dir}{written}: "
                  f"{exc.strerror or exc}. Run `protocol-bot kb check` and try again.",
                  file=sys.stderr)
            return EXIT_PROBLEMS
        except KnowledgeError as exc:  # PostgreSQL: the latest version would not load with it
            plan.problems = list(exc.problems)
        published = not plan.problems
    _report(args, plan, current, published, time.perf_counter() - started)
    return EXIT_PROBLEMS if plan.problems else 0


# --- who may publish --------------------------------------------------------------------------------

class _NotPermitted(Exception):
    pass


def _check_publisher(args: argparse.Namespace, config: Config) -> None:
    if not args.actor:
        raise UsageError("--publish needs --as PLATFORM:USER, the monitoring officer publishing it "
                         "(for example --as cli:mo).")
    actor = args.actor.strip()
    if ":" not in actor or not actor.split(":", 1)[1]:
        raise UsageError(f"--as '{actor}' should be PLATFORM:USER, for example cli:mo.")
    if actor in config.monitoring_officers:
        return
    _audit(config, actor, "kb.import", target=str(args.file), outcome="refused",
           detail={"reason": "not a monitoring officer"})
    none = "" if config.monitoring_officers else " No monitoring officers are configured yet."
    raise _NotPermitted(f"Not permitted: {actor} is not a monitoring officer (set "
                        f"PROTOCOL_BOT_MONITORING_OFFICERS), so cannot publish to the knowledge "
                        f"base.{none}")


def _store(config: Config):
    from .sqlite_store import open_store

    return open_store(config)


def _audit(config: Config, actor: str, action: str, **kwargs) -> None:
    with suppress(Exception):  # an audit trail that cannot be written must not hide the refusal
        _store(config).record_audit(actor=actor, action=action, **kwargs)


# --- building the plan ------------------------------------------------------------------------------

def _edition_in(text: str, edition: str) -> bool:
    return bool(re.search(r"(?<![\w.-])" + re.escape(edition.lower()) + r"(?![\w-])", text.lower()))


def build_plan(args: argparse.Namespace, kb: KnowledgeBase, knowledge_dir: Path) -> Plan:
    if args.replaces and (args.id or args.kind):
        raise UsageError("give either --replaces DOC_ID (a new edition) or --id, --title and "
                         "--kind (a new document), not both.")
    if not args.replaces and not (args.id and args.kind):
        raise UsageError("say what the file is: --replaces DOC_ID for a new edition of a document "
                         "already loaded (e.g. --replaces mor-protocol-2026), or --id ID --title "
                         "TITLE --kind KIND for a new document.")
    try:
        parsed = parse(args.file)
    except ImportFailed:
        raise
    except (ValueError, KeyError, IndexError, OSError) as exc:  # a damaged file, said plainly
        raise ImportFailed(f"{args.file}: could not be read ({type(exc).__name__}: {exc}). Open "
                           "it in Word (or a text editor) and save it again.") from None
    if not parsed.passages:
        raise ImportFailed(f"{args.file}: no text found to make passages from.")
    facts = version_facts(parsed, args.edition)
    succ = successors(kb)
    if args.replaces:
        old = kb.documents.get(args.replaces)
        if old is None:
            raise UsageError(f"--replaces '{args.replaces}': there is no such document. Documents: "
                             + ", ".join(sorted(kb.documents)) + ".")
        if old.id in succ:
            raise UsageError(f"--replaces '{old.id}': it was already replaced by '{succ[old.id]}'; "
                             f"replace that one instead.")
        edition = args.edition or facts.get("edition")
        if not edition:
            raise UsageError(f"say which edition {args.file} is, e.g. --edition 2027 (its version "
                             "table does not say).")
        if edition == old.edition:
            raise UsageError(f"{args.file} is edition {edition}, the same as '{old.id}': give the "
                             "new edition with --edition.")
        doc_id = args.id or (re.sub(r"(?<![\w.])" + re.escape(old.edition) + r"(?![\w])", edition, old.id)
                             if _edition_in(old.id.replace("-", " "), old.edition)
                             else f"{old.id}-{edition}")
        title = args.title or old.title
        kind, publisher = old.kind, old.publisher
        aliases = [a for a in old.aliases if not _edition_in(a, old.edition)]
        aliases += [re.sub(re.escape(old.edition), edition, a) for a in old.aliases
                    if _edition_in(a, old.edition)]
        old_path = Path(old.path)
        name = (old_path.name.replace(old.edition, edition) if old.edition in old_path.name
                else f"{doc_id}.yaml")
        target = old_path.with_name(name)
    else:
        if args.kind not in KINDS:
            raise UsageError(f"--kind '{args.kind}' is not one of {', '.join(KINDS)}.")
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", args.id):
            raise UsageError(f"--id '{args.id}': use lower-case letters, digits and hyphens, "
                             "e.g. social-media-guidance-2026.")
        old = None
        doc_id, kind = args.id, args.kind
        title = args.title or parsed.title
        if not title:
            raise UsageError("give the document's title with --title.")
        protocol = next((d for d in kb.documents.values() if d.kind == "protocol"
                         and d.id not in succ), None)
        publisher = args.publisher or (protocol.publisher if protocol else None)
        if not publisher:
            raise UsageError("give the document's publisher with --publisher.")
        adopted = args.adopted or facts.get("adopted")
        edition = args.edition or facts.get("edition") or str((adopted or dt.date.today()).year)
        aliases = []
        target = knowledge_dir / f"{doc_id}.yaml"
    if doc_id in kb.documents:
        raise UsageError(f"document id '{doc_id}' is already in the knowledge base "
                         f"({kb.documents[doc_id].path}). Use --replaces {doc_id} for a new "
                         "edition, or another --id.")
    if target.exists():
        raise UsageError(f"{target} already exists; choose another --id.")
    if args.publisher and old is not None:
        publisher = args.publisher
    same_edition = facts.get("edition") == edition
    document = {
        "id": doc_id, "title": title, "publisher": publisher, "kind": kind, "edition": str(edition),
        "adopted": args.adopted or (facts.get("adopted") if same_edition else None),
        "review": args.review or (facts.get("review") if same_edition else None),
        "supersedes": old.id if old else None,
        "source": Path(args.file).name,
    }
    if aliases:
        document["aliases"] = aliases
    comparison = compare([p for p in kb.passages if p.document_id == old.id], parsed.passages) \
        if old else None
    passages = []
    for p in parsed.passages:
        if comparison and p.ref in comparison.carried:
            p.questions = list(comparison.carried[p.ref])
        passages.append(p.as_dict())
    plan = Plan(parsed=parsed, document=document, passages=passages, target=target,
                text=render_yaml(document, passages, args.file), comparison=comparison)
    if old:
        plan.old_doc_id, plan.old_path = old.id, Path(old.path)
        plan.old_text = mark_superseded(plan.old_path.read_text(encoding="utf-8"), doc_id)
    _validate(plan, knowledge_dir)
    if plan.proposed is not None:
        if not args.publish:  # the preview's job; publishing is the step after it
            plan.question_changes = first_citation_changes(kb, plan.proposed, old and old.id,
                                                           doc_id, comparison)
        plan.warnings = [w for w in knowledge_warnings(plan.proposed)
                         if w.file.endswith(target.name) or f"{doc_id}#" in w.message]
    return plan


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                   style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def render_yaml(document: dict, passages: list[dict], source: Path) -> str:
    header = (f"# Imported by `protocol-bot kb import` from {Path(source).name} on "
              f"{dt.date.today():%d %B %Y}.\n# Passage text is the source's own words; "
              "tables are laid out as lines that read on their own.\n")
    body = yaml.dump({"document": document, "passages": passages}, Dumper=_Dumper,
                     sort_keys=False, allow_unicode=True, width=100)
    return header + body.replace("\npassages:\n", "\n\npassages:\n")


def mark_superseded(text: str, new_id: str) -> str:
    """The replaced edition's file with `superseded_by: NEW` in its document section; the rest
    of the file (comments, hints) is kept as it was."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"document:\s*(#.*)?$", line)), None)
    if start is None:
        return text
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    section = range(start + 1, end)
    for i in section:
        m = re.match(r"(\s+)superseded_by:", lines[i])
        if m:
            lines[i] = f"{m.group(1)}superseded_by: {new_id}\n"
            return "".join(lines)
    for key in ("supersedes", "edition", "kind"):
        for i in section:
            m = re.match(rf"(\s+){key}:", lines[i])
            if m:
                lines.insert(i + 1, f"{m.group(1)}superseded_by: {new_id}\n")
                return "".join(lines)
    lines.insert(start + 1, f"  superseded_by: {new_id}\n")
    return "".join(lines)


def _validate(plan: Plan, knowledge_dir: Path) -> None:
    """Load the whole knowledge base with the new file (and the edited old one) in place, in a
    scratch copy named like the real folder, so problems name the files as the MO knows them."""
    with tempfile.TemporaryDirectory(prefix="protocol-bot-import-") as scratch:
        copy = Path(scratch) / knowledge_dir.name
        shutil.copytree(knowledge_dir, copy, ignore=shutil.ignore_patterns(".*"))
        (copy / plan.target.relative_to(knowledge_dir)).write_text(plan.text, encoding="utf-8")
        if plan.old_path is not None and plan.old_text is not None:
            (copy / plan.old_path.relative_to(knowledge_dir)).write_text(plan.old_text,
                                                                         encoding="utf-8")
        try:
            plan.proposed = load_knowledge(copy)
        except KnowledgeError as exc:
            plan.problems = list(exc.problems)


def _eval_questions() -> list[str]:
    out: list[str] = []
    for path in sorted(EVAL_DIR.glob("*.yaml")) if EVAL_DIR.is_dir() else []:
        with suppress(Exception):
            out.extend(str(item["question"]) for item in yaml.safe_load(path.read_text()) or []
                       if isinstance(item, dict) and item.get("question"))
    return out


def first_citation_changes(before: KnowledgeBase, after: KnowledgeBase, old_id: str | None,
                           new_id: str, comparison: Comparison | None) -> list[dict]:
    """The evaluation and FAQ questions whose first citation would change (a clause of the
    replaced edition and the same clause of the new one, renumbered or not, count as the
    same citation)."""
    moved = {old: new for new, old in (comparison.renumbered if comparison else {}).items()}
    removed = set(comparison.removed if comparison else ())

    def same_in_new(doc_id: str, ref: str) -> str:
        if doc_id != old_id:
            return f"{doc_id}#{ref}"
        if ref in removed:
            return f"{doc_id}#{ref} (removed)"
        return f"{new_id}#{moved.get(ref, ref)}"

    from .answering import Answerer

    faq = [q for p in before.passages if before.documents[p.document_id].kind == "faq"
           for q in p.questions]
    questions = list(dict.fromkeys(_eval_questions() + faq))
    old_answerer, new_answerer = Answerer(before), Answerer(after)

    def first(answerer, question: str, rename: bool) -> str:
        answer = answerer.answer(question)
        if not answer.citations:
            return "not answered"
        c = answer.citations[0]
        return same_in_new(c.document_id, c.ref) if rename else c.key

    changes = []
    for question in questions:
        was, now = first(old_answerer, question, True), first(new_answerer, question, False)
        if was != now:
            changes.append({"question": question,
                            "before": first(old_answerer, question, False), "after": now})
    return changes


# --- publishing -------------------------------------------------------------------------------------

@contextmanager
def _locked(knowledge_dir: Path):
    with open(knowledge_dir / ".kb-import.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(plan: Plan, knowledge_dir: Path, config: Config, actor: str) -> None:
    """Write the new edition (it names what it supersedes, so the knowledge base is consistent
    at once), then mark the old one; record the change; tell running bots to reload."""
    from . import kb_changes
    from .watcher import request_reload

    if config.db_url:
        return _publish_to_database(plan, knowledge_dir, config, actor)
    with _locked(knowledge_dir):
        plan.target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(plan.target, plan.text)
        if plan.old_path is not None and plan.old_text is not None:
            write_atomically(plan.old_path, plan.old_text)
    store = None
    with suppress(Exception):
        store = _store(config)
    if store is not None:
        comparison = plan.comparison
        store.record_audit(actor=actor, action="kb.import", target=str(plan.target.name), detail={
            "document_id": plan.document["id"], "edition": plan.document["edition"],
            "replaces": plan.old_doc_id, "source": plan.document["source"],
            "passages": len(plan.passages),
            "added": comparison.added if comparison else [p["ref"] for p in plan.passages],
            "changed": comparison.changed if comparison else [],
            "removed": comparison.removed if comparison else [],
            "renumbered": comparison.renumbered if comparison else {}})
        # The validated copy holds exactly the passages now written.
        kb_changes.record_state(store, knowledge_dir, plan.proposed, actor=actor,
                                source="kb import")
    request_reload(knowledge_dir, actor)


def _publish_to_database(plan: Plan, knowledge_dir: Path, config: Config, actor: str) -> None:
    """PostgreSQL: the same files, written into the latest knowledge version (not the copy the
    plan was made from, which may be older) and published as a new version."""
    from .kb_versions import open_database_knowledge

    target = plan.target.relative_to(knowledge_dir)
    old = plan.old_path.relative_to(knowledge_dir) if plan.old_path is not None else None

    def change(folder: Path) -> None:
        if (folder / target).exists():
            raise KnowledgeError([Problem(f"{folder.name}/{target}", 0, "", "was published by "
                                          "someone else meanwhile; run the import again.")])
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        (folder / target).write_text(plan.text, encoding="utf-8")
        if old is not None and (folder / old).is_file():
            (folder / old).write_text(mark_superseded((folder / old).read_text(encoding="utf-8"),
                                                      plan.document["id"]), encoding="utf-8")

    store, database = open_database_knowledge(config)
    try:
        _, version = database.write(actor, f"kb import {plan.document['source']}", change)
        comparison = plan.comparison
        store.record_audit(actor=actor, action="kb.import", target=str(target), detail={
            "document_id": plan.document["id"], "edition": plan.document["edition"],
            "replaces": plan.old_doc_id, "source": plan.document["source"],
            "passages": len(plan.passages), "version": version,
            "added": comparison.added if comparison else [p["ref"] for p in plan.passages],
            "changed": comparison.changed if comparison else [],
            "removed": comparison.removed if comparison else [],
            "renumbered": comparison.renumbered if comparison else {}})
        plan.notes.append(f"knowledge version {version}")
    finally:
        store.close()


# --- reporting --------------------------------------------------------------------------------------

def _print_problems(title: str, problems: list[Problem]) -> None:
    print(title, file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def _report(args, plan: Plan, kb: KnowledgeBase, published: bool, seconds: float) -> None:
    doc, comparison = plan.document, plan.comparison
    refs = [p["ref"] for p in plan.passages]
    added = comparison.added if comparison else refs
    changed = comparison.changed if comparison else []
    removed = comparison.removed if comparison else []
    if args.json:
        print(json.dumps({
            "document_id": doc["id"], "title": doc["title"], "edition": doc["edition"],
            "passages": len(refs), "refs": refs, "added": added, "changed": changed,
            "removed": removed, "published": published, "file": str(plan.target),
            "replaces": plan.old_doc_id,
            "renumbered": comparison.renumbered if comparison else {},
            "hints_to_check": comparison.hints_to_check if comparison else [],
            "first_citation_changes": plan.question_changes,
            "problems": [str(p) for p in plan.problems],
            "warnings": [str(w) for w in plan.warnings]}, ensure_ascii=False, indent=2))
        return
    out = [f"{args.file}: {len(refs)} passages for '{doc['id']}' - {doc['title']} "
           f"({doc['edition']}), {doc['kind']}, published by {doc['publisher']}",
           f"  adopted {doc['adopted'] or 'not given (--adopted)'}, review by "
           f"{doc['review'] or 'not given (--review)'}"]
    for p in plan.passages:
        first = p["text"].splitlines()[0] if p["text"] else ""
        first = first if len(first) <= 70 else first[:69].rsplit(" ", 1)[0] + " ..."
        hints = f"  [{len(p['questions'])} hints kept]" if p.get("questions") else ""
        out.append(f"  {p['ref']:<16} {p['type']:<8} {p['heading'][:28]:<28} {first}{hints}")
    if comparison is not None:
        out.append(f"Compared with {plan.old_doc_id} ({kb.documents[plan.old_doc_id].edition}), "
                   "clause by clause:")
        out.extend(comparison.lines())
        if removed:
            out.append(f"  Once published, removed clauses ({', '.join(removed)}) are cited only "
                       "when a question names the old edition.")
    if plan.question_changes is None:
        pass
    elif plan.question_changes:
        out.append(f"Questions whose first citation would change ({len(plan.question_changes)}):")
        for c in plan.question_changes:
            out.append(f"  {c['question']}\n      {c['before']} -> {c['after']}")
    else:
        out.append("No evaluation or FAQ question would get a different first citation.")
    for w in plan.warnings:
        out.append(f"Warning: {w}")
    if plan.problems:
        out.append(f"Not publishable: {len(plan.problems)} problem(s):")
        out.extend(f"  {p}" for p in plan.problems)
    elif published:
        note = f"; {plan.old_doc_id} is marked as superseded" if plan.old_doc_id else ""
        where = f"{plan.target.name} in {plan.notes[-1]}" if plan.notes else plan.target
        out.append(f"Published as {where}{note}. Running bots answer from it within "
                   f"seconds. ({seconds:.1f} s)")
    else:
        out.append(f"Dry run: nothing was changed. To publish it to {plan.target.parent}, run "
                   "the same command with --publish --as PLATFORM:USER.")
    print("\n".join(out))
