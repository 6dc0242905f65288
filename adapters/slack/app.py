"""The bolt AsyncApp for protocol-bot, and `mount`: POST /slack/events on the shared aiohttp server."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from protocol_bot.config import setting
from protocol_bot.conversation import Conversation, Incoming, Reply
from protocol_bot.pacing import Pacing

from adapters.pipeline import Pipeline

from . import clicks, escalation, officer, recording
from .events import seal, unseal
from .delivery import CALL_TIMEOUT, PACE_SECONDS, destination, make_send
from .messaging import People

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "SlackSettings":
        api_url = setting(env, "SLACK_API_URL") or DEFAULT_API_URL
        return cls(bot_token=setting(env, "SLACK_BOT_TOKEN"),
                   signing_secret=setting(env, "SLACK_SIGNING_SECRET"),
                   app_token=setting(env, "SLACK_APP_TOKEN"),
                   api_url=api_url if api_url.endswith("/") else api_url + "/")

    @property
    def http_ready(self) -> bool:
        return bool(self.bot_token and self.signing_secret)


class SlackBot:
    """The bolt app with every listener, its Web API clients, and the Slack outbox delivery."""

    def __init__(self, conversation: Conversation, settings: SlackSettings):
        self.conversation = conversation
        self.settings = settings
        # `api` (with the bot token) delivers the outbox; bolt gives each request its own
        # client with the token from `authorize`, at the same base URL.
        self.api = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url)
        self.pipeline = Pipeline(conversation, "slack",
                                 functools.partial(recording.respond, conversation),
                                 make_send(self.api, conversation.queued_reply), destination,
                                 Pacing(interval=PACE_SECONDS))
        self.people = People(self.api)

        async def authorize():  # bolt passes arguments by name, so no bound methods
            return await self.identity()

        # AsyncApp warns that SLACK_BOT_TOKEN in the environment goes unused when it is given
        # a client; here that is intended (the token reaches it through `authorize`).
        bolt_log = logging.getLogger("adapters.slack.bolt")
        level = bolt_log.level
        bolt_log.setLevel(logging.ERROR)
        try:
            self.bolt = AsyncApp(client=AsyncWebClient(base_url=settings.api_url),
                                 authorize=authorize, signing_secret=settings.signing_secret,
                                 name="protocol-bot", logger=bolt_log)
        finally:
            bolt_log.setLevel(level)
        self._identity: AuthorizeResult | None = None
        self._identity_lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.bolt.middleware(recording.make_recorder(self))
        for module in (clicks, escalation, officer):
            module.register(self.bolt, self)

    def seal(self, fields: dict, user: str) -> str:
        """A modal's private_metadata, bound to `user` and signed (see events.seal)."""
        return seal(fields, user, self.settings.signing_secret)

    def unseal(self, text: str | None, user: str) -> dict:
        return unseal(text, user, self.settings.signing_secret)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """The conversation service's replies (synchronous work, run off the event loop)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pipeline.pool, self.conversation.handle, incoming)

    async def identity(self) -> AuthorizeResult:
        """Who the bot is, from one auth.test shared by every request (not one per request)."""
        if self._identity is None:
            async with self._identity_lock:
                if self._identity is None:
                    response = await self.api.auth_test()
                    self._identity = AuthorizeResult.from_auth_test_response(
                        auth_test_response=response, bot_token=self.settings.bot_token)
        return self._identity

    async def start(self) -> None:
        """Share one HTTP session, learn who the bot is, and start delivering the outbox."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT))
        self.api.session = self._session
        self.bolt.client.session = self._session
        try:
            await self.identity()
        except Exception as exc:  # Slack unreachable or the token wrong: retried on first use
            log.warning("Slack auth.test failed at start-up (%s); check SLACK_BOT_TOKEN", exc)
        self.pipeline.start()

    async def stop(self) -> None:
        await self.pipeline.stop()
        if self._session:
            await self._session.close()


SLACK = web.AppKey("slack", SlackBot)


def mount(app: web.Application, conversation: Conversation, settings: SlackSettings | None = None) -> bool:
    """Serve Slack's events, commands and interactivity on POST /slack/events, if configured."""
    settings = settings or SlackSettings.from_env()
    if not settings.http_ready:
        log.info("Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET): "
                 "%s is not served", EVENTS_PATH)
        return False
    slack = SlackBot(conversation, settings)

    verifier = SignatureVerifier(settings.signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not timestamp.isdigit():
            return web.Response(status=401, text="missing or malformed request timestamp")
        raw = await request.read()
        if not verifier.is_valid(raw, timestamp, request.headers.get("X-Slack-Signature", "")):
            return web.Response(status=401, text="invalid request signature")
        if await recording.record_event_quickly(slack, raw, request.headers):
            return web.Response(status=200)
        bolt_response = await slack.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def on_startup(app: web.Application) -> None:
        await slack.start()

    async def on_cleanup(app: web.Application) -> None:
        await slack.stop()

    app.router.add_post(EVENTS_PATH, slack_events)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app[SLACK] = slack
    log.info("Slack events served on %s (Web API %s)", EVENTS_PATH, settings.api_url)
    return True
