"""`protocol-bot kb check` and `kb export`: validate the knowledge base, file by file; write it out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli_ask import add_knowledge_option, resolve_knowledge
from .knowledge import KnowledgeError, knowledge_warnings, load_knowledge


def register(sub, kb_sub) -> None:
    check = kb_sub.add_parser("check", help="validate the knowledge base (exit 1 if it has problems)")
    check.add_argument("directory", nargs="?", type=Path, help="folder to check (default: --knowledge)")
    add_knowledge_option(check)
    check.set_defaults(func=run_check)

    export = kb_sub.add_parser("export", help="write the knowledge base as YAML files into DIR "
                                              "(for review and backups)")
    export.add_argument("directory", type=Path, metavar="DIR",
                        help="a new (or empty) folder to write the files into")
    export.add_argument("--version", type=_version, metavar="N",
                        help="PostgreSQL: this knowledge version (default: the latest)")
    add_knowledge_option(export)
    export.set_defaults(func=run_export)


def _version(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"'{text}' is not a version number (1, 2, ...)")
    return int(text)


def run_export(args: argparse.Namespace) -> int:
    """Exit 0 written; 1 the database or the folder could not be used; 2 DIR is not a new or
    empty folder, or no such version."""
    from .config import Config
    from .kb_changes import knowledge_files
    from .kb_versions import knowledge_only, open_database_knowledge, write_folder

    target: Path = args.directory
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        print(f"protocol-bot kb export: {target} is not an empty folder; give a new one "
              "(nothing is overwritten).", file=sys.stderr)
        return 2
    config = Config.from_env()
    opened = open_database_knowledge(config) if args.knowledge is None else None
    if opened is None:
        if args.version is not None:
            print("protocol-bot kb export: --version needs a PostgreSQL database "
                  "(PROTOCOL_BOT_DB); an SQLite bot keeps one knowledge folder.", file=sys.stderr)
            return 2
        source = resolve_knowledge(args)
        files = {p.relative_to(source).as_posix(): p.read_text(encoding="utf-8")
                 for p in knowledge_files(source)}
        what = str(source)
    else:
        store, database = opened
        try:
            version, files = database.files(args.version)
        except LookupError as exc:
            print(f"protocol-bot kb export: {exc}", file=sys.stderr)
            return 2
        finally:
            store.close()
        files = knowledge_only(files)
        what = f"knowledge version {version} of {store.path}"
    target.mkdir(parents=True, exist_ok=True)
    write_folder(target, files)
    print(f"Exported {what}: {len(files)} file(s) into {target}.")
    return 0


def run_check(args: argparse.Namespace) -> int:
    directory = args.directory or resolve_knowledge(args)
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
