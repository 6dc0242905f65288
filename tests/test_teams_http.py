"""POST /api/messages over HTTP: authentication (401, never 500), local mode, replies and
proactive delivery through a fake Bot Connector service on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.outbox_loop import deliver_due
from adapters.teams import app as teams_app
from adapters.teams.bf import TeamsSettings
from protocol_bot.sqlite_store import SqliteStore
from tests.test_teams_support import (DEPUTY, MO, FakeConnector, action, as_user, cards_in,
                                      make_conversation, message, payload, submit, texts)

APP_ID = "11111111-2222-3333-4444-555555555555"
AZURE = TeamsSettings(app_id=APP_ID, app_password="not-a-real-secret",
                      tenant_id="99999999-8888-7777-6666-555555555555")
LOCAL = TeamsSettings()
PARTY = "Can I ask an officer to help with party political work?"


def run(coro):
    return asyncio.run(coro)


async def until(condition, timeout: float = 10.0) -> None:
    """Wait (bounded) for something the bot does after answering the request."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


class Served:
    """The aiohttp app with Teams mounted, a client for it, and the fake connector."""

    def __init__(self, settings: TeamsSettings, conversation=None, fail: int = 0,
                 interval: float = 3600.0):
        self.settings = settings
        self.interval = interval
        self.conversation = conversation or make_conversation()
        self.connector = FakeConnector(fail=fail)

    async def __aenter__(self) -> "Served":
        await self.connector.start()
        app = web.Application()
        # The app's own delivery loop would race the test's explicit deliver_due calls.
        self._interval, teams_app.OUTBOX_INTERVAL = teams_app.OUTBOX_INTERVAL, self.interval
        assert teams_app.mount(app, self.conversation, settings=self.settings)
        self.endpoint = app[teams_app.TEAMS]
        self.client = TestClient(TestServer(app))
        await self.client.start_server()
        return self

    async def __aexit__(self, *exc) -> None:
        teams_app.OUTBOX_INTERVAL = self._interval
        await self.client.close()
        await self.connector.stop()

    def activity(self, activity: dict) -> dict:
        activity = dict(activity)
        activity["serviceUrl"] = self.connector.url
        return activity

    async def post(self, activity: dict, headers: dict | None = None):
        return await self.client.post("/api/messages", json=self.activity(activity),
                                      headers=headers or {})


def forged_token() -> str:
    now = int(time.time())
    return jwt.encode({"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now + 600,
                       "nbf": now - 10}, "forged-signing-key" * 4, algorithm="HS256",
                      headers={"kid": "forged"})


@pytest.mark.parametrize("header", [
    None,  # no Authorization at all
    "Bearer",  # malformed: no token
    "Bearer not-a-jwt",  # malformed token (botbuilder raises DecodeError: 500 unhandled)
    "Bearer a.b.c",
    "Basic dXNlcjpwYXNz",  # wrong scheme
    "garbage",
    "FORGED",  # a well-formed JWT not signed by the Bot Framework
])
def test_credentials_set_bad_or_missing_token_is_401(header, caplog):
    async def scenario():
        async with Served(AZURE) as s:
            headers = {}
            if header == "FORGED":
                headers["Authorization"] = f"Bearer {forged_token()}"
            elif header is not None:
                headers["Authorization"] = header
            response = await s.post(message(PARTY), headers)
            assert response.status == 401
            assert (await response.json()) == {"error": "unauthorized"}
            await asyncio.sleep(0.05)
            assert s.connector.received == []  # nothing answered
            assert s.conversation.desk.store.logged_questions() == []

    with caplog.at_level(logging.WARNING):
        run(scenario())
    assert "refused (401)" in caplog.text


def test_local_mode_answers_in_the_thread_through_the_connector():
    async def scenario():
        async with Served(LOCAL) as s:
            incoming = message(PARTY, base="message_channel_mention")
            response = await s.post(incoming)
            assert response.status == 201
            [reply] = await s.connector.wait_for(1)
            conversation = incoming["conversation"]["id"]
            # replyToActivity: POST /v3/conversations/{thread}/activities/{the question}
            assert reply["_path"] == f"/v3/conversations/{conversation}/activities/{incoming['id']}"
            assert reply["replyToId"] == incoming["id"]
            assert reply["_auth"] is None  # local mode: no token to the playground
            assert "clause 2.3" in reply["summary"]
            assert "clause 2.3" in texts(cards_in(reply)[0])

    run(scenario())


