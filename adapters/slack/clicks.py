"""Buttons that need no form: the click as a call on the conversation service, its replies shown."""

from __future__ import annotations

import re
from functools import partial

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from protocol_bot.conversation import Reply

from . import render
from .events import action_incoming, action_key, unpack_value
from .delivery import REFUSING
from .messaging import open_view, post, send_dm, tell
from .officer import refresh, where_clicked

# action_id -> (the service's action, the field the button's value fills)
PLAIN = {render.TICKET_CLOSE: ("close", "ticket"), render.TICKET_UNTEACH: ("untaught", "taught"),
         render.FAQ_LIST: ("faq_list", None), render.FAQ_WITHDRAW: ("faq_withdraw", "ticket")}


def click_of(body: dict, action: dict) -> tuple[str, dict]:
    """(the service's action, its data) for a clicked button."""
    action_id, value = action.get("action_id", ""), action.get("value", "")
    if action_id in (render.HELPFUL, render.NOT_HELPFUL):
        packed = unpack_value(value)
        log_id = packed.get("l")
        return ("helpful" if action_id == render.HELPFUL else "not_helpful",
                {"log": log_id if isinstance(log_id, int) else None, "question": packed.get("q"),
                 "refs": packed.get("r") or [], "key": action_key(body, "feedback")})
    if action_id == render.FULL_TEXT:
        return "passage", {"key": unpack_value(value).get("k", "")}
    if action_id.startswith(render.TICKET_TEACH):
        packed = unpack_value(value)
        return "teach", {"ticket": packed.get("t", ""), "key": packed.get("k", "")}
    verb, field = PLAIN[action_id]
    return verb, {field: value} if field else {}


async def on_click(slack, ack, body, action, client, respond):
    await ack()
    verb, data = click_of(body, action)
    for reply in await slack.handle(action_incoming(body, verb, data)):
        await show(slack, body, client, respond, reply, by_dm=verb == "faq_list")


async def show(slack, body, client, respond, reply: Reply, by_dm: bool = False) -> None:
    """A reply to the person who clicked: the ticket card updated where it was clicked, a
    passage in full in a modal, a taught question (with Undo) or a long list by DM, anything
    else privately."""
    user, c = body["user"]["id"], reply.citation
    if reply.kind == "passage":
        await open_view(client, body, render.full_text_view(c.document, c.label(), c.heading, c.text))
    elif reply.kind == "ticket_card":
        await refresh(slack, client, where_clicked(body), reply, user)
    elif reply.kind == "taught":
        await send_dm(client, user, render.taught_message(reply.text, reply.taught_id))
    elif by_dm:
        await send_dm(client, user, render.notice(reply.text))
    else:
        await tell(body, client, respond, reply.text)


REFUSED_CHANNEL = ("I can't post in this conversation. Invite me with /invite @protocol-bot, "
                   "then share again.")


async def ignore(ack):
    """Messages that are not questions (edits, joins, the bot's own): acknowledged only.
    Questions never get here: `recording` records and acknowledges them first."""
    await ack()


async def on_share(slack, ack, body, action, client, respond):
    await ack()
    value = unpack_value(action.get("value"))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    if not channel:
        await tell(body, client, respond, "There is nothing to share here.")
        return
    [reply] = await slack.handle(action_incoming(body, "ask", {"log": value.get("l"),
                                                               "question": value.get("q")}))
    if reply.answer is None:  # the question is lost: said to the clicker, not shared
        await tell(body, client, respond, reply.text)
        return
    try:
        await post(client, channel, render.reply_message(reply, shared_by=body["user"]["id"]))
    except SlackApiError as exc:
        if exc.response.get("error", "") in REFUSING:  # removed, archived, not allowed
            await tell(body, client, respond, REFUSED_CHANNEL)
            return
        raise
    await respond(delete_original=True)


def register(bolt: AsyncApp, slack) -> None:
    bolt.event("message")(ignore)
    bolt.action(render.SHARE)(partial(on_share, slack))
    for action_id in (render.HELPFUL, render.NOT_HELPFUL, render.FULL_TEXT, *PLAIN):
        bolt.action(action_id)(partial(on_click, slack))
    bolt.action(re.compile(f"^{render.TICKET_TEACH}:"))(partial(on_click, slack))
