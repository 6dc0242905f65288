"""The monitoring officer's side: Assign/Answer/Close on a ticket card, their modals, and App Home."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp

from protocol_bot.core import BotCore
from protocol_bot.desk import DeskError, NotPermitted, asker_dict
from protocol_bot.models import Ticket
from protocol_bot.store import TicketNotFound

from . import render
from .conversation import send_dm, tell
from .events import view_input

log = logging.getLogger(__name__)

WAITING = ("open", "assigned")
REFUSED = ("Only the monitoring officer or a deputy can assign, answer or close tickets. "
           "If you should be one, ask for your Slack user id to be added to "
           "PROTOCOL_BOT_MONITORING_OFFICERS.")
ANSWER_WAIT_SECONDS = 2.0  # within Slack's 3 s, so problems can be shown in the modal itself


def card_body(ticket: Ticket) -> dict:
    return {"ticket_id": ticket.id, "question": ticket.question, "context": ticket.context,
            "asker": asker_dict(ticket.asker), "bot_refs": list(ticket.bot_refs)}


def register(bolt: AsyncApp, core: BotCore) -> None:
    desk = core.desk

    def principal(body: dict) -> str:
        return f"slack:{body['user']['id']}"

    async def refresh(client, where: dict, ticket: Ticket, user_id: str) -> None:
        """Show the ticket's new status on the card it was acted on (a DM message or App Home)."""
        if where.get("c") and where.get("ts"):
            status = render.ticket_status(ticket.status, assignee=ticket.assignee,
                                          actor_user=user_id)
            card = render.ticket_card(card_body(ticket), status=status,
                                      actionable=ticket.status != "closed")
            await client.chat_update(channel=where["c"], ts=where["ts"], **card)
        await publish_home(client, user_id)

    async def publish_home(client, user_id: str) -> None:
        actor = f"slack:{user_id}"
        if desk.is_mo(actor):
            tickets = await asyncio.to_thread(desk.list_tickets, actor)
            view = render.home_view([t for t in tickets if t.status in WAITING])
        else:
            view = render.home_view(None)
        await client.views_publish(user_id=user_id, view=view)

    def where_clicked(body: dict) -> dict:
        container = body.get("container") or {}
        if container.get("type") == "message":
            return {"c": container.get("channel_id"), "ts": container.get("message_ts")}
        return {}

    async def ticket_for(body, action, client, respond) -> Ticket | None:
        """The clicked ticket, if the clicker may act on it; otherwise they are told why not."""
        try:
            return await asyncio.to_thread(desk.show, action.get("value", ""), principal(body))
        except NotPermitted:
            await tell(body, client, respond, REFUSED)
        except TicketNotFound:
            await tell(body, client, respond, f"There is no ticket {action.get('value')}.")
        return None

    @bolt.action(render.TICKET_ASSIGN)
    async def on_assign(ack, body, action, client, respond):
        await ack()
        ticket = await ticket_for(body, action, client, respond)
        if ticket:
            meta = render.pack_metadata({"t": ticket.id, **where_clicked(body)})
            await client.views_open(trigger_id=body["trigger_id"],
                                    view=render.assign_view(ticket.id, body["user"]["id"], meta))

    @bolt.view(render.ASSIGN_VIEW)
    async def on_assign_submitted(ack, body, view, client):
        meta = render.metadata_of(view)
        user_id = body["user"]["id"]
        to = view_input(view, "assignee", "value")
        try:
            ticket = await asyncio.to_thread(desk.assign, meta.get("t", ""), f"slack:{to}",
                                             f"slack:{user_id}")
        except (NotPermitted, DeskError, TicketNotFound) as exc:
            await ack(response_action="errors", errors={"assignee": str(exc)[:1900]})
            return
        await ack()
        await refresh(client, meta, ticket, user_id)

    @bolt.action(render.TICKET_ANSWER)
    async def on_answer(ack, body, action, client, respond):
        await ack()
        ticket = await ticket_for(body, action, client, respond)
        if ticket is None:
            return
        if ticket.status not in WAITING:
            await tell(body, client, respond, f"{ticket.id} is {ticket.status}: reopen it with "
                       f"`protocol-bot tickets reopen {ticket.id}` to answer again.")
            return
        meta = render.pack_metadata({"t": ticket.id, **where_clicked(body)})
        await client.views_open(trigger_id=body["trigger_id"],
                                view=render.answer_view(ticket.id, ticket.question, meta))

    @bolt.view(render.ANSWER_VIEW)
    async def on_answer_submitted(ack, body, view, client):
        meta = render.metadata_of(view)
        user_id = body["user"]["id"]
        text = view_input(view, "answer", "value").strip()
        if not text:
            await ack(response_action="errors", errors={"answer": "Write the answer the asker "
                                                        "should receive."})
            return
        save_faq = "save_faq" in (view_input(view, "save_faq", "value") or [])
        variants = tuple(line.strip() for line in
                         view_input(view, "faq_questions", "value").splitlines() if line.strip())
        work = asyncio.ensure_future(asyncio.to_thread(
            desk.answer, meta.get("t", ""), f"slack:{user_id}", text, save_faq=save_faq,
            faq_questions=variants))
        done, _ = await asyncio.wait({work}, timeout=ANSWER_WAIT_SECONDS)
        if done:
            try:
                ticket = work.result()
            except (NotPermitted, DeskError, TicketNotFound) as exc:
                block = "save_faq" if save_faq and "FAQ" in str(exc) else "answer"
                await ack(response_action="errors", errors={block: str(exc)[:1900]})
                return
            await ack()
        else:  # saving the FAQ is taking a while: close the modal, report by DM
            await ack()
            try:
                ticket = await work
            except (NotPermitted, DeskError, TicketNotFound) as exc:
                await send_dm(client, user_id, render.notice(str(exc)))
                return
        await refresh(client, meta, ticket, user_id)

    @bolt.action(render.TICKET_CLOSE)
    async def on_close(ack, body, action, client, respond):
        await ack()
        user_id = body["user"]["id"]
        try:
            ticket = await asyncio.to_thread(desk.close, action.get("value", ""), f"slack:{user_id}")
        except NotPermitted:
            await tell(body, client, respond, REFUSED)
            return
        except (DeskError, TicketNotFound) as exc:
            await tell(body, client, respond, str(exc))
            return
        await refresh(client, where_clicked(body), ticket, user_id)

    @bolt.event("app_home_opened")
    async def on_home(event, client):
        if event.get("tab", "home") == "home":
            await publish_home(client, event["user"])
