"""The asker's buttons that do more than one call: share an answer, see a passage in full."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from protocol_bot import wording

from . import render
from .messaging import open_view, post, tell
from .events import action_incoming, unpack_value

log = logging.getLogger(__name__)

REFUSED_CHANNEL = ("I can't post in this conversation. Invite me with /invite @protocol-bot, "
                   "then share again.")


async def ignore(ack):
    """Messages that are not questions (edits, joins, the bot's own): acknowledged only.
    Questions never get here: `recording` records and acknowledges them first."""
    await ack()


async def on_share(slack, ack, body, action, client, respond):
    await ack()
    value = unpack_value(action.get("value"))
    question = await asyncio.to_thread(slack.conversation.question_of,
                                       {"log": value.get("l"), "question": value.get("q")})
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    if not question or not channel:
        await tell(body, client, respond, "There is nothing to share here.")
        return
    replies = await slack.handle(action_incoming(body, "ask", {"question": question}))
    try:
        for reply in replies:
            await post(client, channel, render.reply_message(reply, shared_by=body["user"]["id"]))
    except SlackApiError as exc:
        if exc.response.get("error", "") in ("not_in_channel", "channel_not_found", "is_archived"):
            await tell(body, client, respond, REFUSED_CHANNEL)
            return
        raise
    await respond(delete_original=True)


async def on_full_text(slack, ack, body, action, client, respond):
    await ack()
    key = unpack_value(action.get("value")).get("k", "")
    [reply] = await slack.handle(action_incoming(body, "passage", {"key": key}))
    if reply.citation is None:
        await tell(body, client, respond, reply.text or wording.PASSAGE_GONE)
        return
    c = reply.citation
    await open_view(client, body, render.full_text_view(c.document, c.label(), c.heading, c.text))


def register(bolt: AsyncApp, slack) -> None:
    bolt.event("message")(ignore)
    bolt.action(render.SHARE)(partial(on_share, slack))
    bolt.action(render.FULL_TEXT)(partial(on_full_text, slack))
