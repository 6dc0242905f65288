"""The monitoring officer's commands: `tickets ...`, `kb reload`, `report`, `log purge`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import uuid
from collections.abc import Callable

from .config import Config
from .datadir import council_knowledge
from .sqlite_store import open_store
from .desk import Desk, DeskError, NotPermitted, parse_principal, ticket_to_dict
from .models import TICKET_STATUSES, Asker, Ticket
from .store import StoreError, TicketNotFound

# Exit statuses scripts can rely on (2 is argparse's for a malformed command).
EXIT_PROBLEMS = 1
EXIT_NOT_PERMITTED = 3
EXIT_NO_SUCH_TICKET = 4
EXIT_REFUSED = 5  # e.g. answering a closed ticket, assigning to someone who is not an MO


def _principal(text: str) -> str:
    try:
        platform, user = parse_principal(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return f"{platform}:{user}"


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
    p.set_defaults(func=_run(_open))

    p = tsub.add_parser("list", help="list tickets")
    p.add_argument("--as", required=True, type=_principal, dest="actor", metavar="PLATFORM:USER")
    p.add_argument("--status", choices=TICKET_STATUSES)
    _json_flag(p)
    p.set_defaults(func=_run(_list))

    for name, helptext in (("show", "show a ticket and its history"), ("close", "close a ticket"),
                           ("reopen", "reopen an answered or closed ticket")):
        p = tsub.add_parser(name, help=helptext)
        p.add_argument("ticket_id", metavar="ID")
        p.add_argument("--as", required=True, type=_principal, dest="actor",
                       metavar="PLATFORM:USER")
        _json_flag(p)
        p.set_defaults(func=_run(_simple(name)))

    p = tsub.add_parser("assign", help="give a ticket to a monitoring officer or deputy")
    p.add_argument("ticket_id", metavar="ID")
    p.add_argument("--to", required=True, type=_principal, metavar="PLATFORM:USER")
    p.add_argument("--as", required=True, type=_principal, dest="actor", metavar="PLATFORM:USER")
    _json_flag(p)
    p.set_defaults(func=_run(_assign))

    p = tsub.add_parser("answer", help="answer a ticket; the answer is sent to the asker")
    p.add_argument("ticket_id", metavar="ID")
    p.add_argument("--as", required=True, type=_principal, dest="actor", metavar="PLATFORM:USER")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the answer")
    text.add_argument("--text-file", metavar="PATH", help="read the answer from a file (- for stdin)")
    p.add_argument("--save-faq", action="store_true",
                   help="also save the question and answer as a monitoring-officer FAQ entry")
    p.add_argument("--question", action="append", default=[], dest="variants", metavar="VARIANT",
                   help="another wording of the question, for the FAQ entry (repeatable)")
    _json_flag(p)
    p.set_defaults(func=_run(_answer))

    p = kb_sub.add_parser("reload", help="validate the knowledge files and tell running bots "
                                         "to use them")
    p.add_argument("--as", type=_principal, dest="actor", metavar="PLATFORM:USER",
                   help="who is making the change (default: cli:<your login>)")
    _json_flag(p)
    p.set_defaults(func=_run(_reload))

    p = sub.add_parser("report", help="what to improve: declined questions, unhelpful passages, "
                                      "tickets by status and age")
    p.add_argument("--days", type=int, help="only the last N days (default: everything kept)")
    _json_flag(p)
    p.set_defaults(func=_run(_report))

    logp = sub.add_parser("log", help="the question log")
    logp.set_defaults(func=lambda args: (logp.print_help(), 2)[1])
    lsub = logp.add_subparsers(dest="log_command", metavar="LOG_COMMAND")
    p = lsub.add_parser("purge", help="delete entries older than the retention period")
    _json_flag(p)
    p.set_defaults(func=_run(_purge))


def desk_for(config: Config) -> Desk:
    """The desk as the CLI uses it: no live index; running bots watch the knowledge folder."""
    return Desk(open_store(config), None, config.monitoring_officers,
                knowledge_dir=council_knowledge(config),
                log_keep_identity=config.log_keep_identity,
                log_retention_days=config.log_retention_days)


def _run(command: Callable[[argparse.Namespace, Desk], int]) -> Callable[[argparse.Namespace], int]:
    """Build the desk, run the command, and turn the desk's refusals into exit statuses."""

    def run(args: argparse.Namespace) -> int:
        try:
            desk = desk_for(Config.from_env())
            return command(args, desk)
        except NotPermitted as exc:
            return _fail(str(exc), EXIT_NOT_PERMITTED)
        except TicketNotFound as exc:
            return _fail(f"{exc.args[0] if exc.args else exc} Use `protocol-bot tickets list` "
                         "to see the tickets.", EXIT_NO_SUCH_TICKET)
        except DeskError as exc:
            return _fail(str(exc), EXIT_REFUSED)
        except StoreError as exc:
            return _fail(str(exc), EXIT_PROBLEMS)

    return run


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
    note = "opened" if created else "already exists for this key"
    return _emit(args, ticket_to_dict(ticket), f"Ticket {ticket.id} {note}.\n\n{_describe(ticket)}")


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
        return _emit(args, ticket_to_dict(ticket), prefix + _describe(ticket))
    return command


