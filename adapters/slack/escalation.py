"""The asker's side of escalation: "Ask the monitoring officer" -> a modal -> one ticket, its id shown."""

from __future__ import annotations

import logging
from functools import partial

from slack_bolt.async_app import AsyncApp

from protocol_bot import wording
from protocol_bot.conversation import Incoming, Place

from . import render
from .events import (action_incoming, action_key, action_reply_to, asker_of, unpack_value,
                     view_input)
from .messaging import open_view, tell

log = logging.getLogger(__name__)

LOST_QUESTION = ("This form has lost its question. Close it and press \"Ask the monitoring "
                 "officer\" again.")


async def on_escalate(slack, ack, body, action, client):
    """Open the form; the key is the clicked message and the person, so a second click or a
    second submit of the same form finds the ticket already opened."""
    await ack()
    value = unpack_value(action.get("value"))
    [reply] = await slack.handle(action_incoming(
        body, "escalate_form", {"log": value.get("l"), "question": value.get("q")}))
    if reply.kind != "escalate_form":  # the question cannot be found: said, not a form
        await tell(body, client, None, reply.text)
        return
    metadata = slack.seal({"l": value.get("l"), "q": value.get("q"), "r": value.get("r") or [],
                           "k": action_key(body, "escalate"), "to": action_reply_to(body)},
                          body["user"]["id"])
    await open_view(client, body, render.escalate_view(reply.text, metadata))


async def on_escalate_submitted(slack, ack, body, view):
    user = body["user"]
    meta = slack.unseal(view.get("private_metadata"), user["id"])
    if not meta.get("k"):
        await ack(response_action="errors", errors={"context": LOST_QUESTION})
        return
    name = await slack.people.name(user["id"], fallback=user.get("name", ""))
    incoming = Incoming(asker=asker_of(user["id"], name),
                        place=Place(conversation=user["id"], reference=meta.get("to") or {}),
                        action="escalate",
                        data={"log": meta.get("l"), "question": meta.get("q"),
                              "refs": meta.get("r") or [], "key": meta["k"],
                              "context": view_input(view, "context", "value")})
    [reply] = await slack.handle(incoming)
    if reply.ticket is None:
        await ack(response_action="errors", errors={"context": reply.text or wording.TROUBLE})
        return
    # The ticket is committed before the asker is told it exists.
    await ack(response_action="update", view=render.escalated_view(reply.text))


def register(bolt: AsyncApp, slack) -> None:
    bolt.action(render.ESCALATE)(partial(on_escalate, slack))
    bolt.view(render.ESCALATE_VIEW)(partial(on_escalate_submitted, slack))
