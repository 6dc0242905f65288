"""Teams says no (429, 500, size, a hung connector): every reply still arrives, once, in time."""

from __future__ import annotations

import asyncio
import json
import time

from tests.test_teams_http import LOCAL, Served, run, until
from tests.test_teams_support import cards_in, message

PARTY = "Can I ask an officer to help with party political work?"


def replies_to(connector, activity_id: str) -> list[dict]:
    return [r for r in connector.received if r.get("replyToId") == activity_id]


def test_a_reply_survives_a_rate_limit_and_a_server_error():
    async def scenario():
        async with Served(LOCAL, interval=0.2) as s:
            s.connector.statuses = [429, 500]
            question = message(PARTY, activity_id="q-429")
            assert (await s.post(question)).status == 201
            await until(lambda: replies_to(s.connector, "q-429"), timeout=20)
            assert [r["status"] for r in s.connector.refused] == [429, 500]
            [reply] = replies_to(s.connector, "q-429")
            assert "clause 2.3" in json.dumps(reply)
            await until(lambda: not s.conversation.deliveries.undelivered("teams"))
            assert len(replies_to(s.connector, "q-429")) == 1  # delivered once
    run(scenario())


def test_a_question_that_would_make_an_80_kb_card_is_answered_under_28_kb():
    async def scenario():
        async with Served(LOCAL, interval=0.2) as s:
            for n, text in enumerate(("\U0001F600" * 2000 + " party political work",
                                      "A allaf ofyn i swyddog fy helpu gyda gwaith gwleidyddol "
                                      "pleidiol? \u0175\u0177 " * 80)):
                # An example-question click echoes what was asked: the biggest card there is.
                activity = message("", activity_id=f"q-big-{n}")
                activity["value"] = {"protocolBot": "ask", "question": text}
                assert (await s.post(activity)).status == 201
                await until(lambda: replies_to(s.connector, f"q-big-{n}"), timeout=20)
            assert s.connector.refused == []  # nothing was over Teams' 28 KB
            for n in range(2):
                [reply] = replies_to(s.connector, f"q-big-{n}")
                assert cards_in(reply)
    run(scenario())


def test_an_unrelated_question_is_answered_within_a_second_while_one_chat_hangs():
    async def scenario():
        async with Served(LOCAL, interval=0.2) as s:
            stuck = message(PARTY, activity_id="q-stuck")
            s.connector.hang.add(stuck["conversation"]["id"])
            assert (await s.post(stuck)).status == 201
            await asyncio.sleep(0.3)  # its send is now hanging in the connector
            other = message(PARTY, activity_id="q-other")
            other["conversation"] = {**other["conversation"], "id": "a:another-chat"}
            started = time.monotonic()
            assert (await s.post(other)).status == 201
            await until(lambda: replies_to(s.connector, "q-other"), timeout=5)
            assert time.monotonic() - started < 1.0
            assert replies_to(s.connector, "q-stuck") == []
    run(scenario())


def test_local_mode_refuses_to_listen_beyond_loopback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PROTOCOL_BOT_", "MICROSOFT_APP", "Microsoft", "SLACK_"))}
    env["PROTOCOL_BOT_DB"] = str(tmp_path / "bot.db")
    done = subprocess.run([str(Path(sys.executable).parent / "protocol-bot"), "serve", "--host",
                           "0.0.0.0"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "local mode" in done.stderr and "--insecure-local" in done.stderr
    assert "Traceback" not in done.stderr


def test_loopback_means_this_machine_only():
    from protocol_bot.loopback import is_loopback_host, is_loopback_url

    assert all(map(is_loopback_host, ("localhost", "127.0.0.1", "127.8.9.10", "::1")))
    assert not any(map(is_loopback_host, ("0.0.0.0", "10.0.0.1", "example.org", "")))
    assert is_loopback_url("http://127.0.0.1:3978/") and is_loopback_url("http://[::1]:56150")
    assert not any(map(is_loopback_url, ("https://smba.trafficmanager.net/uk/", None, "http://[x")))
