"""Issue 12 in Slack: a question declined today is answered from the right clause after one
"This answers it" click on the MO's ticket card (real bolt against the fake Slack Web API)."""

from __future__ import annotations

import copy
import json

from adapters.slack import render
from tests.slack_fake import MO_USER, make_conversation, payload, run, running_bot
from tests.test_slack_escalation import click, submission

WEEKEND = "can I phone an officer at home late in the evening?"
RIGHT_CLAUSE = "mor-protocol-2026#3.2"


def mention(text: str, event_id: str, ts: str) -> dict:
    data = copy.deepcopy(payload("slack_app_mention"))
    data["event_id"] = event_id
    data["event"].update(text=f"<@U0BOT0001> {text}", ts=ts, event_ts=ts, client_msg_id=event_id)
    data["event"].pop("blocks", None)
    return data


def buttons(blocks) -> list[dict]:
    found = []
    for block in blocks:
        for element in block.get("elements", []) + [block.get("accessory") or {}]:
            if element.get("type") == "button":
                found.append(element)
    return found


def test_this_answers_it_in_slack_teaches_a_declined_question(knowledge_copy):
    async def scenario():
        conversation = make_conversation(mos=(f"slack:{MO_USER}",), knowledge_dir=knowledge_copy)
        async with running_bot(conversation) as bot:
            await bot.event(mention(WEEKEND, "Ev0WEEKEND1", "1767268900.000100"))
            [declined] = await bot.fake.wait_for("chat.postMessage")
            assert "couldn't find" in json.dumps(declined.args).lower()
            escalate = next(b for b in buttons(declined.args["blocks"])
                            if b["action_id"] == render.ESCALATE)
            status, _ = await bot.interaction(click(
                bot, "slack_block_actions_escalate", render.ESCALATE, escalate["value"],
                message={"blocks": declined.args["blocks"]}))
            assert status == 200
            [opened] = await bot.fake.wait_for("views.open")
            status, _ = await bot.interaction(
                submission("slack_view_submission_escalate", opened.args["view"]))
            assert status == 200

            # The MO's DM: the passages the bot considered, each with "This answers it".
            [card] = await bot.fake.wait_for(
                "chat.postMessage", where=lambda c: c.args["channel"].startswith("D")
                and "MO-0001" in c.args.get("text", ""))
            teach = [b for b in buttons(card.args["blocks"])
                     if b["action_id"].startswith(render.TICKET_TEACH)]
            assert teach and all(b["text"]["text"] == "This answers it" for b in teach)
            assert all(WEEKEND not in b["value"] for b in teach)  # ids only, never the text
            right = next(b for b in teach if json.loads(b["value"])["k"] == RIGHT_CLAUSE)
            assert "clause 3.2" in json.dumps(card.args["blocks"])

            # Someone who is not an MO pressing it is refused; the MO's click teaches.
            status, _ = await bot.interaction(click(
                bot, "slack_block_actions_ticket_answer", right["action_id"], right["value"],
                user="U0ASKER01"))
            assert status == 200
            [refused] = await bot.fake.wait_for("response_url")
            assert "Only the monitoring officer" in json.dumps(refused.args)
            assert conversation.desk.store.taught_questions() == []

            status, _ = await bot.interaction(click(
                bot, "slack_block_actions_ticket_answer", right["action_id"], right["value"]))
            assert status == 200
            [said] = await bot.fake.wait_for(
                "chat.postMessage", where=lambda c: "Taught" in c.args.get("text", ""))
            assert "clause 3.2" in said.args["text"]
            undo = next(b for b in buttons(said.args["blocks"])
                        if b["action_id"] == render.TICKET_UNTEACH)
            [taught] = conversation.desk.store.taught_questions()
            assert taught.question == WEEKEND and taught.passage_key == RIGHT_CLAUSE
            assert taught.taught_by == f"slack:{MO_USER}" and undo["value"] == str(taught.id)

            # The same question asked again is answered, from clause 3.2.
            await bot.event(mention(WEEKEND, "Ev0WEEKEND2", "1767269000.000100"))
            [answer] = await bot.fake.wait_for(
                "chat.postMessage", where=lambda c: c.args.get("thread_ts") == "1767269000.000100")
            assert "clause 3.2" in answer.args["blocks"][0]["text"]["text"]

            # Undo puts it back as it was.
            status, _ = await bot.interaction(click(
                bot, "slack_block_actions_ticket_answer", render.TICKET_UNTEACH, undo["value"]))
            assert status == 200
            await bot.fake.wait_for("response_url", 2)
            assert conversation.desk.store.taught_questions() == []
            assert not conversation.knowledge.ask(WEEKEND).answered
    run(scenario)
