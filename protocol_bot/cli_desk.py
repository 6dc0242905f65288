"""The monitoring officer's commands: `tickets ...`, `faq ...`, `kb reload`, `kb teach`,
`report`, `log show`, `log purge`."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from .config import Config, ConfigError, check_principal, parse_days
from .datadir import council_knowledge
from .desk import Desk, DeskError, NotPermitted, parse_principal, ticket_to_dict
from .faq import FaqNotPublished, FaqWriteError
from .knowledge import KnowledgeError
from .models import TICKET_STATUSES, Asker, Ticket
from .sqlite_store import open_store
from .store import EntryNotFound, StoreError, TicketNotFound

# Exit statuses scripts can rely on (the README has the table).
EXIT_PROBLEMS = 1
EXIT_USAGE = 2  # a mistyped command, a bad option value or a bad setting (argparse uses 2 too)
EXIT_NOT_PERMITTED = 3
EXIT_NO_SUCH_TICKET = 4
EXIT_REFUSED = 5  # e.g. answering a closed ticket, assigning to someone who is not an MO

# An answer longer than this is surely the wrong file (a whole document, a binary).
MAX_ANSWER_BYTES = 100 * 1024


class UsageError(Exception):
    """An option's value cannot be used (a missing --text-file, an empty question): exit 2."""