def test_local_mode_refuses_non_loopback_service_urls():
    async def scenario():
        async with Served(LOCAL) as s:
            activity = s.activity(message(PARTY))
            activity["serviceUrl"] = "https://smba.trafficmanager.net/uk/"
            response = await s.client.post("/api/messages", json=activity)
            assert response.status == 401
            assert s.conversation.desk.store.logged_questions() == []

    run(scenario())


def test_not_json_or_not_an_activity_is_a_client_error():
    async def scenario():
        async with Served(LOCAL) as s:
            r = await s.client.post("/api/messages", data="hello",
                                    headers={"Content-Type": "text/plain"})
            assert r.status == 415
            r = await s.client.post("/api/messages", data="{not json",
                                    headers={"Content-Type": "application/json"})
            assert r.status == 400
            r = await s.client.post("/api/messages", json={"text": "no type"})
            assert r.status == 400
            r = await s.client.post("/api/messages", json=[1, 2])
            assert r.status == 400

    run(scenario())


def test_invoke_gets_a_status_not_a_crash():
    async def scenario():
        async with Served(LOCAL) as s:
            activity = message(PARTY)
            activity.update(type="invoke", name="adaptiveCard/action", value={"action": {}})
            r = await s.post(activity)
            assert r.status in (200, 501)  # not implemented is fine; 500 is not

    run(scenario())


def test_escalation_over_http_reaches_the_mo_then_the_answer_reaches_the_asker(tmp_path):
    """The whole round trip with the SQLite store: ticket, the MO's proactive card in their
    personal chat, the MO's answer delivered back into the asker's channel thread."""
    store = SqliteStore(tmp_path / "bot.db")
    conversation = make_conversation(store=store)

    async def scenario():
        async with Served(LOCAL, conversation=conversation) as s:
            # the MO installed the bot once: their personal chat reference is stored
            mo_install = as_user(payload("installation_update"), "29:mo-morgan")
            assert (await s.post(mo_install)).status == 201
            await until(lambda: conversation.desk.reachable_mos()[MO])  # answered from the record

            question = message(PARTY, base="message_channel_mention")
            await s.post(question)
            [answer] = await s.connector.wait_for(1)
            data = action(cards_in(answer)[0], "Ask the monitoring officer")["data"]
            thread = question["conversation"]
            await s.post(submit(data, conversation=thread, activity_id="c1", reply_to_id="a1"))
            form = (await s.connector.wait_for(2))[1]
            confirm = action(cards_in(form)[0], "Send question")["data"]
            await s.post(submit(confirm, conversation=thread, activity_id="c2",
                                reply_to_id="f1", context="Chair's request"))
            await until(lambda: store.list_tickets())
            [ticket] = store.list_tickets()
            await until(lambda: any(ticket.id in (r.get("text") or "")
                                    for r in s.connector.received))
            await until(lambda: s.connector.updated)  # the form, updated in place
            assert [u["_path"].rsplit("/", 1)[-1] for u in s.connector.updated] == ["f1"]

            # the app's outbox worker delivers the MO's card to their personal chat
            mo_chat = mo_install["conversation"]["id"]
            mo_path = f"/v3/conversations/{mo_chat}/activities"
            await until(lambda: any(r["_path"] == mo_path and cards_in(r)
                                    for r in s.connector.received))
            [mo_card] = [r for r in s.connector.received if r["_path"] == mo_path and cards_in(r)]
            assert PARTY in texts(cards_in(mo_card)[0])

            conversation.desk.answer(ticket.id, MO, "No: see clause 2.3.")
            await deliver_due(conversation.deliveries, "teams", s.endpoint.send)
            await until(lambda: any("No: see clause 2.3." in json.dumps(r)
                                    for r in s.connector.received))
            [delivered] = [r for r in s.connector.received if "No: see clause 2.3." in json.dumps(r)]
            assert delivered["conversation"]["id"] == thread["id"]  # the channel thread
            assert delivered["_path"].startswith(f"/v3/conversations/{thread['id']}/activities")
            assert "No: see clause 2.3." in texts(cards_in(delivered)[0])
            # only the deputy's notice waits: they have never opened a chat with the bot
            assert [m.recipient for m in store.undelivered("teams")] == [DEPUTY]

    run(scenario())


