"""`protocol-bot serve`: run the web server for Teams and Slack's HTTP endpoint."""

from __future__ import annotations

import argparse
import logging
import sys

from protocol_bot.loopback import is_loopback_host


def register(sub, kb_sub) -> None:
    p = sub.add_parser("serve", help="run the web server (Teams /api/messages, Slack /slack/events)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=3978)
    p.add_argument("--insecure-local", action="store_true",
                   help="allow Teams local mode (no app registration, no authentication) on "
                        "an address other than loopback: for a test network only")
    p.set_defaults(func=serve)


def _refuses_bind(host: str, insecure_local: bool) -> str | None:
    """Teams local mode accepts unauthenticated requests: only on loopback, unless asked."""
    if insecure_local or is_loopback_host(host):
        return None
    try:
        from .teams.app import disabled
        from .teams.bf import TeamsSettings
    except ImportError:  # Teams not installed: nothing to protect
        return None
    if disabled() or not TeamsSettings.from_env().local_mode:
        return None
    return (f"protocol-bot serve: not started: Teams would run in local mode (no "
            f"MICROSOFT_APP_ID, so requests are not authenticated) on {host}, which is not "
            "loopback. Set the app registration (see the README), use --host 127.0.0.1, set "
            "PROTOCOL_BOT_TEAMS=off, or add --insecure-local on a test network.")



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

    refused = _refuses_bind(args.host, args.insecure_local)
    if refused:
        print(refused, file=sys.stderr)
        return 2
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
