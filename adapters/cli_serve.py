"""`protocol-bot serve`: run the web server for Teams and Slack's HTTP endpoint."""

from __future__ import annotations

import argparse
import logging
import sys


def register(sub, kb_sub) -> None:
    p = sub.add_parser("serve", help="run the web server (Teams /api/messages, Slack /slack/events)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=3978)
    p.set_defaults(func=serve)


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (0 to 65535)")
    return int(text)


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from protocol_bot.config import Config
    from protocol_bot.conversation import Conversation
    from protocol_bot.knowledge import KnowledgeError

    from .server import build_app

    logging.getLogger().setLevel(logging.INFO)
    try:
        conversation = Conversation.build(Config.from_env())
    except KnowledgeError as exc:  # refuse to start on a broken knowledge base, saying why
        print(f"protocol-bot serve: not started: the knowledge base has {len(exc.problems)} "
              "problem(s) to fix (`protocol-bot kb check` lists them too):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    app = build_app(conversation)
    # aiohttp's run_app handles SIGINT/SIGTERM and runs on_cleanup: a graceful shutdown.
    # On SIGTERM it ends with GracefulExit (exit status 1); a requested stop is a success.
    try:
        web.run_app(app, host=args.host, port=args.port, print=lambda s: logging.info("%s", s))
    except web.GracefulExit:
        pass
    return 0
