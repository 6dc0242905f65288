"""The one aiohttp web server: health check plus whichever platform endpoints are configured."""

from __future__ import annotations

import importlib
import logging

from aiohttp import web

from protocol_bot.conversation import Conversation

log = logging.getLogger(__name__)

CONVERSATION = web.AppKey("conversation", Conversation)
PLATFORMS = web.AppKey("platforms", list)
WATCHER = web.AppKey("watcher", object)

# Each platform module has `mount(app, conversation) -> bool`: adds its routes (and its outbox
# delivery task) when it is configured, and says whether it did.
PLATFORM_MODULES = ("adapters.teams.app", "adapters.slack.app")


async def healthz(request: web.Request) -> web.Response:
    health = request.app[CONVERSATION].health()
    return web.json_response({**health, "platforms": request.app[PLATFORMS]})


async def _start_watcher(app: web.Application) -> None:
    # Knowledge edits on disk (and `protocol-bot kb reload`) reach the running bot.
    app[WATCHER] = app[CONVERSATION].watch_knowledge()


async def _stop_watcher(app: web.Application) -> None:
    app[WATCHER].stop()


def build_app(conversation: Conversation) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[CONVERSATION] = conversation
    app[PLATFORMS] = []
    app.router.add_get("/healthz", healthz)
    app.on_startup.append(_start_watcher)
    app.on_cleanup.append(_stop_watcher)
    for name in PLATFORM_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            log.warning("%s not available (%s): its endpoint is not served", name, exc)
            continue
        if module.mount(app, conversation):
            app[PLATFORMS].append(name.split(".")[1])
    return app
