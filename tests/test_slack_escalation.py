"""Escalation in Slack: the asker's modal, one ticket, the MO's DM, their answer back in the thread."""

from __future__ import annotations

from protocol_bot import wording

import copy
import json
import time

from adapters.slack import render
from adapters.slack.delivery import make_send
from adapters.outbox_loop import deliver_due
from protocol_bot.delivery import RetryLater
from protocol_bot.models import Asker
from slack_sdk.web.async_client import AsyncWebClient
from tests.slack_fake import (BOT_TOKEN, MO_USER, FakeSlack, find_button, make_conversation, payload, run,
                              running_bot)

ASKER = "U0ASKER01"
DEPUTY = "U0DEPUTY1"
MOS = (f"slack:{MO_USER}", f"slack:{DEPUTY}")




def click(bot, name: str, action_id: str, value: str, *, user: str | None = None,
          message: dict | None = None) -> dict:
    """A recorded block_actions payload, pointed at the fake's response_url."""
    data = copy.deepcopy(payload(name))
    data["response_url"] = bot.fake.response_url(action_id)
    data["actions"][0].update(action_id=action_id, value=value)
    if user:
        data["user"] = {"id": user, "username": user.lower(), "name": user.lower(),
                        "team_id": "T0COUNCIL"}
    if message:
        data["message"].update(message)
    return data


def submission(name: str, view: dict, *, user: str | None = None, values: dict | None = None) -> dict:
    """A recorded view_submission payload carrying the view the bot opened."""
    data = copy.deepcopy(payload(name))
    data["view"].update(private_metadata=view["private_metadata"], callback_id=view["callback_id"],
                        blocks=view["blocks"])
    if values is not None:
        data["view"]["state"]["values"] = values
    if user:
        data["user"] = {"id": user, "username": user.lower(), "name": user.lower(),
                        "team_id": "T0COUNCIL"}
    return data


