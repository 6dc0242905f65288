"""A fake Slack on loopback: Web API methods that record calls and answer (and refuse) like Slack,
response_urls, and a Socket Mode websocket; plus signing and the recorded payloads in tests/data."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

DATA = Path(__file__).resolve().parent / "data"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER = "U0BOT0001"
TEAM = "T0COUNCIL"

# Who the fake workspace knows (users.info).
PEOPLE = {
    "U0ASKER01": {"name": "cllr.jones", "real_name": "Cllr Sam Jones", "display_name": "Sam Jones"},
    "U0ASKER02": {"name": "cllr.patel", "real_name": "Cllr Asha Patel", "display_name": ""},
    "U0MO00001": {"name": "mo", "real_name": "Morgan Owen", "display_name": "Morgan (MO)"},
    "U0DEPUTY1": {"name": "deputy", "real_name": "Dana Price", "display_name": "Dana"},
}

SECTION_TEXT_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
BUTTON_VALUE_LIMIT = 2000


# --- payloads and signing ----------------------------------------------------------------------

def payload(name: str) -> dict:
    """A recorded Slack payload from tests/data (e.g. 'slack_app_mention')."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict:
    """The headers Slack sends: v0 HMAC-SHA256 over 'v0:{timestamp}:{body}'."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_body(data: dict) -> tuple[str, str]:
    return json.dumps(data), "application/json"


def command_body(fields: dict) -> tuple[str, str]:
    return urllib.parse.urlencode(fields), "application/x-www-form-urlencoded"


def interaction_body(data: dict) -> tuple[str, str]:
    return urllib.parse.urlencode({"payload": json.dumps(data)}), "application/x-www-form-urlencoded"


# --- Block Kit checks, as Slack makes them -----------------------------------------------------

def run(scenario) -> None:
    """Run an async test scenario to completion."""
    asyncio.run(scenario())


def find_button(blocks, action_id: str) -> dict:
    """The button (or accessory) with this action_id in a message's blocks."""
    for block in blocks:
        for element in block.get("elements", []) + [block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} button in {json.dumps(blocks)[:500]}")


def block_problems(blocks, max_blocks: int) -> list[str]:
    problems = []
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    if len(blocks) > max_blocks:
        problems.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if not text and not block.get("fields"):
                problems.append(f"section needs text [json-pointer:{where}/text]")
            if len(text) > SECTION_TEXT_LIMIT:
                problems.append(f"must be less than 3001 characters [json-pointer:{where}/text/text]")
            elements = [block["accessory"]] if block.get("accessory") else []
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > 25:
                problems.append(f"actions needs 1-25 elements [json-pointer:{where}/elements]")
        elif kind == "context":
            elements = []
            for element in block.get("elements") or []:
                if len(element.get("text", "")) > SECTION_TEXT_LIMIT:
                    problems.append(f"context text too long [json-pointer:{where}]")
        elif kind == "header":
            elements = []
            if len((block.get("text") or {}).get("text", "")) > 150:
                problems.append(f"must be less than 151 characters [json-pointer:{where}/text/text]")
        elif kind in ("divider", "input"):
            elements = []
        else:
            problems.append(f"unknown block type {kind!r} [json-pointer:{where}]")
            elements = []
        for element in elements:
            if element.get("type") == "button":
                if len(element.get("value", "")) > BUTTON_VALUE_LIMIT:
                    problems.append(f"must be less than 2001 characters [json-pointer:{where}/value]")
                if len((element.get("text") or {}).get("text", "")) > 75:
                    problems.append(f"must be less than 76 characters [json-pointer:{where}/text]")
    return problems


def view_problems(view) -> list[str]:
    if isinstance(view, str):
        view = json.loads(view)
    problems = block_problems(view.get("blocks", []), VIEW_BLOCK_LIMIT)
    for key in ("title", "submit", "close"):
        if len((view.get(key) or {}).get("text", "")) > 24:
            problems.append(f"must be less than 25 characters [json-pointer:/view/{key}/text]")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    return problems


# --- the fake ---------------------------------------------------------------------------------

@dataclass
class Call:
    method: str  # "chat.postMessage", or "response_url" for a POST to a response_url
    args: dict
    token: str = ""
    at: float = field(default_factory=time.monotonic)
    result: dict | None = None  # what the fake answered


