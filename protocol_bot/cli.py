"""The `protocol-bot` command: each command group registers itself from its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Modules that add commands. Each has `register(sub, kb_sub)`; platform ones are optional
# extras, skipped when their SDK is not installed.
COMMAND_MODULES = (
    "protocol_bot.cli_ask",       # ask, eval
    "protocol_bot.cli_kb",        # kb check
    "protocol_bot.cli_desk",      # tickets ..., kb reload, report, log purge (issue 3)
    "adapters.cli_serve",         # serve, doctor (shared aiohttp server)
    "adapters.slack.cli",         # slack --socket-mode (issue 4)
    "adapters.teams.cli",         # teams-package (issue 5)
)
OPTIONAL_PREFIXES = ("adapters.",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protocol-bot",
        description="Answers member/officer relations questions from the council's protocol, "
                    "quoted and cited, and routes the rest to the monitoring officer.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    kb = sub.add_parser("kb", help="check or reload the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    kb.set_defaults(func=lambda args: (kb.print_help(), 2)[1])
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            missing = getattr(exc, "name", "") or ""
            if name.startswith(OPTIONAL_PREFIXES) or missing == name:
                continue
            raise
        module.register(sub, kb_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .cli_guard import run_guarded  # a message and an exit status, never a traceback

    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
