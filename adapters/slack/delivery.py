"""Outbox delivery to Slack: MO notices by DM, the MO's answer back where the asker asked."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from protocol_bot.store import OutboxMessage

from . import render
from .messaging import open_dm, post
from .events import user_of


class UndeliverableMessage(ValueError):
    """The message names no Slack user or channel to deliver to."""


def render_outbox_message(msg: OutboxMessage) -> dict:
    """What a queued message looks like in Slack."""
    if msg.kind == "ticket_opened":
        return render.ticket_card(msg.body)
    if msg.kind == "ticket_assigned":
        by = user_of(msg.body.get("assigned_by", "")) or ""
        status = f"Assigned to you by {render.mention(by)}." if by else "Assigned to you."
        return render.ticket_card(msg.body, status=status)
    if msg.kind == "ticket_answered":
        return render.ticket_answered_message(msg.body)
    return render.ticket_update_message(msg.kind, msg.body)


def make_send(client: AsyncWebClient):
    """`send(msg)` for the outbox loop: posts the message, raises if Slack does not accept it."""

    async def send(msg: OutboxMessage) -> None:
        rendered = render_outbox_message(msg)
        reply_to = msg.reply_to or {}
        # Notices to the MO always go to their DM, whatever reference is stored for them:
        # a ticket is never posted in a channel. An answer goes where the asker asked.
        if msg.kind == "ticket_answered" and reply_to.get("channel"):
            await post(client, reply_to["channel"], rendered, reply_to.get("thread_ts"))
            return
        user = user_of(msg.recipient) or reply_to.get("user")
        if not user:
            raise UndeliverableMessage(
                f"outbox message {msg.id} is for {msg.recipient!r}, who is not a Slack user")
        await post(client, await open_dm(client, user), rendered)

    return send
