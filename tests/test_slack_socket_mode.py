"""Socket Mode against a local websocket speaking Slack's envelope protocol, and serving set-up."""

from __future__ import annotations

import asyncio
import copy
import json

import yaml

from adapters.slack.app import SlackSettings
from adapters.slack.cli import manifest_text
from adapters.slack.socket_mode import run_socket_mode
from tests.slack_fake import (APP_TOKEN, BOT_TOKEN, FakeSlack, HandledCounter, make_conversation,
                              payload, run)



def test_socket_mode_acks_the_envelope_and_answers_in_the_thread():
    async def scenario():
        async with FakeSlack() as fake:
            conversation = make_conversation()
            handled = HandledCounter(conversation)
            settings = SlackSettings(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=fake.api_url)
            stop = asyncio.Event()
            task = asyncio.create_task(run_socket_mode(conversation, settings, stop))
            [opened] = await fake.wait_for("apps.connections.open")
            assert opened.token == APP_TOKEN
            await fake.wait_for("socket.connected")

            envelope = payload("slack_socket_mode_events_api")
            await fake.socket_send(envelope)
            [ack] = await fake.wait_for("socket.ack")
            assert ack.args == {"envelope_id": envelope["envelope_id"]}
            [post] = await fake.wait_for("chat.postMessage")
            assert post.args["channel"] == "C0MEMBERS1"
            assert post.args["thread_ts"] == "1767269000.000400"
            assert "party-political" in json.dumps(post.args["blocks"])

            # A redelivered envelope for the same event is acknowledged but not answered again.
            again = copy.deepcopy(envelope)
            again.update(envelope_id="2e4d3c6b-retry", retry_attempt=1, retry_reason="timeout")
            await fake.socket_send(again)
            acks = await fake.wait_for("socket.ack", 2)
            assert acks[1].args == {"envelope_id": "2e4d3c6b-retry"}
            # Acknowledged, and never recorded: nothing is left to answer it.
            assert handled.count == 1 and conversation.inbox.pending_incoming() == 0
            assert len(fake.of("chat.postMessage")) == 1

            stop.set()
            await asyncio.wait_for(task, 10)
    run(scenario)


def test_mount_serves_only_when_configured(monkeypatch):
    from aiohttp import web

    from adapters.slack.app import mount

    conversation = make_conversation()
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    app = web.Application()
    assert mount(app, conversation) is False
    assert not [r for r in app.router.routes() if r.resource.canonical == "/slack/events"]
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    assert mount(app, conversation) is True
    assert [r.method for r in app.router.routes() if r.resource.canonical == "/slack/events"] \
        == ["POST"]
    assert SlackSettings.from_env().api_url == "http://127.0.0.1:9/api/"


def test_the_manifest_asks_for_what_the_bot_uses():
    shipped = yaml.safe_load(manifest_text())
    assert shipped["settings"]["socket_mode_enabled"] is True
    assert set(shipped["settings"]["event_subscriptions"]["bot_events"]) == \
        {"app_mention", "message.im", "app_home_opened"}
    assert shipped["features"]["slash_commands"][0]["command"] == "/protocol"
    assert shipped["features"]["app_home"]["home_tab_enabled"] is True
    assert set(shipped["oauth_config"]["scopes"]["bot"]) == \
        {"app_mentions:read", "chat:write", "commands", "im:history", "im:write", "users:read"}
    http = yaml.safe_load(manifest_text("https://bot.example.gov.uk/"))
    url = "https://bot.example.gov.uk/slack/events"
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["event_subscriptions"]["request_url"] == url
    assert http["settings"]["interactivity"]["request_url"] == url
    assert http["features"]["slash_commands"][0]["url"] == url


def test_cli_refuses_socket_mode_without_tokens(monkeypatch, capsys):
    from protocol_bot.cli import main

    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert main(["slack", "--socket-mode"]) == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err


def test_served_by_the_shared_server_from_the_environment(monkeypatch):
    import aiohttp
    from aiohttp import web

    from adapters.server import build_app
    from tests.slack_fake import SIGNING_SECRET, event_body, sign

    async def scenario():
        async with FakeSlack() as fake:
            monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
            monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
            monkeypatch.setenv("SLACK_API_URL", fake.api_url)
            app = build_app(make_conversation())
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            try:
                async with aiohttp.ClientSession() as session:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        assert "slack" in (await resp.json())["platforms"]
                    body, content_type = event_body(payload("slack_app_mention"))
                    async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body,
                                            headers={"Content-Type": content_type,
                                                     **sign(body)}) as resp:
                        assert resp.status == 200
                [post] = await fake.wait_for("chat.postMessage")
                assert post.args["thread_ts"] == "1767268800.000100"
            finally:
                await runner.cleanup()
    run(scenario)
