"""Socket Mode: the same bolt app over Slack's websocket, for networks with no public URL."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from protocol_bot.conversation import Conversation

from .app import SlackBot, SlackSettings

log = logging.getLogger(__name__)


async def run_socket_mode(conversation: Conversation, settings: SlackSettings, stop: asyncio.Event) -> None:
    """Connect (apps.connections.open, then the websocket), answer until `stop` is set."""
    slack = SlackBot(conversation, settings)
    await slack.start()
    handler = AsyncSocketModeHandler(slack.bolt, app_token=settings.app_token, web_client=slack.api)
    watcher = conversation.watch_knowledge()  # knowledge edits reach this process too
    try:
        await handler.connect_async()
        log.info("Slack Socket Mode connected")
        await stop.wait()
    finally:
        await handler.close_async()
        await slack.stop()
        watcher.stop()
        log.info("Slack Socket Mode closed")