class FakeSlack:
    """Slack's Web API and Socket Mode on 127.0.0.1, recording every call."""

    def __init__(self):
        self.calls: list[Call] = []
        self.failures: dict[str, list[str]] = {}  # method -> errors to return, in order
        self.not_in: set[str] = set()  # channels the bot is not a member of
        self.delay: float = 0.0  # seconds to wait before answering each Web API call
        self.delays: dict[str, float] = {}  # method -> seconds (a slow or hung method)
        self.http_errors: dict[str, list[int]] = {}  # method -> HTTP statuses to answer, in order
        self.rate: tuple[float, int] | None = None  # chat.postMessage per channel: (per s, burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self.rate_limited = 0
        self.socket_acks: list[dict] = []
        self.sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Event()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle
    async def start(self) -> "FakeSlack":
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rest:.*}", self._response_url)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "T0COUNCIL/1/abc") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=fake-ticket&app_id=A0PROTOCOL"

    # --- what tests read
    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0,
                       where=lambda call: True) -> list[Call]:
        """Wait until at least `count` calls of `method` (matching `where`) have been made."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.of(method) if where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                made = ", ".join(c.method for c in self.calls) or "none"
                raise AssertionError(f"expected {count} {method} call(s), saw {len(found)}; "
                                     f"calls made: {made}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except asyncio.TimeoutError:
                pass

    def messages_without_text(self) -> list[Call]:
        """Messages posted with no plain `text` (every message should carry one)."""
        methods = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")
        return [c for c in self.calls if c.method in methods
                and not c.args.get("delete_original") and not (c.args.get("text") or "").strip()]

    def rate_limit(self, per_second: float = 1.0, burst: int = 3) -> None:
        """Say no like Slack: over `per_second` posts a channel (after a burst), HTTP 429 with
        Retry-After and error `ratelimited`."""
        self.rate = (per_second, burst)

    def _over_rate(self, channel: str) -> float:
        """0 if a post to `channel` may go now, else the seconds until it may."""
        if self.rate is None:
            return 0.0
        per_second, burst = self.rate
        now = time.monotonic()
        tokens, at = self._buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * per_second)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return 0.0
        self._buckets[channel] = (tokens, now)
        return (1.0 - tokens) / per_second

    def fail_http(self, method: str, status: int = 500, times: int = 1) -> None:
        self.http_errors.setdefault(method, []).extend([status] * times)

    def fail_next(self, method: str, error: str = "fatal_error", times: int = 1) -> None:
        self.failures.setdefault(method, []).extend([error] * times)

    # --- Web API
    async def _args(self, request: web.Request) -> dict:
        args: dict = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or args.get("token", "")
        call = Call(method, args, token)
        self._record(call)
        if self.delay or self.delays.get(method):
            await asyncio.sleep(self.delays.get(method) or self.delay)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.http_errors.get(method):
            status = self.http_errors[method].pop(0)
            return web.json_response({"ok": False, "error": "internal_error"}, status=status)
        if self.failures.get(method):
            return web.json_response({"ok": False, "error": self.failures[method].pop(0)})
        if method == "chat.postMessage":
            wait = self._over_rate(str(args.get("channel")))
            if wait:
                self.rate_limited += 1
                call.result = {"ok": False, "error": "ratelimited"}
                return web.json_response(call.result, status=429,
                                         headers={"Retry-After": str(max(1, round(wait)))})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        result = handler(args) if handler else {"ok": False, "error": "unknown_method"}
        call.result = result
        return web.json_response(result)

    def _new_ts(self) -> str:
        n = next(self._ts)
        return f"{1767225600 + n}.{n:06d}"

    def _message_problems(self, args: dict) -> dict | None:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if args["channel"] in self.not_in:
            return {"ok": False, "error": "not_in_channel"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        problems = block_problems(args.get("blocks") or [], MESSAGE_BLOCK_LIMIT)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return None

    def _auth_test(self, args):
        return {"ok": True, "url": "https://council.slack.com/", "team": "Council", "user": "protocol-bot",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0BOT0001",
                "is_enterprise_install": False}

    def _chat_postMessage(self, args):
        refused = self._message_problems(args)
        if refused:
            return refused
        ts = self._new_ts()
        message = {"type": "message", "user": BOT_USER, "bot_id": "B0BOT0001", "ts": ts,
                   "text": args.get("text", ""), "blocks": args.get("blocks", [])}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _chat_postEphemeral(self, args):
        refused = self._message_problems(args)
        return refused or {"ok": True, "message_ts": self._new_ts()}

    def _chat_update(self, args):
        refused = self._message_problems(args)
        return refused or {"ok": True, "channel": args["channel"], "ts": args.get("ts"),
                           "text": args.get("text", "")}

    def _conversations_open(self, args):
        users = args.get("users", "")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if "," in users:
            return {"ok": True, "channel": {"id": "G" + users.replace(",", "")[1:12]}}
        return {"ok": True, "channel": {"id": "D" + users[1:]}}

    def _view_response(self, args, view):
        problems = view_problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata":
                    {"messages": problems}}
        return {"ok": True, "view": {**view, "id": f"V{next(self._views):08d}"}}

    def _views_open(self, args):
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._view_response(args, args.get("view") or {})

    def _views_update(self, args):
        return self._view_response(args, args.get("view") or {})

    def _views_publish(self, args):
        if not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view_response(args, args.get("view") or {})

    def _users_info(self, args):
        user = args.get("user", "")
        if user not in PEOPLE:
            return {"ok": False, "error": "user_not_found"}
        p = PEOPLE[user]
        return {"ok": True, "user": {"id": user, "team_id": TEAM, "name": p["name"],
                                     "real_name": p["real_name"], "is_bot": False,
                                     "profile": {"real_name": p["real_name"],
                                                 "display_name": p["display_name"]}}}

    def _apps_connections_open(self, args):
        return {"ok": True, "url": self.socket_url}

    # --- response_url
    async def _response_url(self, request: web.Request) -> web.Response:
        args = await request.json()
        args["url_path"] = request.match_info["rest"]
        self._record(Call("response_url", args))
        problems = block_problems(args.get("blocks") or [], MESSAGE_BLOCK_LIMIT)
        if problems:
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    # --- Socket Mode
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        self._record(Call("socket.connected", dict(request.query)))
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "applink-fake", "build_number": 1,
                                           "approximate_connection_time": 18060},
                            "connection_info": {"app_id": "A0PROTOCOL"}})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                self.socket_acks.append(data)
                self._record(Call("socket.ack", data))
        return ws

    async def socket_send(self, envelope: dict) -> None:
        """Send an envelope (events_api, slash_commands, interactive) to the connected app."""
        await self.wait_for("socket.connected")
        await self.sockets[-1].send_json(envelope)


# --- the bot under test: our aiohttp server with the Slack endpoint mounted, on loopback --------

MO_USER = "U0MO00001"


def make_conversation(knowledge=None, *, mos=(f"slack:{MO_USER}",), knowledge_dir=None):
    """The conversation service with the shipped (or given) knowledge on an in-memory store."""
    from tests.conversation_support import make_conversation as build

    return build(mos, knowledge=knowledge, knowledge_dir=knowledge_dir)


class HandledCounter:
    """Counts what the conversation service has finished handling, so a test can wait for
    exactly that instead of sleeping to prove that nothing else happened."""

    def __init__(self, conversation):
        self.count = 0
        handle = conversation.handle

        def counted(incoming, **kw):
            try:
                return handle(incoming, **kw)
            finally:
                self.count += 1

        conversation.handle = counted

    async def reach(self, n: int, timeout: float = 10.0) -> None:
        for _ in range(int(timeout / 0.01)):
            if self.count >= n:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"handled {self.count} of {n} in {timeout} s")


class RunningBot:
    """protocol-bot's web app with /slack/events mounted, wired to a FakeSlack."""

    def __init__(self, conversation, fake: FakeSlack, app):
        self.conversation = conversation
        self.handled = HandledCounter(conversation)
        self.fake = fake
        self.app = app
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.session = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def post(self, body: str, content_type: str, headers: dict | None = None,
                   signed: bool = True) -> tuple[int, str]:
        """POST to /slack/events as Slack does; returns (status, response text)."""
        all_headers = {"Content-Type": content_type, **(sign(body) if signed else {}),
                       **(headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=all_headers) as resp:
            return resp.status, await resp.text()

    async def event(self, data: dict, **kw):
        return await self.post(*event_body(data), **kw)

    async def all_delivered(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until the outbox owes nothing: every send marked delivered."""
        for _ in range(int(timeout / 0.02)):
            if not self.conversation.deliveries.undelivered("slack"):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"still owed: {self.conversation.deliveries.undelivered('slack')}")

    async def command(self, fields: dict, **kw):
        return await self.post(*command_body(fields), **kw)

    async def interaction(self, data: dict, **kw):
        return await self.post(*interaction_body(data), **kw)


class running_bot:
    """async with running_bot(conversation) as bot: ... — the fake Slack and our server."""

    def __init__(self, conversation=None, mount_via_server: bool = False):
        self.conversation = conversation
        self.mount_via_server = mount_via_server

    async def __aenter__(self) -> RunningBot:
        import aiohttp

        from adapters.slack.app import SlackSettings, mount

        self.fake = await FakeSlack().start()
        conversation = self.conversation or make_conversation()
        settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                                 api_url=self.fake.api_url)
        app = web.Application()
        assert mount(app, conversation, settings) is True
        bot = RunningBot(conversation, self.fake, app)
        bot.runner = web.AppRunner(app, access_log=None)
        await bot.runner.setup()
        site = web.TCPSite(bot.runner, "127.0.0.1", 0)
        await site.start()
        bot.port = site._server.sockets[0].getsockname()[1]
        bot.session = aiohttp.ClientSession()
        self.bot = bot
        return bot

    async def __aexit__(self, *exc):
        await self.bot.session.close()
        await self.bot.runner.cleanup()
        await self.fake.close()