def test_outbox_delivery_retries_after_a_connector_outage():
    conversation = make_conversation()

    async def scenario():
        async with Served(LOCAL, conversation=conversation, fail=1) as s:
            reference = {"conversation": {"id": "a:asker-chat", "conversationType": "personal"},
                         "serviceUrl": s.connector.url, "channelId": "msteams",
                         "user": {"id": "29:asker"}, "bot": {"id": "bot"}}
            from protocol_bot.models import Asker

            ticket, _ = conversation.desk.escalate(Asker("teams", "29:asker", "Asker"), PARTY,
                                           idempotency_key="k1", reply_to=reference)
            conversation.desk.answer(ticket.id, MO, "Yes.")
            store = conversation.desk.store
            assert await deliver_due(conversation.deliveries, "teams", s.endpoint.send) == 0  # 503 from Teams
            [pending] = [m for m in store.undelivered("teams") if m.kind == "ticket_answered"]
            assert pending.attempts == 1 and "HTTP 503" in pending.last_error
            later = time.time() + 3600
            await deliver_due(conversation.deliveries, "teams", s.endpoint.send, now=later)
            assert [m.kind for m in store.undelivered("teams")
                    if m.kind == "ticket_answered"] == []
            answered = [r for r in s.connector.received if "Yes." in json.dumps(r)]
            assert len(answered) == 1

    run(scenario())


def test_undeliverable_without_a_reference_stays_queued():
    conversation = make_conversation()

    async def scenario():
        async with Served(LOCAL, conversation=conversation) as s:
            from protocol_bot.models import Asker

            conversation.desk.escalate(Asker("teams", "29:asker"), PARTY, idempotency_key="k2")
            await deliver_due(conversation.deliveries, "teams", s.endpoint.send)
            waiting = [m for m in conversation.desk.store.undelivered("teams") if m.recipient == MO]
            assert waiting and "open a chat with the bot" in waiting[0].last_error

    run(scenario())


def test_served_by_the_shared_server_with_outbox_loop(monkeypatch, tmp_path, caplog):
    """build_app mounts Teams in local mode, logs it, and the outbox loop runs with the app."""
    from adapters.server import build_app

    monkeypatch.setattr(teams_app, "OUTBOX_INTERVAL", 0.05)
    for name in ("MICROSOFT_APP_ID", "MicrosoftAppId", "MICROSOFT_APP_PASSWORD",
                 "MicrosoftAppPassword", "MICROSOFT_APP_TENANT_ID", "MicrosoftAppTenantId",
                 "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PROTOCOL_BOT_TEAMS"):
        monkeypatch.delenv(name, raising=False)
    conversation = make_conversation(store=SqliteStore(tmp_path / "bot.db"))

    async def scenario():
        connector = await FakeConnector().start()
        client = TestClient(TestServer(build_app(conversation)))
        await client.start_server()
        try:
            health = await (await client.get("/healthz")).json()
            assert "teams" in health["platforms"]
            mo = as_user(payload("installation_update"), "29:mo-morgan")
            mo["serviceUrl"] = connector.url
            assert (await client.post("/api/messages", json=mo)).status == 201
            from protocol_bot.models import Asker

            conversation.desk.escalate(Asker("teams", "29:asker", "Asker"), PARTY,
                               idempotency_key="k3")
            [card] = await connector.wait_for(1, timeout=5)  # delivered by the app's own loop
            assert "MO-0001: a question for the monitoring officer" in texts(cards_in(card)[0])
        finally:
            await client.close()
            await connector.stop()

    with caplog.at_level(logging.INFO):
        run(scenario())
    assert "local mode" in caplog.text
    assert "cannot be reached in Teams yet" in caplog.text  # said at start-up


def test_teams_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("PROTOCOL_BOT_TEAMS", "off")
    app = web.Application()
    assert teams_app.mount(app, make_conversation()) is False
    assert not [r for r in app.router.routes() if r.resource.canonical == "/api/messages"]


def test_settings_from_either_spelling_and_their_problems():
    s = TeamsSettings.from_env({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "p",
                                "MicrosoftAppTenantId": "t"})
    assert (s.app_id, s.app_password, s.tenant_id) == (APP_ID, "p", "t")
    assert s.effective_type == "SingleTenant" and s.problems() == []
    assert not s.local_mode
    s = TeamsSettings.from_env({"MICROSOFT_APP_ID": APP_ID})
    assert any("MICROSOFT_APP_PASSWORD" in p for p in s.problems())
    assert TeamsSettings.from_env({}).local_mode
    assert TeamsSettings.from_env({"MICROSOFT_APP_PASSWORD": "p"}).problems()
