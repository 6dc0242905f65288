"""Helpers for the Teams tests (no tests here): recorded payloads, the conversation service on an in-memory store,
botbuilder's TestAdapter around the bot, and a fake Bot Connector service on loopback."""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import json
import socket
import time
from pathlib import Path

from aiohttp import web

from protocol_bot.conversation import Conversation
from protocol_bot.live import LiveKnowledge
from protocol_bot.models import Answer, Citation, Escalation
from tests.conversation_support import make_conversation as build

DATA = Path(__file__).resolve().parent / "data"
PLAYGROUND_USER = "user-id-0"  # who the Agents Playground's recordings come from
MO = "teams:29:mo-morgan"
DEPUTY = "teams:29:deputy-dana"
BOT_ID = "00000000-0000-0000-0000-00000000000011"
_ids = itertools.count(1)


def payload(name: str) -> dict:
    """A recorded Teams activity from tests/data (e.g. 'message_personal' ->
    teams_message_personal.json). Recorded from the Microsoft 365 Agents Playground 0.2.28 in
    its Teams channel (msteams), which sends the activities Teams sends."""
    return copy.deepcopy(_load(name))


@functools.lru_cache(maxsize=None)
def _load(name: str) -> dict:
    return json.loads((DATA / f"teams_{name}.json").read_text(encoding="utf-8"))


def make_conversation(mos=(MO, DEPUTY, "cli:mo"), knowledge: LiveKnowledge | None = None,
                      store=None, knowledge_dir: Path | None = None) -> Conversation:
    """The conversation service with the shipped knowledge (read-only: never save FAQs into
    it) on an in-memory store, unless told otherwise."""
    return build(mos, knowledge=knowledge, store=store, knowledge_dir=knowledge_dir)


def as_user(activity: dict, user_id: str, name: str = "") -> dict:
    activity = copy.deepcopy(activity)
    activity["from"] = {"id": user_id, "name": name or user_id}
    return activity


def message(text: str, *, base: str = "message_personal", activity_id: str | None = None,
            user: str | None = None) -> dict:
    activity = payload(base)
    if base != "message_personal" and "<at>" not in text:
        text = f"<at>Test Bot</at> {text}"
    activity["text"] = text
    activity["id"] = activity_id or f"msg-{next(_ids)}"  # each message its own, like Teams
    if user:
        activity = as_user(activity, user)
    return activity


def submit(data: dict, *, reply_to_id: str = "card-1", activity_id: str = "submit-1",
           base: str = "card_submit", user: str | None = None, conversation: dict | None = None,
           **inputs) -> dict:
    """The activity Teams sends for an Action.Submit: a message with `value` = data + inputs."""
    activity = payload(base)
    activity["value"] = {**data, **inputs}
    activity["replyToId"] = reply_to_id
    activity["id"] = activity_id
    if conversation is not None:
        activity["conversation"] = conversation
    if user:
        activity = as_user(activity, user)
    return activity


def cards_in(activity: dict) -> list[dict]:
    return [a["content"] for a in activity.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]


def walk(node):
    """Every dict inside a card (body elements, containers, actions, show-cards)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def texts(card: dict) -> str:
    """What a person reads on the card: text blocks and fact sets."""
    out = []
    for n in walk(card):
        if n.get("type") == "TextBlock":
            out.append(n["text"])
        elif n.get("type") == "FactSet":
            out.extend(f"{f['title']}: {f['value']}" for f in n["facts"])
    return "\n".join(out)


def actions(card: dict) -> list[dict]:
    return [n for n in walk(card) if str(n.get("type", "")).startswith("Action.")]


def action(card: dict, title: str) -> dict:
    """The action with this title; a Submit (with data) before a ShowCard of the same name."""
    named = [a for a in actions(card) if a.get("title") == title]
    for found in sorted(named, key=lambda a: "data" not in a):
        return found
    raise AssertionError(f"no action {title!r} in {[a.get('title') for a in actions(card)]}")


def citation(ref="2.3", text="Councillors must not ask officers to undertake work of a "
             "party-political nature.", **kw) -> Citation:
    values = dict(document_id="mor-protocol-2026", document="Member/Officer Relations Protocol",
                  edition="2026", ref=ref, heading="Roles of Councillors and Officers",
                  text=text, score=3.2)
    values.update(kw)
    return Citation(**values)


def answer(answered=True, citations=None, **kw) -> Answer:
    citations = (citation(),) if citations is None else tuple(citations)
    values = dict(question="Can I ask an officer to help with party political work?",
                  answered=answered,
                  lead=("Member/Officer Relations Protocol (2026), clause 2.3: \u201cmust not ask "
                        "them to undertake work of a party-political nature\u201d")
                  if answered else "I couldn't find this in the protocol or the guidance I "
                                   "hold. You can ask the monitoring officer.",
                  citations=citations,
                  escalation=Escalation(offered=True, reason="always offered",
                                        prominent=not answered))
    values.update(kw)
    return Answer(**values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeConnector:
    """The Bot Connector service on loopback: records every activity the bot sends (replies,
    updates and proactive messages) the way Teams' /v3/conversations API receives them."""

    def __init__(self, fail: int = 0):
        self.received: list[dict] = []
        self.updated: list[dict] = []
        self.fail = fail  # answer this many sends with 503 first (an outage)
        self.statuses: list[int] = []  # then these, in order (429 comes with Retry-After: 1)
        self.latency = 0.0  # seconds before each answer (Teams is not instant)
        self.hang: set[str] = set()  # conversations whose sends hang until stop()
        self.refused: list[dict] = []  # what was answered 413 (over 28 KB) or 429
        self._release = asyncio.Event()
        self._event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._ids = 0

    async def start(self) -> "FakeConnector":
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}",
                           self._put)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner:
            await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        if request.match_info["conversation"].split(";")[0] in self.hang:
            await self._release.wait()
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail > 0:
            self.fail -= 1
            return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)
        raw = await request.read()
        if self.statuses:
            status = self.statuses.pop(0)
            self.refused.append({"status": status})
            return web.json_response({"error": {"code": "Throttled" if status == 429 else
                                                "InternalServerError"}}, status=status,
                                     headers={"Retry-After": "1"} if status == 429 else None)
        if len(raw) > 28 * 1024:  # Teams refuses an activity over 28 KB
            self.refused.append({"status": 413, "size": len(raw)})
            return web.json_response({"error": {"code": "MessageSizeTooBig"}}, status=413)
        body = json.loads(raw)
        body["_path"] = request.path
        body["_auth"] = request.headers.get("Authorization")
        body["_at"] = time.monotonic()
        self.received.append(body)
        self._event.set()
        self._ids += 1
        return web.json_response({"id": f"sent-{self._ids}"}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_path"] = request.path
        self.updated.append(body)
        return web.json_response({"id": request.match_info["activity"]})

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = [r.get("summary") or r.get("text") for r in self.received]
                raise AssertionError(f"expected {count} activities, got {len(got)}: {got}")
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return self.received
