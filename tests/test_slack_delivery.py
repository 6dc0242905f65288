"""Slack says no (rate limits, refused channels, size, forgeries): every reply still arrives, once."""

from __future__ import annotations

import copy
import json

from protocol_bot.models import Asker
from tests.slack_fake import (MO_USER, event_body, find_button, make_conversation, payload,
                              run, running_bot, sign)

from adapters.slack import render
from adapters.slack.events import unpack_value

ASKER = "U0ASKER01"
MOS = (f"slack:{MO_USER}",)


def mention(n: int, channel: str = "C0MEMBERS1") -> dict:
    data = copy.deepcopy(payload("slack_app_mention"))
    data["event_id"] = f"Ev0LOAD{n:04d}"
    data["event"].update(channel=channel, ts=f"1767268900.{n:06d}", event_ts=f"1767268900.{n:06d}")
    return data


def texts_of(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b.get("type") == "section")


def test_questions_in_one_rate_limited_channel_are_all_answered_once_in_order():
    async def scenario():
        async with running_bot() as bot:
            bot.fake.rate_limit(per_second=1.0, burst=3)  # as Slack allows, roughly
            for n in range(6):
                assert (await bot.event(mention(n)))[0] == 200
            posts = await bot.fake.wait_for(
                "chat.postMessage", 6, timeout=30,
                where=lambda c: (c.result or {}).get("ok"))
            threads = [p.args["thread_ts"] for p in posts]
            assert sorted(threads) == [f"1767268900.{n:06d}" for n in range(6)]  # none doubled
            assert len(set(threads)) == 6
            await bot.all_delivered()
    run(scenario)


def test_a_server_error_or_rate_limit_is_retried_not_lost():
    async def scenario():
        async with running_bot() as bot:
            bot.fake.fail_http("chat.postMessage", 500)
            bot.fake.fail_next("chat.postMessage", "ratelimited")
            await bot.event(mention(1))
            [ok] = await bot.fake.wait_for("chat.postMessage", 1, timeout=30,
                                           where=lambda c: (c.result or {}).get("ok"))
            assert ok.args["thread_ts"] == "1767268900.000001"
            assert len(bot.fake.of("chat.postMessage")) == 3  # 500, ratelimited, then posted
    run(scenario)


def test_a_channel_that_refuses_the_bot_gets_the_answer_by_dm_and_the_mo_is_told():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            bot.fake.not_in.add("C0ARCHIVED")
            await bot.event(mention(1, channel="C0ARCHIVED"))
            dm = await bot.fake.wait_for("chat.postMessage", 1, timeout=20,
                                         where=lambda c: c.args["channel"] == "D" + ASKER[1:])
            assert "party-political" in json.dumps(dm[0].args["blocks"])
            told = await bot.fake.wait_for(
                "chat.postMessage", 1, timeout=20,
                where=lambda c: c.args["channel"] == "D" + MO_USER[1:])
            assert "sent to them privately" in told[0].args["text"]
            await bot.all_delivered()
    run(scenario)


def test_a_ten_thousand_character_answer_reaches_the_asker_whole():
    answer = " ".join(f"Paragraph {n}: officers & councillors <respect> each other." for n in
                      range(180))
    assert len(answer) > 10_000
    conversation = make_conversation(mos=MOS)

    async def scenario():
        async with running_bot(conversation) as bot:
            ticket, _ = conversation.desk.escalate(
                Asker("slack", ASKER, "Sam"), "A long one?", idempotency_key="k1",
                reply_to={"channel": "C0MEMBERS1", "thread_ts": "1.1"})
            conversation.desk.answer(ticket.id, f"slack:{MO_USER}", answer)
            [post] = await bot.fake.wait_for("chat.postMessage", 1, timeout=20,
                                             where=lambda c: c.args["channel"] == "C0MEMBERS1")
            shown = texts_of(post.args["blocks"][3:])  # after who answered, the question
            unescaped = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            assert unescaped.replace("\n", " ").split() == answer.split()
    run(scenario)


def test_a_malformed_timestamp_is_refused_with_401_not_a_traceback():
    async def scenario():
        async with running_bot() as bot:
            body, content_type = event_body(mention(1))
            headers = {**sign(body), "X-Slack-Request-Timestamp": "yesterday"}
            status, _ = await bot.post(body, content_type, headers=headers, signed=False)
            assert status == 401
            assert bot.handled.count == 0
    run(scenario)


def test_a_replayed_slash_command_is_answered_once():
    async def scenario():
        async with running_bot() as bot:
            fields = dict(payload("slack_command_protocol"), response_url=bot.fake.response_url())
            assert (await bot.command(fields))[0] == 200
            assert (await bot.command(fields))[0] == 200  # the same trigger_id, replayed
            await bot.fake.wait_for("response_url")
            assert bot.handled.count == 1
            assert bot.conversation.inbox.pending_incoming() == 0
            assert len(bot.fake.of("response_url")) == 1
    run(scenario)


def test_a_forged_modal_cannot_redirect_a_ticket():
    async def scenario():
        async with running_bot(make_conversation(mos=MOS)) as bot:
            await bot.event(mention(1))
            [post] = await bot.fake.wait_for("chat.postMessage")
            button = find_button(post.args["blocks"], render.ESCALATE)
            assert "q" not in unpack_value(button["value"])  # the question travels as its id
            forged = copy.deepcopy(payload("slack_view_submission_escalate"))
            forged["view"]["private_metadata"] = json.dumps(
                {"l": 1, "k": "forged", "to": {"channel": "C0ELSEWHERE"}})
            status, text = await bot.interaction(forged)
            assert json.loads(text)["response_action"] == "errors"
            assert bot.conversation.desk.store.list_tickets() == []
    run(scenario)