def _assign(args: argparse.Namespace, desk: Desk) -> int:
    ticket = desk.assign(args.ticket_id, args.to, args.actor)
    return _emit(args, ticket_to_dict(ticket),
                 f"Ticket {ticket.id} assigned to {args.to}.\n\n{_describe(ticket)}")


def _answer(args: argparse.Namespace, desk: Desk) -> int:
    if args.text is not None:
        text = args.text
    elif args.text_file == "-":
        text = sys.stdin.read()
    else:
        with open(args.text_file, encoding="utf-8") as handle:
            text = handle.read()
    ticket = desk.answer(args.ticket_id, args.actor, text, save_faq=args.save_faq,
                         faq_questions=tuple(args.variants))
    note = f"Ticket {ticket.id} answered; the answer will be delivered to {ticket.asker.principal}."
    if args.save_faq:
        note += "\nSaved as a monitoring-officer FAQ entry; running bots answer from it now."
    return _emit(args, ticket_to_dict(ticket), f"{note}\n\n{_describe(ticket)}")


def _reload(args: argparse.Namespace, desk: Desk) -> int:
    from . import kb_changes
    from .watcher import request_reload

    actor = args.actor or f"cli:{getpass.getuser()}"
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
    change = kb_changes.record_state(desk.store, desk.knowledge_dir, kb, actor=actor,
                                     source="kb reload")
    signal = request_reload(desk.knowledge_dir, actor)
    lines = [f"Knowledge base is valid: {len(kb.passages)} passages in {len(kb.documents)} "
             f"document(s).", *change.lines(),
             "Running bots will reload within a few seconds."]
    return _emit(args, {"ok": True, "passages": len(kb.passages), "documents": len(kb.documents),
                        "changes": change.to_dict(), "signal": str(signal)}, "\n".join(lines))


def _report(args: argparse.Namespace, desk: Desk) -> int:
    from .report import build_report, render

    report = build_report(desk, days=args.days)
    return _emit(args, report, render(report))


def _purge(args: argparse.Namespace, desk: Desk) -> int:
    counts = desk.purge_log()
    total = counts["questions"] + counts["feedback"]
    text = (f"Deleted {total} question-log entr{'y' if total == 1 else 'ies'} older than "
            f"{desk.log_retention_days} days ({counts['questions']} questions, "
            f"{counts['feedback']} feedback), and {counts['delivered_messages']} delivered "
            f"message(s).")
    return _emit(args, {"deleted": total, **counts, "retention_days": desk.log_retention_days},
                 text)
