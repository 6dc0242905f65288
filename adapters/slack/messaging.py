"""How the bot speaks to one person in Slack: privately after a click, by DM, or in a small modal."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from . import render

log = logging.getLogger(__name__)


async def tell(body: dict, client: AsyncWebClient, respond, words: str, *,
               modal: bool = True) -> None:
    """Plain words only the person who clicked or submitted sees."""
    if respond is not None and body.get("response_url"):
        await respond(text=render.escape(words), response_type="ephemeral", replace_original=False)
    elif modal and body.get("trigger_id"):
        await client.views_open(trigger_id=body["trigger_id"],
                                view=render.info_view("Protocol bot", words))
    else:
        await send_dm(client, body["user"]["id"], render.notice(words))


async def open_view(client: AsyncWebClient, body: dict, view: dict) -> None:
    """A modal, opened with the click's trigger_id (Slack allows 3 s); if Slack refuses, the
    person is told rather than left with nothing."""
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except (SlackApiError, asyncio.TimeoutError, OSError) as exc:
        log.warning("views.open failed: %s", exc)
        await tell(body, client, None, "Sorry, I couldn't open that form just now. Please try "
                   "again in a moment.", modal=False)


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    """The id of the bot's direct-message channel with `user_id` (conversations.open)."""
    response = await client.conversations_open(users=user_id)
    return response["channel"]["id"]


async def send_dm(client: AsyncWebClient, user_id: str, msg: dict) -> dict:
    channel = await open_dm(client, user_id)
    return await post(client, channel, msg)


async def post(client: AsyncWebClient, channel: str, msg: dict, thread_ts: str | None = None):
    """chat.postMessage, with no link unfurling (quoted passages are not previews)."""
    extra = {"thread_ts": thread_ts} if thread_ts else {}
    return await client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False,
                                         **extra, **msg)


class People:
    """Display names from users.info, remembered; the user id stands in when Slack is slow."""

    def __init__(self, client: AsyncWebClient, timeout: float = 1.0):
        self.client = client
        self.timeout = timeout
        self._names: dict[str, str] = {}

    async def name(self, user_id: str, fallback: str = "") -> str:
        if user_id in self._names:
            return self._names[user_id]
        try:
            response = await asyncio.wait_for(self.client.users_info(user=user_id), self.timeout)
        except (SlackApiError, asyncio.TimeoutError, OSError) as exc:
            log.info("no display name for %s (%s)", user_id, exc)
            return fallback or user_id
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                or user.get("name") or fallback or user_id)
        self._names[user_id] = name
        return name
