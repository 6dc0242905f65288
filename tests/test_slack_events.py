"""Asking over HTTP, as Slack does it: signed events and commands to /slack/events, answers on the fake."""

from __future__ import annotations

from protocol_bot import wording

import copy
import json
import time

from adapters.slack import render
from adapters.slack.events import unpack_value
from tests.slack_fake import (SIGNING_SECRET, event_body, find_button, make_conversation, payload, run,
                              running_bot, sign)

PARTY = "Can I ask an officer to help with party political work?"




def test_mention_is_answered_in_a_thread_with_the_cited_clause():
    async def scenario():
        async with running_bot() as bot:
            status, _ = await bot.event(payload("slack_app_mention"))
            assert status == 200
            [post] = await bot.fake.wait_for("chat.postMessage")
            expected = bot.conversation.knowledge.ask(PARTY)
            assert post.args["channel"] == "C0MEMBERS1"
            assert post.args["thread_ts"] == "1767268800.000100"  # the mention's ts
            blocks = json.dumps(post.args["blocks"])
            first = expected.citations[0]
            assert f"clause {first.ref}" in blocks
            assert "party-political" in blocks
            assert post.args["text"]  # plain text for notifications and screen readers
            assert post.args["unfurl_links"] is False
            assert find_button(post.args["blocks"], render.ESCALATE)["text"]["text"] == \
                "Ask the monitoring officer"
    run(scenario)


def test_direct_message_is_answered_in_the_dm():
    async def scenario():
        async with running_bot() as bot:
            status, _ = await bot.event(payload("slack_message_im"))
            assert status == 200
            [post] = await bot.fake.wait_for("chat.postMessage")
            assert post.args["channel"] == "D0ASKER002"
            assert "thread_ts" not in post.args
            assert post.args["blocks"][0]["block_id"] == "lead"
    run(scenario)


def test_bot_and_edited_messages_in_a_dm_are_not_answered():
    async def scenario():
        async with running_bot() as bot:
            for i, change in enumerate(({"subtype": "message_changed"}, {"bot_id": "B0OTHER"},
                                        {"channel_type": "channel"})):
                data = copy.deepcopy(payload("slack_message_im"))
                data["event"].update(change)
                data["event_id"] = f"Ev0IGNORED{i}"
                assert (await bot.event(data))[0] == 200
            # A real question after them: the ignored ones were dropped before it was handled.
            question = copy.deepcopy(payload("slack_message_im"))
            await bot.event(question)
            await bot.fake.wait_for("chat.postMessage")
            assert bot.handled.count == 1 and len(bot.fake.of("chat.postMessage")) == 1
    run(scenario)


def test_help_in_a_dm_or_an_empty_mention_gives_three_examples():
    async def scenario():
        async with running_bot() as bot:
            dm = copy.deepcopy(payload("slack_message_im"))
            dm["event"]["text"] = "help"
            mention = copy.deepcopy(payload("slack_app_mention"))
            mention["event"]["text"] = "<@U0BOT0001>"
            await bot.event(dm)
            await bot.event(mention)
            posts = await bot.fake.wait_for("chat.postMessage", 2)
            for post in posts:
                body = post.args["blocks"][0]["text"]["text"]
                assert sum(q in body for q in wording.EXAMPLE_QUESTIONS) == 3
    run(scenario)


def test_slash_command_answers_privately_with_a_share_button_and_sharing_posts_it():
    async def scenario():
        async with running_bot() as bot:
            fields = dict(payload("slack_command_protocol"), response_url=bot.fake.response_url("cmd"))
            status, text = await bot.command(fields)
            assert status == 200 and text == ""  # acknowledged at once, answered after
            [reply] = await bot.fake.wait_for("response_url")
            assert reply.args["response_type"] == "ephemeral"
            assert not bot.fake.of("chat.postMessage")
            assert "party-political" in json.dumps(reply.args["blocks"])
            share = find_button(reply.args["blocks"], render.SHARE)
            assert share["text"]["text"] == "Share to channel"

            click = copy.deepcopy(payload("slack_block_actions_escalate"))
            click["container"] = {"type": "message", "message_ts": "1767268801.000009",
                                  "channel_id": "C0MEMBERS1", "is_ephemeral": True}
            click.pop("message")
            click["response_url"] = bot.fake.response_url("share")
            click["actions"] = [{"action_id": render.SHARE, "block_id": "next", "type": "button",
                                 "value": share["value"], "action_ts": "1767268830.1"}]
            assert (await bot.interaction(click))[0] == 200
            [post] = await bot.fake.wait_for("chat.postMessage")
            assert post.args["channel"] == "C0MEMBERS1"
            assert "<@U0ASKER01> asked:" in post.args["blocks"][0]["elements"][0]["text"]
            assert "party-political" in json.dumps(post.args["blocks"])
            deleted = await bot.fake.wait_for("response_url", 2)
            assert bot.fake.messages_without_text() == []
            assert deleted[1].args["delete_original"] is True
            assert deleted[1].args["url_path"] == "share"
    run(scenario)


