"""The `protocol-bot` command: core commands, plus platform commands found through entry points."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points

from . import cli_ask, cli_desk, cli_import, cli_kb, doctor

# The core's own commands. Platform commands (serve, slack, teams-package) come from
# the entry points of group "protocol_bot.commands" declared in pyproject.toml, so the core
# never imports an adapter.
CORE_COMMANDS = (cli_ask.register, cli_kb.register, cli_import.register, cli_desk.register,
                 doctor.register)
PLUGIN_GROUP = "protocol_bot.commands"


def load_plugins(group: str = PLUGIN_GROUP) -> list[tuple[str, Callable]]:
    """Each plugin's `register`; one that fails to load is reported on stderr, not hidden."""
    loaded = []
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            loaded.append((entry.name, entry.load()))
        except Exception as exc:  # a broken plugin must not take the other commands with it
            print(f"protocol-bot: the '{entry.name}' commands could not be loaded "
                  f"({entry.value}): {type(exc).__name__}: {exc}", file=sys.stderr)
    return loaded


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protocol-bot",
        description="Answers member/officer relations questions from the council's protocol, "
                    "quoted and cited, and routes the rest to the monitoring officer.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    kb = sub.add_parser("kb", help="check or reload the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    kb.set_defaults(func=lambda args: (kb.print_help(), 2)[1])
    for register in CORE_COMMANDS:
        register(sub, kb_sub)
    for name, register in load_plugins():
        try:
            register(sub, kb_sub)
        except Exception as exc:
            print(f"protocol-bot: the '{name}' commands could not be registered: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
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
