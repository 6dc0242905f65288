"""The asker's side of escalation: "Ask the monitoring officer" -> a modal -> one ticket, its id shown."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp

from protocol_bot.core import BotCore

from . import render
from .conversation import People
from .events import action_key, action_reply_to, asker_of, unpack_value, view_input

log = logging.getLogger(__name__)


def register(bolt: AsyncApp, core: BotCore, people: People) -> None:
    @bolt.action(render.ESCALATE)
    async def on_escalate(ack, body, action, client):
        await ack()
        value = unpack_value(action.get("value"))
        question = value.get("q", "")
        # The key is the clicked message and the person: a second click or a second submit of
        # the same modal finds the ticket already opened.
        metadata = render.pack_metadata({"q": question, "r": value.get("r") or [],
                                         "k": action_key(body, "escalate"),
                                         "to": action_reply_to(body)})
        await client.views_open(trigger_id=body["trigger_id"],
                                view=render.escalate_view(question, metadata))

    @bolt.view(render.ESCALATE_VIEW)
    async def on_escalate_submitted(ack, body, view):
        meta = render.metadata_of(view)
        user = body["user"]
        if not meta.get("q") or not meta.get("k"):
            await ack(response_action="errors", errors={
                "context": "This form has lost its question. Close it and press "
                           "\"Ask the monitoring officer\" again."})
            return
        name = await people.name(user["id"], fallback=user.get("name", ""))
        try:
            ticket, created = await asyncio.to_thread(
                core.desk.escalate, asker_of(user["id"], name), meta["q"],
                idempotency_key=meta["k"], reply_to=meta.get("to"),
                context=view_input(view, "context", "value"), bot_refs=tuple(meta.get("r") or ()))
        except Exception:
            log.exception("could not open a ticket")
            await ack(response_action="errors", errors={
                "context": "Sorry, I couldn't send this to the monitoring officer just now. "
                           "Please try again in a minute."})
            return
        # The ticket is committed before the asker is told it exists.
        await ack(response_action="update", view=render.escalated_view(ticket.id, created))