def test_slash_command_alone_gives_help():
    async def scenario():
        async with running_bot() as bot:
            fields = dict(payload("slack_command_protocol"), text="",
                          response_url=bot.fake.response_url("help"))
            await bot.command(fields)
            [reply] = await bot.fake.wait_for("response_url")
            body = reply.args["blocks"][0]["text"]["text"]
            assert sum(q in body for q in wording.EXAMPLE_QUESTIONS) == 3
    run(scenario)


def test_a_question_or_passage_cannot_ping_the_channel():
    async def scenario():
        async with running_bot() as bot:
            mention = copy.deepcopy(payload("slack_app_mention"))
            mention["event"]["text"] = ("<@U0BOT0001> <!channel> <!here> can I ask an officer "
                                        "&amp; <@U0MO00001> to help with party political work?")
            await bot.event(mention)
            [post] = await bot.fake.wait_for("chat.postMessage")
            everything = json.dumps(post.args)
            assert "<!" not in everything and "<@U0MO00001>" not in everything
            # The button carries the logged question's id; the log holds the plain words.
            escalate = unpack_value(find_button(post.args["blocks"], render.ESCALATE)["value"])
            assert "q" not in escalate
            assert bot.conversation.desk.store.logged_question(escalate["l"]) == (
                "@channel @here can I ask an officer & @U0MO00001 to help with party political "
                "work?")
    run(scenario)


def test_out_of_scope_question_says_so_and_leads_with_the_monitoring_officer():
    async def scenario():
        async with running_bot() as bot:
            mention = copy.deepcopy(payload("slack_app_mention"))
            mention["event"]["text"] = "<@U0BOT0001> What time does the recycling centre open?"
            await bot.event(mention)
            [post] = await bot.fake.wait_for("chat.postMessage")
            blocks = post.args["blocks"]
            assert "couldn't find" in blocks[0]["text"]["text"].lower() or \
                "could not find" in blocks[0]["text"]["text"].lower()
            assert blocks[1]["text"]["text"] == "The monitoring officer can answer it: press " \
                "\u201cAsk the monitoring officer\u201d."
            assert blocks[2]["elements"][0]["text"]["text"] == "Ask the monitoring officer"
            assert "Ask the monitoring officer" in post.args["text"]
    run(scenario)


def test_bad_missing_or_stale_signatures_get_401_and_do_nothing():
    async def scenario():
        async with running_bot() as bot:
            await bot.fake.wait_for("auth.test")  # once, at start-up
            body, content_type = event_body(payload("slack_app_mention"))
            stale = sign(body, timestamp=int(time.time()) - 6 * 60)
            forged = sign(body, secret="not-" + SIGNING_SECRET)
            tampered = sign(body)
            cases = [({}, body), (stale, body), (forged, body), (tampered, body.replace("party", "x")),
                     ({"X-Slack-Request-Timestamp": str(int(time.time()))}, body)]
            for headers, sent in cases:
                status, _ = await bot.post(sent, content_type, headers=headers, signed=False)
                assert status == 401, headers
            # Refused in the request itself: nothing runs after a 401.
            assert bot.handled.count == 0
            assert [c.method for c in bot.fake.calls] == ["auth.test"]
    run(scenario)


def test_a_retried_delivery_posts_no_second_answer():
    async def scenario():
        async with running_bot() as bot:
            mention = payload("slack_app_mention")
            assert (await bot.event(mention))[0] == 200
            await bot.fake.wait_for("chat.postMessage")
            retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            assert (await bot.event(mention, headers=retry))[0] == 200
            assert (await bot.event(mention, headers={"X-Slack-Retry-Num": "2"}))[0] == 200
            # Acknowledged, and never recorded: nothing is left to answer them.
            assert bot.handled.count == 1
            assert bot.conversation.inbox.pending_incoming() == 0
            assert len(bot.fake.of("chat.postMessage")) == 1
    run(scenario)


def test_url_verification_echoes_the_challenge():
    async def scenario():
        async with running_bot() as bot:
            data = payload("slack_url_verification")
            status, text = await bot.event(data)
            assert status == 200 and data["challenge"] in text
    run(scenario)


def test_acknowledged_within_three_seconds_even_when_slack_is_slow():
    async def scenario():
        async with running_bot() as bot:
            bot.fake.delay = 1.5  # every Web API call takes 1.5 s
            started = time.monotonic()
            status, _ = await bot.event(payload("slack_app_mention"))
            acked = time.monotonic() - started
            assert status == 200 and acked < 1.2  # did not wait for the 1.5 s Web API call
            await bot.fake.wait_for("chat.postMessage", timeout=10)
    run(scenario)


def test_answering_failure_is_reported_in_plain_words():
    class Broken:
        knowledge_dir = None

        def ask(self, question):
            raise RuntimeError("index missing")

    async def scenario():
        async with running_bot(make_conversation(Broken())) as bot:
            await bot.event(payload("slack_app_mention"))
            [post] = await bot.fake.wait_for("chat.postMessage")
            assert post.args["text"].startswith("Sorry, I couldn't do that just now")
            assert post.args["thread_ts"] == "1767268800.000100"
    run(scenario)
