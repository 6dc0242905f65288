"""Everything botbuilder-specific: settings, authentication, POST /api/messages, proactive send.

The Bot Framework SDK is archived; a move to the Microsoft 365 Agents SDK replaces this file and
nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (CloudAdapter,
                                            ConfigurationBotFrameworkAuthentication)
from botbuilder.schema import Activity, ConversationReference

from protocol_bot.config import setting
from protocol_bot.delivery import (PERMANENT, REFUSED, RetryLater, Undeliverable, http_kind,
                                   refusal)
from protocol_bot.doctor import half_set
from protocol_bot.loopback import is_loopback_url
from protocol_bot.store import OutboxMessage

from .activities import event_key
from .bot import REPLACE, TeamsLogic

log = logging.getLogger(__name__)


def _speed_up_msrest() -> None:
    """botbuilder builds an msrest client (two, with the token client) for every activity, and
    each computes its retry status list with `i not in <a 500-item list>` for 999 codes: about
    4 ms of CPU per client, most of a turn's cost under load. The same list from a set."""
    try:
        from msrest.universal_http.requests import ClientRetryPolicy
    except ImportError:  # a later msrest without it
        return
    if isinstance(ClientRetryPolicy.safe_codes, list):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


_speed_up_msrest()


@dataclass(frozen=True)
class TeamsSettings:
    """The Azure Bot registration. No app id at all means local mode (the Agents Playground)."""

    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    app_type: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "TeamsSettings":
        return cls(
            app_id=setting(env, "MICROSOFT_APP_ID", "MicrosoftAppId"),
            app_password=setting(env, "MICROSOFT_APP_PASSWORD", "MicrosoftAppPassword"),
            tenant_id=setting(env, "MICROSOFT_APP_TENANT_ID", "MicrosoftAppTenantId"),
            app_type=setting(env, "MICROSOFT_APP_TYPE", "MicrosoftAppType"))

    @property
    def local_mode(self) -> bool:
        return not self.app_id

    @property
    def effective_type(self) -> str:
        """SingleTenant when a tenant is given (what Azure creates today), else MultiTenant."""
        if self.app_type:
            return self.app_type
        return "SingleTenant" if self.tenant_id else "MultiTenant"

    def problems(self) -> list[str]:
        """What is wrong with the registration settings, in words an administrator can act on."""
        given = {"MICROSOFT_APP_ID": self.app_id, "MICROSOFT_APP_PASSWORD": self.app_password,
                 "MICROSOFT_APP_TENANT_ID": self.tenant_id}
        if self.local_mode:
            return half_set(given, ("MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"),
                            "MICROSOFT_APP_ID", "set the bot's app id too.")
        kind = self.effective_type.lower()
        out = [] if kind == "userassignedmsi" else half_set(
            given, ("MICROSOFT_APP_ID",), "MICROSOFT_APP_PASSWORD",
            "the bot cannot reply without the client secret.")
        if kind in ("singletenant", "userassignedmsi") and not self.tenant_id:
            out.append(f"MICROSOFT_APP_TYPE is {self.effective_type} but "
                       "MICROSOFT_APP_TENANT_ID is not set.")
        if kind not in ("singletenant", "multitenant", "userassignedmsi"):
            out.append(f"MICROSOFT_APP_TYPE '{self.app_type}' is not SingleTenant, MultiTenant "
                       "or UserAssignedMSI.")
        return out

    def describe(self) -> str:
        if self.local_mode:
            return ("local mode: no MICROSOFT_APP_ID, so requests are not authenticated "
                    "(for the Microsoft 365 Agents Playground; replies only to loopback "
                    "service URLs)")
        return (f"app id {self.app_id} ({self.effective_type}"
                + (f", tenant {self.tenant_id}" if self.tenant_id else "")
                + f", password {'set' if self.app_password else 'NOT set'}); "
                "requests need a valid Bot Framework token")


class _Authentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's configuration authentication without the per-turn user token client: the
    bot has no sign-in (OAuth/SSO) prompts, and building that client costs ~5 ms a turn."""

    async def create_user_token_client(self, claims_identity):
        return None


def _auth_config(settings: TeamsSettings) -> SimpleNamespace:
    """The attribute names botbuilder's ConfigurationBotFrameworkAuthentication reads."""
    return SimpleNamespace(APP_ID=settings.app_id, APP_PASSWORD=settings.app_password,
                           APP_TENANTID=settings.tenant_id, APP_TYPE=settings.effective_type)


