"""Questions recorded before Slack is acknowledged, and answered from the record."""

from __future__ import annotations

import json
import logging

from slack_bolt.response import BoltResponse

from protocol_bot.conversation import Incoming, Outgoing, Place

from . import render
from .events import asker_of, message_incoming, plain_text

log = logging.getLogger(__name__)


def is_question(body: dict) -> bool:
    """A mention, or a person's own new message in the bot's DM (not edits, joins or bots)."""
    if body.get("type") != "event_callback":
        return False
    event = body.get("event") or {}
    if event.get("type") == "app_mention":
        return bool(event.get("user"))
    return (event.get("type") == "message" and event.get("channel_type") == "im"
            and not event.get("subtype") and not event.get("bot_id") and bool(event.get("user")))


def record_key(body: dict) -> str | None:
    """The payload's own id: Slack's event id, or a slash command's trigger id (a replayed
    command is answered once)."""
    if is_question(body):
        return f"slack:event:{body.get('event_id') or ''}"
    if body.get("command") and body.get("trigger_id"):
        return f"slack:command:{body['trigger_id']}"
    return None


def make_recorder(slack):
    """Bolt middleware: a question is recorded (one durable insert) and acknowledged; the
    inbox worker answers it. A redelivery finds it recorded and is only acknowledged."""

    async def record_first(body, context, next):
        key = record_key(body)
        if key is None:
            return await next()
        await record(slack, key, body, context.get("bot_user_id"))
        return BoltResponse(status=200, body="")

    return record_first


async def record(slack, key: str, body: dict, bot_user: str | None) -> None:
    """One durable insert; the inbox worker is woken to answer it."""
    if not await slack.pipeline.record(key, {"body": body, "bot_user": bot_user}):
        log.info("already recorded: redelivery acknowledged")


async def record_event_quickly(slack, raw: bytes, headers) -> bool:
    """The HTTP fast path for a question event: verified like bolt verifies it, recorded,
    and acknowledged without bolt's per-request work (Slack's 3 s, and load, come first).
    False for anything else, which bolt handles."""
    if "json" not in (headers.get("Content-Type") or ""):
        return False
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    key = record_key(body) if isinstance(body, dict) and body.get("event") else None
    if key is None:
        return False
    identity = await slack.identity()
    await record(slack, key, body, identity.bot_user_id)
    return True


def respond(conversation, payload: dict) -> list[Outgoing]:
    """A recorded payload -> the conversation service -> rendered messages and where they go."""
    body = payload["body"]
    if body.get("command"):
        user = body["user_id"]
        reference = {"response_url": body.get("response_url"), "user": user}
        incoming = Incoming(asker=asker_of(user), text=plain_text(body.get("text", "")),
                            place=Place(conversation=user, is_private=True, reference=reference))
    else:
        incoming = message_incoming(body, body["event"], payload.get("bot_user"))
    shareable = bool(body.get("command"))
    return [Outgoing(incoming.asker.principal, incoming.place.reference,
                     render.reply_message(reply, shareable=shareable))
            for reply in conversation.handle(incoming, recorded=True)]
