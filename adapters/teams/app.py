"""`mount(app, conversation)`: POST /api/messages for Teams on the shared aiohttp server, plus the Teams
outbox delivery loop (started and stopped with the app)."""

from __future__ import annotations

import logging
import os

from aiohttp import web

from protocol_bot.config import FALSE_WORDS, setting
from protocol_bot.conversation import Conversation
from protocol_bot.doctor import reachability
from protocol_bot.pacing import Pacing

from adapters.pipeline import Pipeline

from .bf import TeamsEndpoint, TeamsSettings
from .bot import TeamsLogic, destination

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
OUTBOX_INTERVAL = float(os.environ.get("PROTOCOL_BOT_TEAMS_OUTBOX_INTERVAL") or 1.0)
PACE_SECONDS = 0.15  # Teams allows about 7 messages a second per conversation

TEAMS = web.AppKey("teams", TeamsEndpoint)
PIPELINE = web.AppKey("teams_pipeline", Pipeline)


def disabled(env: dict[str, str] | None = None) -> bool:
    return setting(env, "PROTOCOL_BOT_TEAMS").lower() in FALSE_WORDS


def mount(app: web.Application, conversation: Conversation, settings: TeamsSettings | None = None) -> bool:
    """Serve Teams on POST /api/messages. With no app registration it runs in local mode (for
    the Agents Playground); PROTOCOL_BOT_TEAMS=off turns the endpoint off altogether."""
    if disabled():
        log.info("Teams is turned off (PROTOCOL_BOT_TEAMS=off): %s is not served", MESSAGES_PATH)
        return False
    settings = settings or TeamsSettings.from_env()
    for problem in settings.problems():
        log.error("Teams configuration: %s", problem)
    logic = TeamsLogic(conversation)
    endpoint = TeamsEndpoint(logic, settings)
    pipeline = Pipeline(conversation, "teams", logic.respond, endpoint.send, destination,
                        Pacing(interval=PACE_SECONDS, concurrency=32, send_timeout=20.0),
                        outbox_interval=OUTBOX_INTERVAL)
    endpoint.record = pipeline.record
    app.router.add_post(MESSAGES_PATH, endpoint.handle)
    app[TEAMS] = endpoint
    app[PIPELINE] = pipeline
    if settings.local_mode:
        log.warning("Teams on %s in %s", MESSAGES_PATH, settings.describe())
    else:
        log.info("Teams on %s: %s", MESSAGES_PATH, settings.describe())

    async def on_startup(app: web.Application) -> None:
        problems, warnings = reachability(conversation.reachable_mos())
        for words in problems + warnings:
            log.warning("Monitoring officers: %s", words)
        pipeline.start()

    async def on_cleanup(app: web.Application) -> None:
        await pipeline.stop()
        endpoint.botframework.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return True