class BotFrameworkThread:
    """botbuilder's calls run on their own event loop in their own thread: its JWT-key and
    token fetches are blocking `requests` calls, and a hung one must not stall the bot's loop
    (questions are still recorded and answered meanwhile). Each call has a timeout."""

    def __init__(self, timeout: float = 20.0):
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        # Its own small pool for msrest's blocking sends, not the main loop's default one.
        self.loop.set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="botframework"))
        self.thread = threading.Thread(target=self.loop.run_forever, name="botframework",
                                       daemon=True)
        self.thread.start()

    async def call(self, coroutine, timeout: float | None = None):
        """Run a botbuilder coroutine there; asyncio.TimeoutError after the timeout."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout or self.timeout)
        except asyncio.TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


class TeamsEndpoint:
    """The Bot Framework side of the Teams adapter: authenticate and record each activity
    (answered from the record, through the outbox), and `send` outbox messages."""

    def __init__(self, logic: TeamsLogic, settings: TeamsSettings):
        self.logic = logic
        self.settings = settings
        self.record = None  # async (key, payload) -> recorded: `Pipeline.record`, set by `mount`
        self.botframework = BotFrameworkThread()
        self.auth = _Authentication(_auth_config(settings))
        self.adapter = CloudAdapter(self.auth)

    # --- POST /api/messages --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        if "application/json" not in (request.headers.get("Content-Type") or ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
        except Exception:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        try:
            if not isinstance(body, dict) or not body.get("type"):
                raise ValueError("no activity type")
            activity = Activity().deserialize(body)
        except Exception:
            return web.json_response({"error": "the body is not a Bot Framework activity"},
                                     status=400)
        auth_header = request.headers.get("Authorization", "")
        try:
            await self.botframework.call(
                self.auth.authenticate_request(activity, auth_header))
        except Exception as exc:  # missing, malformed, expired or forged: all 401, never 500
            log.warning("Teams request refused (401): %s: %s", type(exc).__name__,
                        str(exc)[:200])
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.settings.local_mode and not is_loopback_url(activity.service_url):
            # Without authentication, replying to any URL a request names would let anyone
            # make the bot post wherever they like.
            log.warning("local mode: refused a request whose serviceUrl %r is not loopback",
                        activity.service_url)
            return web.json_response({"error": "local mode only replies to loopback "
                                               "service URLs"}, status=401)
        if activity.type == "invoke":
            # Cards use Action.Submit only (botbuilder 4.17 answers Action.Execute with 500).
            return web.json_response({"error": "not implemented"}, status=501)
        # Recorded: answered from the record, even after a crash.
        await self.record(event_key(body) if body.get("id") else "", {"activity": body})
        return web.Response(status=201)

    # --- proactive delivery (the outbox) -------------------------------------------------------
    async def send(self, message: OutboxMessage) -> None:
        """Deliver one outbox message into its conversation; raises what the core needs to
        decide (RetryLater, Refused, Undeliverable)."""
        if not message.reply_to:
            raise RetryLater(f"no Teams conversation with {message.recipient} yet: they must "
                             "open a chat with the bot (or install it) first")
        if self.settings.local_mode and not is_loopback_url(message.reply_to.get("serviceUrl")):
            raise Undeliverable("local mode only delivers to loopback service URLs")
        reference = ConversationReference().deserialize(message.reply_to)
        reply = dict(message.body["message"]) if message.kind == "reply" else \
            self.logic.render_outbox(message)
        replace = reply.pop(REPLACE, False)
        activity = Activity().deserialize(reply)
        failures: list[Exception] = []

        async def callback(turn_context: TurnContext) -> None:
            # botbuilder gives the continuation a random id and would "reply" to it; reply to
            # the stored message instead, or post to the chat when there is none.
            turn_context.activity.id = reference.activity_id
            try:
                if replace:
                    await turn_context.update_activity(activity)
                else:
                    await turn_context.send_activity(activity)
            except Exception as exc:  # kept from on_turn_error: the outbox must see it
                failures.append(exc)

        try:
            await self.botframework.call(self.adapter.continue_conversation(
                reference, callback, bot_app_id=self.settings.app_id or None))
        except asyncio.TimeoutError:
            raise RetryLater("the Bot Connector did not answer in time",
                             outcome_unknown=True) from None
        if failures:
            raise connector_says_no(failures[0], replace) from failures[0]


def connector_says_no(error: Exception, replace: bool = False) -> Exception:
    """The Bot Connector's refusal, as the core's kind of "no"."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        return RetryLater(f"Teams: {type(error).__name__}: {error}")
    kind = http_kind(status)
    if kind == REFUSED and replace:  # the card to update is gone: no private chat would help
        kind = PERMANENT
    retry_after = (getattr(response, "headers", None) or {}).get("Retry-After")
    return refusal(kind, f"Teams: HTTP {status}", retry_after=retry_after)
