"""`protocol-bot slack --socket-mode`: run the Slack app over Socket Mode (no public URL needed)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from protocol_bot.doctor import PlatformCheck, half_set

MANIFEST = Path(__file__).resolve().parent / "manifest.yaml"
EVENTS_PATH = "/slack/events"


def register(sub, kb_sub) -> None:
    p = sub.add_parser("slack", help="run the Slack app over Socket Mode, or print its manifest",
                       description="Run the Slack app over Socket Mode (needs SLACK_BOT_TOKEN and "
                                   "SLACK_APP_TOKEN), or print the app manifest to paste into "
                                   "api.slack.com. For HTTP events use `protocol-bot serve`.")
    p.add_argument("--socket-mode", action="store_true",
                   help="connect to Slack over Socket Mode and answer until stopped")
    p.add_argument("--manifest", action="store_true", help="print the Slack app manifest")
    p.add_argument("--url", help="with --manifest: the public base URL of `protocol-bot serve` "
                                 "(e.g. https://protocol-bot.council.gov.uk); without it the "
                                 "manifest is for Socket Mode")
    p.set_defaults(func=slack_command)


def manifest_text(url: str | None = None) -> str:
    """The manifest: as shipped (Socket Mode), or for HTTP events at `url`/slack/events."""
    text = MANIFEST.read_text(encoding="utf-8")
    if not url:
        return text
    events = url.rstrip("/") + EVENTS_PATH
    return (text.replace("# url: https://YOUR-SERVER/slack/events", f"url: {events}")
            .replace("# request_url: https://YOUR-SERVER/slack/events", f"request_url: {events}")
            .replace("socket_mode_enabled: true", "socket_mode_enabled: false"))


def slack_command(args: argparse.Namespace) -> int:
    if args.manifest:
        print(manifest_text(args.url), end="")
        return 0
    if not args.socket_mode:
        print("Say how to connect: `protocol-bot slack --socket-mode` (no public URL needed), or "
              "`protocol-bot serve` for HTTP events. `protocol-bot slack --manifest` prints the "
              "app manifest.", file=sys.stderr)
        return 2
    from .app import SlackSettings

    settings = SlackSettings.from_env()
    missing = [name for name, value in (("SLACK_BOT_TOKEN", settings.bot_token),
                                        ("SLACK_APP_TOKEN", settings.app_token)) if not value]
    if missing:
        print(f"Socket Mode needs {' and '.join(missing)}: the bot token (xoxb-...) is under "
              "OAuth & Permissions, the app-level token (xapp-..., scope connections:write) "
              "under Basic Information > App-Level Tokens.", file=sys.stderr)
        return 2
    if not settings.app_token.startswith("xapp-"):
        print("SLACK_APP_TOKEN should be an app-level token starting xapp-, not a bot token.",
              file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    return asyncio.run(_run(settings))


async def _run(settings) -> int:
    from protocol_bot.config import Config
    from protocol_bot.conversation import Conversation

    from .socket_mode import run_socket_mode

    conversation = Conversation.build(Config.from_env())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_socket_mode(conversation, settings, stop)
    return 0


def check(env: dict[str, str]) -> PlatformCheck:
    """The Slack tokens as `protocol-bot doctor` reports them."""
    from .app import SlackSettings

    s = SlackSettings.from_env(env)
    ways = [way for way, ready in (("HTTP events (protocol-bot serve)", s.http_ready),
                                   ("Socket Mode (protocol-bot slack --socket-mode)",
                                    bool(s.bot_token and s.app_token))) if ready]
    given = {"SLACK_BOT_TOKEN": s.bot_token, "SLACK_SIGNING_SECRET": s.signing_secret,
             "SLACK_APP_TOKEN": s.app_token}
    problems = half_set(given, ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"), "SLACK_BOT_TOKEN",
                        "the bot cannot post.")
    problems += [words for wrong, words in (
        (bool(s.bot_token) and not s.bot_token.startswith("xoxb-"),
         "SLACK_BOT_TOKEN should be the bot token, starting xoxb-."),
        (bool(s.app_token) and not s.app_token.startswith("xapp-"),
         "SLACK_APP_TOKEN should be an app-level token, starting xapp-."),
        (bool(s.bot_token) and not ways, "set SLACK_SIGNING_SECRET for HTTP events, or "
                                         "SLACK_APP_TOKEN for Socket Mode.")) if wrong]
    summary = " and ".join(ways) or ("not configured (no SLACK_BOT_TOKEN)" if not s.bot_token
                                     else "incomplete")
    return PlatformCheck(summary, {"mode": "on" if ways else "off", "api_url": s.api_url},
                         tuple(problems))
