"""Asking: a mention, a DM or /protocol -> the core's answer, rendered where the question was asked."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from protocol_bot.core import BotCore
from protocol_bot.models import Answer, Citation

from . import render
from .conversation import post, tell
from .events import (asker_of, dm_reply_to, is_help, mention_reply_to, plain_text, unpack_value,
                     action_key)

log = logging.getLogger(__name__)

TROUBLE = ("Sorry, I couldn't answer that just now because of a problem on my side. Please try "
           "again in a minute; if it keeps happening, contact the monitoring officer directly.")


async def answer_for(core: BotCore, user_id: str, question: str) -> tuple[Answer, object]:
    """The core's answer (CPU work, run off the event loop) and its question-log id."""
    answer = await asyncio.to_thread(core.knowledge.ask, question)
    log_id = None
    if core.desk is not None:
        try:
            log_id = await asyncio.to_thread(core.desk.record_question, asker_of(user_id), answer)
        except Exception:  # the log is for improving answers; never let it stop one
            log.exception("could not log the question")
    return answer, log_id


async def reply_in_conversation(core: BotCore, client, user_id: str, question: str,
                                reply_to: dict) -> None:
    """Answer a question asked in a channel or DM, into `reply_to` {"channel", "thread_ts"}."""
    channel, thread_ts = reply_to["channel"], reply_to.get("thread_ts")
    if is_help(question):
        await post(client, channel, render.help_message(), thread_ts)
        return
    try:
        answer, log_id = await answer_for(core, user_id, question)
        msg = render.answer_message(answer, log_id=log_id)
    except Exception:
        log.exception("answering failed")
        msg = render.notice(TROUBLE)
    await post(client, channel, msg, thread_ts)


def find_citation(core: BotCore, key: str) -> Citation | None:
    """The passage 'document_id#ref' from the live knowledge, as a Citation (for its label)."""
    kb = core.knowledge.answerer.kb
    for passage in kb.passages:
        if passage.key == key:
            doc = kb.documents.get(passage.document_id)
            return Citation(document_id=passage.document_id, document=doc.title if doc else "",
                            edition=doc.edition if doc else "", ref=passage.ref,
                            heading=passage.heading, text=passage.text, score=0.0,
                            kind=doc.kind if doc else "protocol", type=passage.type)
    return None


def register(bolt: AsyncApp, core: BotCore) -> None:
    @bolt.event("app_mention")
    async def on_mention(event, context, client):
        question = plain_text(event.get("text", ""), drop_user=context.get("bot_user_id"))
        await reply_in_conversation(core, client, event["user"], question, mention_reply_to(event))

    @bolt.event("message")
    async def on_direct_message(event, context, client):
        # Only people's own new messages in the bot's DM: not edits, joins, or bots.
        if (event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id")
                or not event.get("user")):
            return
        question = plain_text(event.get("text", ""), drop_user=context.get("bot_user_id"))
        await reply_in_conversation(core, client, event["user"], question, dm_reply_to(event))

    @bolt.command("/protocol")
    async def on_command(ack, command, respond):
        await ack()
        question = plain_text(command.get("text", ""))
        if is_help(question):
            await respond(response_type="ephemeral", **render.help_message())
            return
        try:
            answer, log_id = await answer_for(core, command["user_id"], question)
            msg = render.answer_message(answer, log_id=log_id, shareable=True)
        except Exception:
            log.exception("answering failed")
            msg = render.notice(TROUBLE)
        await respond(response_type="ephemeral", **msg)

    @bolt.action(render.SHARE)
    async def on_share(ack, body, action, client, respond):
        await ack()
        question = unpack_value(action.get("value")).get("q", "")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if not question or not channel:
            await tell(body, client, respond, "There is nothing to share here.")
            return
        answer = await asyncio.to_thread(core.knowledge.ask, question)
        msg = render.answer_message(answer, shared_by=body["user"]["id"])
        try:
            await post(client, channel, msg)
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            if error in ("not_in_channel", "channel_not_found", "is_archived"):
                await tell(body, client, respond, "I can't post in this conversation. Invite me "
                           "with /invite @protocol-bot, then share again.")
                return
            raise
        await respond(delete_original=True)

    @bolt.action(render.FULL_TEXT)
    async def on_full_text(ack, body, action, client, respond):
        await ack()
        key = unpack_value(action.get("value")).get("k", "")
        citation = find_citation(core, key)
        if citation is None:
            await tell(body, client, respond, "That passage is no longer in the knowledge base. "
                       "Ask your question again for the current text.")
            return
        await client.views_open(trigger_id=body["trigger_id"], view=render.full_text_view(
            citation.document, citation.label(), citation.heading, citation.text))

    async def on_feedback(body, action, client, respond, helpful: bool):
        value = unpack_value(action.get("value"))
        first = await asyncio.to_thread(core.desk.store.claim_event, action_key(body, "feedback"))
        if first:
            await asyncio.to_thread(core.desk.feedback, value.get("l"), asker_of(body["user"]["id"]),
                                    value.get("q", ""), tuple(value.get("r") or ()), helpful)
        words = "Thanks: noted." if helpful else ("Thanks: noted. If you still need an answer, "
                                                 "use \"Ask the monitoring officer\".")
        await tell(body, client, respond, words if first else "You have already rated this answer.")

    @bolt.action(render.HELPFUL)
    async def on_helpful(ack, body, action, client, respond):
        await ack()
        await on_feedback(body, action, client, respond, True)

    @bolt.action(render.NOT_HELPFUL)
    async def on_not_helpful(ack, body, action, client, respond):
        await ack()
        await on_feedback(body, action, client, respond, False)