def _principal(text: str) -> str:
    try:
        return check_principal(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def _days(text: str) -> int:
    try:
        return parse_days(text, "--days")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def _as_option(parser: argparse.ArgumentParser, what: str) -> None:
    # Not required by argparse: a missing --as is "not permitted" (exit 3), like a wrong one.
    parser.add_argument("--as", type=_principal, dest="actor", metavar="PLATFORM:USER",
                        help=f"the monitoring officer {what} (must be in "
                             "PROTOCOL_BOT_MONITORING_OFFICERS; recorded in the audit trail)")


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON value on stdout")


def register(sub, kb_sub) -> None:
    tickets = sub.add_parser("tickets", help="the monitoring officer's escalation tickets")
    tickets.set_defaults(func=lambda args: (tickets.print_help(), 2)[1])
    tsub = tickets.add_subparsers(dest="tickets_command", metavar="TICKETS_COMMAND")

    p = tsub.add_parser("open", help="open a ticket for someone's question")
    p.add_argument("question")
    p.add_argument("--asker", required=True, type=_principal, metavar="PLATFORM:USER")
    p.add_argument("--name", default="", help="the asker's display name")
    p.add_argument("--key", help="idempotency key: the same key gives the same ticket "
                                 "(default: a fresh one)")
    p.add_argument("--context", default="", help="anything the asker added")
    p.add_argument("--ref", action="append", default=[], dest="refs", metavar="REF",
                   help="a clause the bot cited (repeatable)")
    _json_flag(p)
    p.set_defaults(func=_run(_open, create=True, prepare=_prepare_open))

    p = tsub.add_parser("list", help="list tickets")
    _as_option(p, "listing them")
    p.add_argument("--status", choices=TICKET_STATUSES)
    _json_flag(p)
    p.set_defaults(func=_run(_list, mo="tickets.list"))

    for name, helptext in (("show", "show a ticket and its history"), ("close", "close a ticket"),
                           ("reopen", "reopen an answered or closed ticket")):
        p = tsub.add_parser(name, help=helptext)
        p.add_argument("ticket_id", metavar="ID")
        _as_option(p, "acting")
        _json_flag(p)
        p.set_defaults(func=_run(_simple(name), mo=f"tickets.{name}"))

    p = tsub.add_parser("assign", help="give a ticket to a monitoring officer or deputy")
    p.add_argument("ticket_id", metavar="ID")
    p.add_argument("--to", required=True, type=_principal, metavar="PLATFORM:USER")
    _as_option(p, "acting")
    _json_flag(p)
    p.set_defaults(func=_run(_assign, mo="tickets.assign"))

    p = tsub.add_parser("answer", help="answer a ticket; the answer is sent to the asker")
    p.add_argument("ticket_id", metavar="ID")
    _as_option(p, "answering")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the answer")
    text.add_argument("--text-file", metavar="PATH", help="read the answer from a file (- for stdin)")
    p.add_argument("--save-faq", action="store_true",
                   help="also save the question and answer as a monitoring-officer FAQ entry")
    p.add_argument("--question", action="append", default=[], dest="variants", metavar="VARIANT",
                   help="another wording of the question, for the FAQ entry (repeatable)")
    faq_text = p.add_mutually_exclusive_group()
    faq_text.add_argument("--faq-text", help="the public FAQ text, if not the answer itself "
                                             "(the answer is the personal reply to the asker)")
    faq_text.add_argument("--faq-text-file", metavar="PATH",
                          help="read the public FAQ text from a file (- for stdin)")
    _json_flag(p)
    p.set_defaults(func=_run(_answer, mo="tickets.answer", prepare=_prepare_answer))

    faq = sub.add_parser("faq", help="the monitoring officer's FAQ answers")
    faq.set_defaults(func=lambda args: (faq.print_help(), 2)[1])
    fsub = faq.add_subparsers(dest="faq_command", metavar="FAQ_COMMAND")
    p = fsub.add_parser("list", help="list the FAQ answers (live and withdrawn)")
    _as_option(p, "listing them")
    p.add_argument("--live", action="store_true", help="only the live ones")
    _json_flag(p)
    p.set_defaults(func=_run(_faq_list, mo="faq.list"))
    for name, helptext in (("withdraw", "take an FAQ answer out of the bot's answers"),
                           ("restore", "publish a withdrawn FAQ answer again")):
        p = fsub.add_parser(name, help=helptext)
        p.add_argument("entry_id", metavar="ID", help="the FAQ entry (its ticket id, MO-0042)")
        _as_option(p, "acting")
        _json_flag(p)
        p.set_defaults(func=_run(_faq_change(name), mo=f"faq.{name}"))
    p = fsub.add_parser("edit", help="change an FAQ answer's public text")
    p.add_argument("entry_id", metavar="ID")
    _as_option(p, "acting")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the public FAQ text")
    text.add_argument("--text-file", metavar="PATH", help="read it from a file (- for stdin)")
    _json_flag(p)
    p.set_defaults(func=_run(_faq_edit, mo="faq.edit", prepare=_prepare_text))
    p = fsub.add_parser("publish", help="write the FAQ file from the database again (after a "
                                        "failed write)")
    _as_option(p, "acting")
    _json_flag(p)
    p.set_defaults(func=_run(_faq_publish, mo="faq.publish"))

    p = kb_sub.add_parser("teach", help="attach a question people asked to the passage that "
                                        "answers it (a search hint, live at once)")
    p.add_argument("question", nargs="?", help="the question as people asked it")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--ticket", metavar="ID", help="take the question from a ticket")
    source.add_argument("--log", type=int, metavar="N", dest="log_id",
                        help="take the question from the question log (`log show` lists ids)")
    source.add_argument("--undo", type=int, metavar="N",
                        help="undo taught question N (`kb teach --list` shows them)")
    source.add_argument("--list", action="store_true", dest="list_taught",
                        help="list the taught questions")
    p.add_argument("--ref", metavar="DOCUMENT_ID:REF",
                   help="the passage that answers it, e.g. mor-protocol-2026:2.3")
    _as_option(p, "teaching")
    _json_flag(p)
    p.set_defaults(func=_run(_teach, mo="kb.teach", prepare=_prepare_teach))

    p = kb_sub.add_parser("reload", help="validate the knowledge files and tell running bots "
                                         "to use them (PostgreSQL: publish DIR as a new "
                                         "knowledge version)")
    p.add_argument("directory", nargs="?", type=Path, metavar="DIR",
                   help="PostgreSQL only: a folder of knowledge files (e.g. edited after `kb "
                        "export`) to publish as the new version")
    _as_option(p, "making the change")
    _json_flag(p)
    p.set_defaults(func=_run(_reload, mo="kb.reload"))

    p = sub.add_parser("report", help="what to improve: declined questions, unhelpful passages, "
                                      "tickets by status and age")
    _as_option(p, "reading it (it shows ticket questions)")
    p.add_argument("--days", type=_days, help="only the last N days, 1 or more (default: "
                                              "everything kept)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON value on stdout")
    output.add_argument("--csv", action="store_true",
                        help="print CSV on stdout: one row per question group, with a header")
    p.set_defaults(func=_run(_report, mo="report"))

    logp = sub.add_parser("log", help="the question log")
    logp.set_defaults(func=lambda args: (logp.print_help(), 2)[1])
    lsub = logp.add_subparsers(dest="log_command", metavar="LOG_COMMAND")
    p = lsub.add_parser("show", help="browse the question log, newest first")
    _as_option(p, "reading it (it shows questions)")
    p.add_argument("--declined", action="store_true", help="only the questions the bot declined")
    p.add_argument("--not-helpful", action="store_true",
                   help="only the answers someone marked not helpful")
    p.add_argument("--days", type=_days, help="only the last N days")
    _json_flag(p)
    p.set_defaults(func=_run(_log_show, mo="log.show"))

    p = lsub.add_parser("purge", help="delete entries older than the retention period")
    _json_flag(p)
    p.set_defaults(func=_run(_purge))


def _run(command: Callable[[argparse.Namespace, Desk], int], *, mo: str | None = None,
         create: bool = False,
         prepare: Callable[[argparse.Namespace], None] | None = None
         ) -> Callable[[argparse.Namespace], int]:
    """Check the options and settings, open the desk, check that the --as person is a
    monitoring officer (when `mo` names the action), run the command, and turn refusals into
    exit statuses. Only commands with `create` may create a missing database file."""

    def run(args: argparse.Namespace) -> int:
        try:
            if prepare is not None:
                prepare(args)  # options first: a typo is reported before anything is opened
            config = Config.from_env()
            desk = _desk(config, create=create)
            try:
                if mo is not None:
                    _require_mo(desk, getattr(args, "actor", None), mo, _command_name(args))
                return command(args, desk)
            finally:
                desk.store.close()
        except UsageError as exc:
            return _fail(f"protocol-bot: {exc}", EXIT_USAGE)
        except ConfigError as exc:  # also PROTOCOL_BOT_DB naming no database, a folder...
            return _fail(f"protocol-bot: {exc}", EXIT_USAGE)
        except NotPermitted as exc:
            return _fail(str(exc), EXIT_NOT_PERMITTED)
        except TicketNotFound as exc:
            return _fail(f"{exc.args[0] if exc.args else exc} Use `protocol-bot tickets list` "
                         "to see the tickets.", EXIT_NO_SUCH_TICKET)
        except EntryNotFound as exc:
            return _fail(f"{exc.args[0] if exc.args else exc} Use `protocol-bot faq list` or "
                         "`protocol-bot kb teach --list` to see them.", EXIT_NO_SUCH_TICKET)
        except DeskError as exc:
            return _fail(str(exc), EXIT_REFUSED)
        except FaqNotPublished as exc:
            return _fail(str(exc), EXIT_PROBLEMS)
        except FaqWriteError as exc:
            return _fail(f"{exc} The ticket is still unanswered: free some space or fix the "
                         "folder's permissions, then answer it again.", EXIT_PROBLEMS)
        except StoreError as exc:
            return _fail(f"protocol-bot: {exc}", EXIT_PROBLEMS)

    return run


def _desk(config: Config, *, create: bool) -> Desk:
    store = open_store(config, create=create)
    if config.db_url:  # the knowledge lives in the database, in versions (kb_versions.py)
        from .kb_versions import DatabaseKnowledge

        return Desk(store, None, config.monitoring_officers,
                    database=DatabaseKnowledge.for_config(config, store),
                    log_keep_identity=config.log_keep_identity,
                    log_retention_days=config.log_retention_days)
    return Desk(store, None, config.monitoring_officers, knowledge_dir=council_knowledge(config),
                log_keep_identity=config.log_keep_identity,
                log_retention_days=config.log_retention_days)


def _command_name(args: argparse.Namespace) -> str:
    words = [args.command] + [getattr(args, f"{args.command}_command", None) or ""]
    return "protocol-bot " + " ".join(w for w in words if w)


def _require_mo(desk: Desk, actor: str | None, action: str, command: str) -> None:
    """Only a monitoring officer named with --as may see ticket text or change the knowledge
    base. The CLI trusts the account it runs under; --as says who acts, for the audit trail."""
    if actor is None:
        raise NotPermitted(
            f"Not permitted: `{command}` is for monitoring officers; say who you are with "
            "--as PLATFORM:USER (someone in PROTOCOL_BOT_MONITORING_OFFICERS).")
    if action.startswith("tickets."):
        return  # the desk checks (and audits) these itself
    if not desk.is_mo(actor):
        desk.store.record_audit(actor=actor, action=action, outcome="refused",
                                detail={"reason": "not a monitoring officer"})
        configured = ("" if desk.monitoring_officers
                      else " No monitoring officers are configured yet.")
        raise NotPermitted(f"Not permitted: {actor} is not a monitoring officer (set "
                           f"PROTOCOL_BOT_MONITORING_OFFICERS), so cannot use `{command}`."
                           f"{configured}")


def _prepare_open(args: argparse.Namespace) -> None:
    if not args.question.strip():
        raise UsageError("the question is empty: give the question to send to the monitoring "
                         "officer.")
    if args.key is not None and not args.key.strip():
        raise UsageError("--key is empty: leave it out, or give the key that identifies the "
                         "question.")


def _prepare_answer(args: argparse.Namespace) -> None:
    config = Config.from_env()
    if args.save_faq and not config.db_url:  # PostgreSQL: the knowledge is in the database
        knowledge = config.knowledge_dir
        if not knowledge.is_dir():
            raise ConfigError("PROTOCOL_BOT_KNOWLEDGE", f"{knowledge} is not a folder, so the "
                                                        "answer cannot be saved as an FAQ entry.")
    if args.text is None:
        args.text = _read_answer_file(args.text_file)
    if not args.text.strip():
        raise UsageError("the answer is empty: write the answer the asker should receive.")
    if args.faq_text_file is not None:
        args.faq_text = _read_answer_file(args.faq_text_file)
    if args.faq_text is not None:
        if not args.save_faq:
            raise UsageError("--faq-text is the public text of an FAQ entry: add --save-faq.")
        if not args.faq_text.strip():
            raise UsageError("--faq-text is empty: leave it out to publish the answer itself.")


def _prepare_text(args: argparse.Namespace) -> None:
    if args.text is None:
        args.text = _read_answer_file(args.text_file)
    if not args.text.strip():
        raise UsageError("the text is empty.")


def _prepare_teach(args: argparse.Namespace) -> None:
    if args.undo is not None or args.list_taught:
        if args.question or args.ref:
            raise UsageError("--undo and --list take no question or --ref.")
        return
    given = [x for x in (args.question, args.ticket, args.log_id) if x is not None]
    if len(given) != 1:
        raise UsageError("give the question (in quotes), or --ticket ID, or --log N; "
                         "and --ref DOCUMENT_ID:REF.")
    if args.question is not None and not args.question.strip():
        raise UsageError("the question is empty.")
    if not args.ref or not args.ref.strip():
        raise UsageError("--ref DOCUMENT_ID:REF is needed: the passage that answers the "
                         "question, e.g. mor-protocol-2026:2.3.")


def _read_answer_file(name: str) -> str:
    """The answer from --text-file (or stdin for -), refused plainly when it cannot be used."""
    if name == "-":
        data = sys.stdin.buffer.read(MAX_ANSWER_BYTES + 1)
        shown = "standard input"
    else:
        shown = name
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise UsageError(f"--text-file: there is no file {name}.") from None
        except IsADirectoryError:
            raise UsageError(f"--text-file: {name} is a folder, not a file.") from None
        except PermissionError:
            raise UsageError(f"--text-file: {name} cannot be read (permission denied).") from None
        except OSError as exc:
            raise UsageError(f"--text-file: {name} cannot be read ({exc.strerror}).") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            what = "a folder" if stat.S_ISDIR(mode) else "a pipe or device"
            raise UsageError(f"--text-file: {name} is {what}, not an ordinary file.")
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_ANSWER_BYTES + 1)
    if len(data) > MAX_ANSWER_BYTES:
        raise UsageError(f"--text-file: {shown} is over {MAX_ANSWER_BYTES // 1024} KB; an answer "
                         "should be a few paragraphs.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--text-file: {shown} is not UTF-8 text (byte {exc.start} cannot be "
                         "read). Save it as UTF-8 and try again.") from None


