"""`mount(app, conversation)`: POST /api/messages for Teams on the shared aiohttp server, plus the Teams
outbox delivery loop (started and stopped with the app)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from protocol_bot.conversation import Conversation

from adapters.inbox_loop import InboxWorker
from adapters.recorder import Recorder
from adapters.outbox_loop import OutboxWorker, Pacing
from adapters.worker_loop import start_worker, stop_worker

from . import activities as act
from .bf import TeamsEndpoint, TeamsSettings
from .bot import TeamsLogic, destination

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
OUTBOX_INTERVAL = float(os.environ.get("PROTOCOL_BOT_TEAMS_OUTBOX_INTERVAL") or 1.0)
PACE_SECONDS = 0.15  # Teams allows about 7 messages a second per conversation

TEAMS = web.AppKey("teams", TeamsEndpoint)
OUTBOX = web.AppKey("teams_outbox", OutboxWorker)


def disabled(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return (env.get("PROTOCOL_BOT_TEAMS") or "").strip().lower() in ("0", "off", "no", "false")


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
    pool = ThreadPoolExecutor(4, thread_name_prefix="teams-answer")
    inbox = InboxWorker(conversation, "teams", logic.respond, pool)

    recorder = Recorder(conversation, "teams", ThreadPoolExecutor(1, thread_name_prefix="teams-record"))

    async def record(activity: dict) -> None:
        key = act.event_key(activity) if activity.get("id") else ""
        if await recorder.record(key, {"activity": activity}):
            inbox.wake.set()

    endpoint = TeamsEndpoint(logic, settings, record=record)
    outbox = OutboxWorker(conversation.deliveries, "teams", endpoint.send, destination,
                          Pacing(interval=PACE_SECONDS, concurrency=32, send_timeout=20.0))
    inbox.on_answered = outbox.wake.set
    app.router.add_post(MESSAGES_PATH, endpoint.handle)
    app[TEAMS] = endpoint
    app[OUTBOX] = outbox
    if settings.local_mode:
        log.warning("Teams on %s in %s", MESSAGES_PATH, settings.describe())
    else:
        log.info("Teams on %s: %s", MESSAGES_PATH, settings.describe())

    state: dict = {}

    async def on_startup(app: web.Application) -> None:
        report_reachability(conversation)
        state["tasks"] = [start_worker(outbox, OUTBOX_INTERVAL), start_worker(inbox)]

    async def on_cleanup(app: web.Application) -> None:
        for task, stop in state.get("tasks", []):
            await stop_worker(task, stop)
        pool.shutdown(wait=False, cancel_futures=True)
        endpoint.botframework.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return True


def report_reachability(conversation: Conversation) -> dict[str, bool]:
    """Say in the log which monitoring officers the bot can reach in Teams yet."""
    try:
        reachable = conversation.reachable_mos()
    except Exception:
        log.exception("could not check which monitoring officers are reachable")
        return {}
    teams = {mo: ok for mo, ok in reachable.items() if mo.startswith("teams:")}
    if not reachable:
        log.warning("No monitoring officers are configured (PROTOCOL_BOT_MONITORING_OFFICERS): "
                    "escalated questions will wait until one is")
    elif not any(reachable.values()):
        log.warning("No monitoring officer can be reached yet: each must open a chat with the "
                    "bot in Teams (or install it) once. Waiting: %s", ", ".join(sorted(reachable)))
    else:
        for mo, ok in sorted(teams.items()):
            if not ok:
                log.warning("Monitoring officer %s cannot be reached in Teams yet: they must "
                            "open a chat with the bot once", mo)
    return teams
