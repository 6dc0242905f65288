"""The monitoring officer's forms: Assign and Answer on a ticket card, their modals, and App Home."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from slack_bolt.async_app import AsyncApp

from protocol_bot.conversation import Reply

from . import render
from .messaging import open_view, send_dm, tell
from .events import action_incoming, view_input

log = logging.getLogger(__name__)

ANSWER_WAIT_SECONDS = 2.0  # within Slack's 3 s, so problems can be shown in the modal itself


def where_clicked(body: dict) -> dict:
    container = body.get("container") or {}
    if container.get("type") == "message":
        return {"c": container.get("channel_id"), "ts": container.get("message_ts")}
    return {}


def outcome(replies: list[Reply]) -> tuple[Reply, Reply | None]:
    """What the MO is told, and the updated ticket card when the action succeeded."""
    return replies[0], next((r for r in replies if r.kind == "ticket_card"), None)


async def refresh(slack, client, where: dict, reply: Reply, user_id: str) -> None:
    """Show the ticket's new status on the card it was acted on (a DM message or App Home)."""
    if where.get("c") and where.get("ts"):
        await client.chat_update(channel=where["c"], ts=where["ts"], **render.ticket_card(reply))
    await publish_home(slack, client, user_id)


async def publish_home(slack, client, user_id: str) -> None:
    """An MO's App Home lists the waiting tickets; everyone else's says how to use the bot."""
    body = {"user": {"id": user_id}}
    [reply] = await slack.handle(action_incoming(body, "tickets"))
    tickets = ([item.ticket for item in reply.items] if reply.kind == "ticket_list" else
               None if reply.kind == "refused" else [])
    await client.views_publish(user_id=user_id, view=render.home_view(tickets))


async def on_form(slack, ack, body, action, client, respond):
    """Assign or Answer on a ticket card: its modal, if the clicker may act on the ticket
    (and, to answer, it is still waiting); otherwise they are told why not."""
    await ack()
    user, answering = body["user"]["id"], action.get("action_id") == render.TICKET_ANSWER
    [reply] = await slack.handle(action_incoming(body, "answer_form" if answering else "ticket",
                                                 {"ticket": action.get("value")}))
    if reply.ticket is None:
        await tell(body, client, respond, reply.text)
        return
    ticket = reply.ticket
    meta = slack.seal({"t": ticket.id, **where_clicked(body)}, user)
    await open_view(client, body, render.answer_view(ticket.id, ticket.question, meta)
                    if answering else render.assign_view(ticket.id, user, meta))


async def on_assign_submitted(slack, ack, body, view, client):
    meta = slack.unseal(view.get("private_metadata"), body["user"]["id"])
    to = view_input(view, "assignee", "value")
    said, card = outcome(await slack.handle(action_incoming(
        body, "assign", {"ticket": meta.get("t", ""), "to": f"slack:{to}"})))
    if card is None:
        await ack(response_action="errors", errors={"assignee": said.text[:1900]})
        return
    await ack()
    await refresh(slack, client, meta, card, body["user"]["id"])


async def on_answer_submitted(slack, ack, body, view, client):
    user_id = body["user"]["id"]
    meta = slack.unseal(view.get("private_metadata"), user_id)
    text = view_input(view, "answer", "value").strip()  # an empty one: the desk says so
    save_faq = "save_faq" in (view_input(view, "save_faq", "value") or [])
    work = asyncio.ensure_future(slack.handle(action_incoming(
        body, "answer", {"ticket": meta.get("t", ""), "text": text, "save_faq": save_faq,
                         "faq_questions": view_input(view, "faq_questions", "value"),
                         "faq_text": view_input(view, "faq_text", "value")})))
    done, _ = await asyncio.wait({work}, timeout=ANSWER_WAIT_SECONDS)
    if not done:  # saving the FAQ is taking a while: close the modal, report by DM
        await ack()
    said, card = outcome(await work)
    if card is None:
        if done:
            block = "save_faq" if save_faq and "FAQ" in said.text else "answer"
            await ack(response_action="errors", errors={block: said.text[:1900]})
        else:
            await send_dm(client, user_id, render.notice(said.text))
        return
    if done:
        await ack()
    await refresh(slack, client, meta, card, user_id)


async def on_home(slack, event, client):
    if event.get("tab", "home") == "home":
        await publish_home(slack, client, event["user"])


def register(bolt: AsyncApp, slack) -> None:
    bolt.action(render.TICKET_ASSIGN)(partial(on_form, slack))
    bolt.action(render.TICKET_ANSWER)(partial(on_form, slack))
    bolt.view(render.ASSIGN_VIEW)(partial(on_assign_submitted, slack))
    bolt.view(render.ANSWER_VIEW)(partial(on_answer_submitted, slack))
    bolt.event("app_home_opened")(partial(on_home, slack))