def _fail(message: str, status: int) -> int:
    print(message, file=sys.stderr)
    return status


def _emit(args: argparse.Namespace, value, text: str) -> int:
    if args.json:
        print(json.dumps(value, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _describe(ticket: Ticket) -> str:
    who = ticket.asker.display_name or ticket.asker.principal
    lines = [f"{ticket.id}  {ticket.status}",
             f"Asked by:  {who} ({ticket.asker.principal}), {ticket.created_at}",
             f"Question:  {ticket.question}"]
    if ticket.context:
        lines.append(f"Context:   {ticket.context}")
    if ticket.bot_refs:
        lines.append(f"Bot cited: {', '.join(ticket.bot_refs)}")
    if ticket.assignee:
        lines.append(f"With:      {ticket.assignee}")
    if ticket.answer:
        lines.append(f"Answer:    {ticket.answer}")
    lines.append("History:")
    for e in ticket.events:
        extra = {k: v for k, v in e.items() if k not in ("at", "actor", "event")}
        detail = "  " + ", ".join(f"{k}={v}" for k, v in extra.items()) if extra else ""
        lines.append(f"  {e['at']}  {e['event']:<9} by {e['actor']}{detail}")
    return "\n".join(lines)


def _open(args: argparse.Namespace, desk: Desk) -> int:
    platform, user = parse_principal(args.asker)
    ticket, created = desk.escalate(
        Asker(platform, user, args.name), args.question,
        idempotency_key=args.key or f"cli:{uuid.uuid4()}", context=args.context,
        bot_refs=tuple(args.refs))
    if not created and ticket.question != args.question:
        # Another question under the same key: say so, and show nothing of that ticket.
        raise DeskError(f"--key {args.key!r} was already used for {ticket.id}, a different "
                        "question; nothing was opened. Use a new key for a new question.")
    note = "opened" if created else "already exists for this key (nothing new was opened)"
    return _emit(args, {**ticket_to_dict(ticket), "created": created},
                 f"Ticket {ticket.id} {note}.\n\n{_describe(ticket)}")


def _list(args: argparse.Namespace, desk: Desk) -> int:
    tickets = desk.list_tickets(args.actor, args.status)
    rows = [f"{t.id}  {t.status:<9} {t.created_at[:10]}  {t.asker.principal:<16} "
            f"{t.question if len(t.question) <= 60 else t.question[:59] + '…'}" for t in tickets]
    return _emit(args, [ticket_to_dict(t) for t in tickets], "\n".join(rows) or "No tickets.")


def _simple(name: str) -> Callable[[argparse.Namespace, Desk], int]:
    def command(args: argparse.Namespace, desk: Desk) -> int:
        ticket = getattr(desk, name)(args.ticket_id, args.actor)
        done = {"show": "", "close": "closed", "reopen": "reopened"}[name]
        prefix = f"Ticket {ticket.id} {done}.\n\n" if done else ""
        text = prefix + _describe(ticket)
        if name == "show" and not args.json:
            text += _teaching_hint(desk, ticket)
        return _emit(args, ticket_to_dict(ticket), text)
    return command


def _teaching_hint(desk: Desk, ticket: Ticket) -> str:
    """The FAQ entry's state and the passages the bot considered, with the command that
    teaches the bot this question for one of them."""
    lines = []
    faq = next((r for r in desk.store.faq_entries(include_withdrawn=True)
                if r.id == ticket.id), None)
    if faq is not None:
        lines.append(f"FAQ entry: {faq.status} (protocol-bot faq list --as ...)")
    try:
        from .live import LiveKnowledge

        considered = LiveKnowledge(desk.knowledge_dir).considered(ticket.question,
                                                                   ticket.bot_refs)
    except Exception:  # the knowledge base has problems: `kb check` says which
        considered = []
    if considered:
        lines.append("Passages the bot considered (if one answers it: protocol-bot kb teach "
                     f"--ticket {ticket.id} --ref DOCUMENT_ID:REF --as ...):")
        lines += [f"  {key.replace('#', ':', 1)}  {label}" for key, label in considered]
    return "\n" + "\n".join(lines) if lines else ""


def _assign(args: argparse.Namespace, desk: Desk) -> int:
    ticket = desk.assign(args.ticket_id, args.to, args.actor)
    return _emit(args, ticket_to_dict(ticket),
                 f"Ticket {ticket.id} assigned to {args.to}.\n\n{_describe(ticket)}")


def _answer(args: argparse.Namespace, desk: Desk) -> int:
    text = args.text  # read (and checked) before the database was opened
    ticket = desk.answer(args.ticket_id, args.actor, text, save_faq=args.save_faq,
                         faq_questions=tuple(args.variants), faq_text=args.faq_text)
    note = f"Ticket {ticket.id} answered; the answer will be delivered to {ticket.asker.principal}."
    if args.save_faq:
        note += "\nSaved as a monitoring-officer FAQ entry; running bots answer from it now."
    return _emit(args, ticket_to_dict(ticket), f"{note}\n\n{_describe(ticket)}")


def _reload(args: argparse.Namespace, desk: Desk) -> int:
    from . import kb_changes
    from .watcher import request_reload

    actor = args.actor
    if desk.database is not None:
        return _reload_database(args, desk)
    if args.directory is not None and args.directory.resolve() != desk.knowledge_dir.resolve():
        raise UsageError(f"kb reload {args.directory}: with an SQLite database the bot reads "
                         f"{desk.knowledge_dir}; edit the files there and run `protocol-bot kb "
                         "reload --as ...` without a folder.")
    kb, problems = kb_changes.validate(desk.knowledge_dir)
    if kb is None:
        kb_changes.record_refusal(desk.store, problems, actor=actor, source="kb reload")
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"Not reloaded: {len(problems)} problem(s). Running bots keep answering from the "
              "last good knowledge base.", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "problems": [str(p) for p in problems]}, indent=2))
        return EXIT_PROBLEMS
    try:  # first tell running bots: if that fails, nothing is recorded as changed
        signal = request_reload(desk.knowledge_dir, actor)
    except OSError as exc:
        print(f"protocol-bot: the knowledge base is valid, but running bots could not be told: "
              f"{exc.strerror or exc} ({exc.filename or desk.knowledge_dir}). Nothing was "
              "recorded; running bots still notice edited files by themselves within a few "
              "seconds. Let this account write to the knowledge folder, then reload again.",
              file=sys.stderr)
        return EXIT_PROBLEMS
    change = kb_changes.record_state(desk.store, desk.knowledge_dir, kb, actor=actor,
                                     source="kb reload")
    lines = [f"Knowledge base is valid: {len(kb.passages)} passages in {len(kb.documents)} "
             f"document(s).", *change.lines(),
             "Running bots will reload within a few seconds."]
    return _emit(args, {"ok": True, "passages": len(kb.passages), "documents": len(kb.documents),
                        "changes": change.to_dict(), "signal": str(signal)}, "\n".join(lines))