async def ask_and_escalate(bot) -> tuple[dict, str, dict]:
    """Mention -> answer -> "Ask the monitoring officer" -> modal submitted. Returns
    (the modal response, the escalate button value, the submission payload)."""
    await bot.event(payload("slack_app_mention"))
    [answer] = await bot.fake.wait_for("chat.postMessage")
    value = find_button(answer.args["blocks"], render.ESCALATE)["value"]
    status, _ = await bot.interaction(click(bot, "slack_block_actions_escalate", render.ESCALATE,
                                            value, message={"blocks": answer.args["blocks"]}))
    assert status == 200
    [opened] = await bot.fake.wait_for("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == render.ESCALATE_VIEW
    assert opened.args["trigger_id"] == payload("slack_block_actions_escalate")["trigger_id"]
    submit = submission("slack_view_submission_escalate", view)
    status, text = await bot.interaction(submit)
    assert status == 200
    return json.loads(text), value, submit


def test_escalation_opens_one_ticket_tells_the_asker_and_dms_the_mo():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            response, value, submit = await ask_and_escalate(bot)
            assert response["response_action"] == "update"
            shown = json.dumps(response["view"])
            assert "Sent to the monitoring officer as ticket MO-0001" in shown

            # Submitted twice (a double click, a retry): still one ticket, same id.
            status, text = await bot.interaction(submit)
            assert "already sent to the monitoring officer as ticket MO-0001" in text
            tickets = bot.conversation.desk.store.list_tickets()
            assert [t.id for t in tickets] == ["MO-0001"]
            ticket = tickets[0]
            assert ticket.asker.user_id == ASKER and ticket.asker.display_name == "Sam Jones"
            assert ticket.reply_to == {"channel": "C0MEMBERS1", "thread_ts": "1767268800.000100"}
            assert ticket.context.startswith("It is about the leaflet")
            assert ticket.bot_refs == tuple(json.loads(value)["r"])

            # Each MO gets a DM: conversations.open, then chat.postMessage into that DM.
            opens = await bot.fake.wait_for("conversations.open", 2)
            assert sorted(c.args["users"] for c in opens) == sorted([MO_USER, DEPUTY])
            dm_channels = {c.result["channel"]["id"] for c in opens}
            cards = await bot.fake.wait_for("chat.postMessage", 2,
                                            where=lambda c: c.args["channel"] in dm_channels)
            assert len(cards) == 2 and all(c.args["channel"].startswith("D") for c in cards)
            card = cards[0].args
            text = "\n".join(b["text"]["text"] if b["type"] == "section" else
                             b["elements"][0]["text"] for b in card["blocks"]
                             if b["type"] in ("section", "context"))
            assert "MO-0001" in text and f"<@{ASKER}> (Sam Jones)" in text
            assert "party political work" in text and "leaflet" in text
            assert ticket.bot_refs[0].split("#")[1] in text
            assert [find_button(card["blocks"], a)["text"]["text"] for a in
                    (render.TICKET_ASSIGN, render.TICKET_ANSWER, render.TICKET_CLOSE)] == \
                ["Assign", "Answer", "Close"]
            assert card["text"].startswith("MO-0001")
            # Once both are marked delivered nothing is left owed, at any later time: nothing
            # can be delivered twice.
            await bot.all_delivered()
            later = time.time() + 86400
            assert bot.conversation.deliveries.claim("slack", later) == []
            assert len(bot.fake.of("conversations.open")) == 2
            assert bot.fake.messages_without_text() == []
    run(scenario)


def test_mo_answer_with_save_as_faq_reaches_the_asker_thread_and_answers_the_next_asker(
        knowledge_copy):
    async def scenario():
        async with running_bot(make_conversation(mos=MOS, knowledge_dir=knowledge_copy)) as bot:
            await ask_and_escalate(bot)
            await bot.fake.wait_for("chat.postMessage", 3)  # the answer and two MO cards

            status, _ = await bot.interaction(click(bot, "slack_block_actions_ticket_answer",
                                                    render.TICKET_ANSWER, "MO-0001"))
            assert status == 200
            opened = await bot.fake.wait_for("views.open", 2)
            view = opened[-1].args["view"]
            assert view["callback_id"] == render.ANSWER_VIEW
            assert "party political work" in json.dumps(view["blocks"])
            assert "Save as FAQ" in json.dumps(view["blocks"])

            status, text = await bot.interaction(
                submission("slack_view_submission_ticket_answer", view))
            assert status == 200 and text == ""  # the modal closes
            ticket = bot.conversation.desk.store.get_ticket("MO-0001")
            assert ticket.status == "answered" and ticket.answer.startswith("No. Officers")

            # Delivered through the outbox into the asker's thread.
            [back] = await bot.fake.wait_for(
                "chat.postMessage", where=lambda c: "No. Officers must stay" in json.dumps(c.args))
            assert back.args["channel"] == "C0MEMBERS1"
            assert back.args["thread_ts"] == "1767268800.000100"
            assert "MO-0001" in back.args["text"]
            # The MO's card now says it was answered, without buttons to answer again.
            [update] = await bot.fake.wait_for("chat.update")
            assert update.args["channel"] == "D0MO00001"
            assert "Answered by" in json.dumps(update.args["blocks"])

            # The next person asking gets the MO's answer as an FAQ.
            answer = bot.conversation.knowledge.ask("Can an officer check my election leaflet?")
            assert answer.citations[0].kind == "faq"
            assert "No. Officers must stay politically impartial" in answer.citations[0].text
            assert bot.fake.messages_without_text() == []
    run(scenario)


def test_a_private_slash_command_question_is_answered_back_by_dm_not_in_the_channel():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            fields = dict(payload("slack_command_protocol"), response_url=bot.fake.response_url())
            await bot.command(fields)
            [reply] = await bot.fake.wait_for("response_url")
            value = find_button(reply.args["blocks"], render.ESCALATE)["value"]
            data = click(bot, "slack_block_actions_escalate", render.ESCALATE, value)
            data["container"] = {"type": "message", "message_ts": "1767268801.000077",
                                 "channel_id": "C0MEMBERS1", "is_ephemeral": True}
            data.pop("message")
            await bot.interaction(data)
            [opened] = await bot.fake.wait_for("views.open")
            await bot.interaction(submission("slack_view_submission_escalate", opened.args["view"]))
            [ticket] = bot.conversation.desk.store.list_tickets()
            assert ticket.reply_to == {"user": ASKER}
            bot.conversation.desk.answer(ticket.id, f"slack:{MO_USER}", "Yes, through the chief executive.")
            [back] = await bot.fake.wait_for(
                "chat.postMessage", where=lambda c: "chief executive" in json.dumps(c.args))
            assert back.args["channel"] == "D" + ASKER[1:]  # the asker's DM
    run(scenario)


def test_someone_who_is_not_an_mo_cannot_use_the_mo_buttons_or_modals():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            await ask_and_escalate(bot)
            for action in (render.TICKET_ANSWER, render.TICKET_ASSIGN, render.TICKET_CLOSE):
                await bot.interaction(click(bot, "slack_block_actions_ticket_answer", action,
                                            "MO-0001", user=ASKER))
            refusals = await bot.fake.wait_for("response_url", 3)
            for refusal in refusals:
                assert refusal.args["text"].startswith("Only the monitoring officer")
                assert refusal.args["response_type"] == "ephemeral"
            assert len(bot.fake.of("views.open")) == 1  # only the asker's own escalation modal
            # A forged submission of the MO's answer modal is refused too.
            view = {"private_metadata": json.dumps({"t": "MO-0001"}),
                    "callback_id": render.ANSWER_VIEW, "blocks": []}
            status, text = await bot.interaction(
                submission("slack_view_submission_ticket_answer", view, user=ASKER))
            assert json.loads(text)["response_action"] == "errors"
            assert "Only the monitoring officer or a deputy" in text
            ticket = bot.conversation.desk.store.get_ticket("MO-0001")
            assert ticket.status == "open" and ticket.answer is None
            refused = bot.conversation.desk.store.audit_entries()
            assert any(e.outcome == "refused" for e in refused)
    run(scenario)


def test_mo_assigns_to_a_deputy_and_closes():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            await ask_and_escalate(bot)
            await bot.interaction(click(bot, "slack_block_actions_ticket_answer",
                                        render.TICKET_ASSIGN, "MO-0001"))
            opened = await bot.fake.wait_for("views.open", 2)
            view = opened[-1].args["view"]
            assert view["callback_id"] == render.ASSIGN_VIEW
            values = {"assignee": {"value": {"type": "users_select", "selected_user": DEPUTY}}}
            status, text = await bot.interaction(submission(
                "slack_view_submission_ticket_answer", view, values=values))
            assert status == 200 and text == ""
            assert bot.conversation.desk.store.get_ticket("MO-0001").assignee == f"slack:{DEPUTY}"
            [update] = await bot.fake.wait_for("chat.update")
            assert f"Assigned to <@{DEPUTY}> by <@{MO_USER}>" in json.dumps(update.args["blocks"])
            # The deputy hears about it in their DM.
            await bot.fake.wait_for("chat.postMessage", where=lambda c: "was assigned to you by "
                                    f"<@{MO_USER}>" in json.dumps(c.args.get("blocks")))

            # Assigning to someone who is not an MO is refused in the modal, in plain words.
            values["assignee"]["value"]["selected_user"] = ASKER
            status, text = await bot.interaction(submission(
                "slack_view_submission_ticket_answer", view, values=values))
            errors = json.loads(text)["errors"]["assignee"]
            assert "is not a monitoring officer or deputy" in errors

            await bot.interaction(click(bot, "slack_block_actions_ticket_answer",
                                        render.TICKET_CLOSE, "MO-0001"))
            updates = await bot.fake.wait_for("chat.update", 2)
            closed = updates[-1].args["blocks"]
            assert "Closed by" in json.dumps(closed)
            # Closed: no Assign / Answer / Close (the core's offers), the FAQ answers still
            assert [e["action_id"] for b in closed if b["type"] == "actions"
                    for e in b["elements"]] == [render.FAQ_LIST]
            assert bot.conversation.desk.store.get_ticket("MO-0001").status == "closed"
            assert bot.fake.messages_without_text() == []
    run(scenario)


def test_app_home_shows_the_mo_open_tickets_and_others_how_to_use_the_bot():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            await ask_and_escalate(bot)
            await bot.event(payload("slack_app_home_opened"))
            [mo_home] = await bot.fake.wait_for("views.publish")
            assert mo_home.args["user_id"] == MO_USER
            home = json.dumps(mo_home.args["view"])
            assert mo_home.args["view"]["type"] == "home"
            assert "MO-0001" in home and "party political work" in home
            assert render.TICKET_ANSWER in home

            other = copy.deepcopy(payload("slack_app_home_opened"))
            other["event"]["user"] = ASKER
            other["event_id"] = "Ev0HOME00002"
            await bot.event(other)
            homes = await bot.fake.wait_for("views.publish", 2)
            assert homes[1].args["user_id"] == ASKER
            home = json.dumps(homes[1].args["view"])
            assert "MO-0001" not in home and wording.EXAMPLE_QUESTIONS[0] in home
    run(scenario)


def test_feedback_is_recorded_once_per_person_and_answer():
    async def scenario():
        async with running_bot() as bot:
            await bot.event(payload("slack_app_mention"))
            [answer] = await bot.fake.wait_for("chat.postMessage")
            value = find_button(answer.args["blocks"], render.HELPFUL)["value"]
            for _ in range(2):
                await bot.interaction(click(bot, "slack_block_actions_escalate", render.HELPFUL,
                                            value))
            replies = await bot.fake.wait_for("response_url", 2)
            assert replies[0].args["text"] == wording.THANKS_HELPFUL
            assert "already rated" in replies[1].args["text"]
            [feedback] = bot.conversation.desk.store.feedback_entries()
            assert feedback.helpful is True
    run(scenario)


def test_show_full_text_opens_the_whole_passage_in_a_modal():
    async def scenario():
        async with running_bot() as bot:
            kb = bot.conversation.knowledge.answerer.kb
            long = max(kb.passages, key=lambda p: len(p.text))
            value = json.dumps({"k": long.key})
            await bot.interaction(click(bot, "slack_block_actions_escalate", render.FULL_TEXT,
                                        value))
            [opened] = await bot.fake.wait_for("views.open")
            shown = " ".join(b["text"]["text"] for b in opened.args["view"]["blocks"][1:])
            last_words = " ".join(long.text.split()[-5:])
            assert render.escape(last_words) in shown.replace("\n&gt; ", " ").replace("&gt; ", "")
    run(scenario)


def test_outbox_send_raises_when_slack_refuses_so_the_message_is_retried():
    async def scenario():
        async with FakeSlack() as fake:
            conversation = make_conversation(mos=MOS)
            conversation.desk.escalate(Asker("slack", ASKER, "Sam"), "A question?", idempotency_key="k1",
                               reply_to={"channel": "C0MEMBERS1", "thread_ts": "1.1"})
            client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
            fake.fail_next("chat.postMessage", "ratelimited")
            send = make_send(client, conversation.queued_reply)
            delivered = await deliver_due(conversation.deliveries, "slack", send)
            assert delivered == 1  # one of the two MO notices failed
            [waiting] = conversation.desk.store.undelivered("slack")
            assert "ratelimited" in waiting.last_error
            delivered = await deliver_due(conversation.deliveries, "slack", send,
                                          now=waiting.next_attempt_at + 1)
            assert delivered == 1 and not conversation.desk.store.undelivered("slack")
            try:
                fake.fail_next("conversations.open", "user_not_found")
                await send(waiting)
            except RetryLater as exc:  # the core decides: try again later
                assert "user_not_found" in str(exc)
            else:
                raise AssertionError("send did not raise")
    run(scenario)
