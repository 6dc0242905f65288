"""`protocol-bot serve`: run the web server for Teams and Slack's HTTP endpoint."""

from __future__ import annotations

import argparse
import logging


def register(sub, kb_sub) -> None:
    p = sub.add_parser("serve", help="run the web server (Teams /api/messages, Slack /slack/events)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3978)
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from protocol_bot.config import Config
    from protocol_bot.conversation import Conversation

    from .server import build_app

    logging.getLogger().setLevel(logging.INFO)
    app = build_app(Conversation.build(Config.from_env()))
    # aiohttp's run_app handles SIGINT/SIGTERM and runs on_cleanup: a graceful shutdown.
    # On SIGTERM it ends with GracefulExit (exit status 1); a requested stop is a success.
    try:
        web.run_app(app, host=args.host, port=args.port, print=lambda s: logging.info("%s", s))
    except web.GracefulExit:
        pass
    return 0