def _reload_database(args: argparse.Namespace, desk: Desk) -> int:
    """PostgreSQL: publish DIR as a new knowledge version, or (no DIR) check the latest version
    and have every instance reload it (and the taught questions)."""
    from . import kb_changes
    from .kb_versions import replace_with

    actor, database = args.actor, desk.database
    if args.directory is None:
        version, folder = database.folder()
        kb, problems = kb_changes.validate(folder)
        published = None
    else:
        if not args.directory.is_dir():
            raise UsageError(f"kb reload {args.directory}: there is no such folder.")
        kb, problems = kb_changes.validate(args.directory)
        published = version = None
        if kb is not None:
            try:
                _, published = database.write(actor, f"kb reload {args.directory}",
                                              replace_with(args.directory))
            except KnowledgeError as exc:
                kb, problems = None, list(exc.problems)
            version = published or database.current()
    if kb is None:
        kb_changes.record_refusal(desk.store, problems, actor=actor, source="kb reload")
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"Not reloaded: {len(problems)} problem(s). Nothing was published; running bots "
              "keep answering from the last good knowledge base.", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "problems": [str(p) for p in problems]}, indent=2))
        return EXIT_PROBLEMS
    database.announce("reload")
    if args.directory is None:
        note = f"Knowledge version {version} (the latest) is valid"
    elif published is None:
        note = f"{args.directory} is the same as knowledge version {version}: nothing published"
    else:
        note = f"Published {args.directory} as knowledge version {version}"
    lines = [f"{note}: {len(kb.passages)} passages in {len(kb.documents)} document(s).",
             "Running bots will reload within a few seconds."]
    return _emit(args, {"ok": True, "passages": len(kb.passages), "documents": len(kb.documents),
                        "version": version, "published": published is not None}, "\n".join(lines))


def _report(args: argparse.Namespace, desk: Desk) -> int:
    from .report import build_report, render, render_csv

    report = build_report(desk, days=args.days)
    if args.csv:
        sys.stdout.write(render_csv(report))
        return 0
    return _emit(args, report, render(report))


def _log_show(args: argparse.Namespace, desk: Desk) -> int:
    from .report import log_rows, render_log

    rows = log_rows(desk, days=args.days, declined=args.declined,
                    not_helpful=args.not_helpful)
    return _emit(args, rows, render_log(rows))


def _faq_dict(record) -> dict:
    return {"id": record.id, "status": record.status, "question": record.question,
            "variants": list(record.variants), "text": record.text,
            "related": list(record.related), "author": record.author}


def _faq_describe(record) -> str:
    lines = [f"{record.id}  {record.status}  by {record.author}",
             f"  Question: {record.question}"]
    lines += [f"  Also:     {v}" for v in record.variants]
    lines.append(f"  FAQ text: {record.text}")
    if record.related:
        lines.append(f"  Bot had cited: {', '.join(record.related)}")
    return "\n".join(lines)


def _faq_list(args: argparse.Namespace, desk: Desk) -> int:
    records = desk.faq_entries(args.actor, include_withdrawn=not args.live)
    return _emit(args, [_faq_dict(r) for r in records],
                 "\n".join(_faq_describe(r) for r in records) or "No FAQ answers yet.")


def _faq_change(name: str) -> Callable[[argparse.Namespace, Desk], int]:
    def command(args: argparse.Namespace, desk: Desk) -> int:
        record = getattr(desk, f"faq_{name}")(args.entry_id, args.actor)
        done = {"withdraw": "withdrawn: the bot no longer answers from it",
                "restore": "live again"}[name]
        return _emit(args, _faq_dict(record),
                     f"FAQ answer {record.id} {done}.\n\n{_faq_describe(record)}")
    return command


def _faq_edit(args: argparse.Namespace, desk: Desk) -> int:
    record = desk.faq_edit(args.entry_id, args.actor, args.text)
    return _emit(args, _faq_dict(record), f"FAQ answer {record.id} changed.\n\n"
                                          f"{_faq_describe(record)}")


def _faq_publish(args: argparse.Namespace, desk: Desk) -> int:
    notes = desk.faq_publish(args.actor)
    return _emit(args, {"published": True, "hand_edits": notes},
                 "\n".join(["FAQ file written from the database.", *notes]))


def _taught_dict(taught) -> dict:
    return {"id": taught.id, "question": taught.question, "passage": taught.passage_key,
            "source": taught.source, "taught_by": taught.taught_by,
            "undone": taught.undone_at is not None}


def _teach(args: argparse.Namespace, desk: Desk) -> int:
    if args.list_taught:
        taught = desk.taught_questions(args.actor, include_undone=True)
        rows = [f"#{t.id:<4} {'undone' if t.undone_at else 'in use':<7} {t.passage_key}  "
                f"{t.question}  ({t.source}, by {t.taught_by})" for t in taught]
        return _emit(args, [_taught_dict(t) for t in taught],
                     "\n".join(rows) or "No questions taught yet.")
    if args.undo is not None:
        taught = desk.untaught(args.undo, args.actor)
        return _emit(args, _taught_dict(taught),
                     f"Undone #{taught.id}: \u201c{taught.question}\u201d is no longer a hint "
                     f"for {taught.passage_key}. Running bots use this within a few seconds.")
    question, source = args.question, "cli"
    if args.ticket is not None:
        ticket = desk.show(args.ticket, args.actor)
        question, source = ticket.question, f"ticket {ticket.id}"
    elif args.log_id is not None:
        found = [q for q in desk.store.logged_questions() if q.id == args.log_id]
        if not found:
            raise EntryNotFound(f"There is no question {args.log_id} in the log.")
        question, source = found[0].question, f"log {args.log_id}"
    taught, created = desk.teach(question, args.ref, args.actor, source=source)
    note = ("Taught" if created else "Already taught") + (
        f" #{taught.id}: \u201c{taught.question}\u201d is now a hint for {taught.passage_key}. "
        f"Running bots use it within a few seconds; undo with `protocol-bot kb teach --undo "
        f"{taught.id} --as {args.actor}`.")
    return _emit(args, {**_taught_dict(taught), "created": created}, note)


def _purge(args: argparse.Namespace, desk: Desk) -> int:
    counts = desk.purge_log()
    checkpointed = bool(counts.pop("wal_checkpointed", True))
    total = counts["questions"] + counts["feedback"]
    text = (f"Deleted {total} question-log entr{'y' if total == 1 else 'ies'} older than "
            f"{desk.log_retention_days} days ({counts['questions']} questions, "
            f"{counts['feedback']} feedback), and {counts['delivered_messages']} delivered "
            f"message(s).")
    if not checkpointed:
        text += (" A running bot was reading the database, so deleted text may stay in its "
                 "-wal file until the bot's next checkpoint; run log purge again later.")
    return _emit(args, {"deleted": total, **counts, "retention_days": desk.log_retention_days,
                        "wal_checkpointed": checkpointed}, text)
