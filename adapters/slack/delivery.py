"""Outbox delivery to Slack: replies where they were asked, MO notices by DM; Slack's "no" classified."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from protocol_bot.conversation import Reply
from protocol_bot.delivery import (PERMANENT, REFUSED, RETRY, TIMEOUT, Undeliverable, http_kind,
                                   refusal)
from protocol_bot.store import OutboxMessage

from . import render
from .events import user_of
from .messaging import open_dm, post

# Slack's answers that mean "this channel will not take the bot's messages".
REFUSING = ("not_in_channel", "channel_not_found", "is_archived", "restricted_action",
            "cannot_reply_to_message", "no_permission")
# ... and "this message can never be posted as it is".
MALFORMED = ("msg_too_long", "invalid_blocks", "invalid_arguments", "no_text",
             "too_many_attachments", "invalid_auth", "not_authed", "account_inactive")
PACE_SECONDS = 1.1  # Slack allows about one message a second per channel
CALL_TIMEOUT = 10.0  # slack_sdk's own timeout is not applied to a shared aiohttp session


def destination(msg: OutboxMessage) -> str:
    """What Slack paces separately: a channel, or a person's DM."""
    reply_to = msg.reply_to or {}
    if msg.kind in ("reply", "ticket_answered") and reply_to.get("channel"):
        return "channel:" + reply_to["channel"]
    return "user:" + (user_of(msg.recipient) or reply_to.get("user") or msg.recipient)


def kind_of(error: str, status: int) -> str:
    """Slack's error, as the core's kind of "no"."""
    if status == 429 or error == "ratelimited":
        return RETRY
    return REFUSED if error in REFUSING else PERMANENT if error in MALFORMED else RETRY


@contextlib.asynccontextmanager
async def slack_says_no(user: str | None):
    """Slack's refusals as the outbox understands them: retry, fall back to a DM, or give up."""
    try:
        yield
    except SlackApiError as exc:
        response = exc.response
        error = str(response.get("error") or "")
        status = getattr(response, "status_code", 200)
        raise refusal(kind_of(error, status), f"Slack: {error or status}",
                      retry_after=(response.headers or {}).get("Retry-After"),
                      fallback={"user": user} if user else None) from None
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise refusal(TIMEOUT, f"Slack did not answer in time ({type(exc).__name__})") from None
    except aiohttp.ClientError as exc:
        raise refusal(RETRY, f"Slack unreachable ({type(exc).__name__})") from None


def make_send(client: AsyncWebClient, reply_of: Callable[[OutboxMessage], Reply]):
    """`send(msg)` for the outbox worker: posts the message (rendered from the core's reply),
    or raises what the core needs to decide (RetryLater, Refused, Undeliverable). A private
    answer's response_url is posted to on the client's HTTP session, once it has one."""

    async def send(msg: OutboxMessage) -> None:
        rendered = (dict(msg.body["message"]) if msg.kind == "reply" else
                    render.reply_message(reply_of(msg)))
        reply_to = msg.reply_to or {}
        user = user_of(msg.recipient) or reply_to.get("user")
        async with slack_says_no(user):
            await asyncio.wait_for(_deliver(client, msg, rendered, reply_to, user), CALL_TIMEOUT)

    return send


async def _deliver(client: AsyncWebClient, msg: OutboxMessage, rendered: dict,
                   reply_to: dict, user: str | None) -> None:
    # Notices to the MO always go to their DM, whatever reference is stored for them:
    # a ticket is never posted in a channel. A reply goes where the person asked.
    if msg.kind in ("reply", "ticket_answered"):
        if reply_to.get("response_url") and client.session is not None:
            await _respond(client.session, reply_to["response_url"], rendered, user)
            return
        if reply_to.get("channel"):
            await post(client, reply_to["channel"], rendered, reply_to.get("thread_ts"))
            return
    if not user:
        raise Undeliverable(f"outbox message {msg.id} is for {msg.recipient!r}, who is not a "
                            "Slack user")
    await post(client, await open_dm(client, user), rendered)


async def _respond(session: aiohttp.ClientSession, url: str, message: dict,
                   user: str | None) -> None:
    """An answer only the asker sees (/protocol), through the command's response_url."""
    payload = {**message, "response_type": "ephemeral", "replace_original": False}
    async with session.post(url, json=payload) as response:
        if response.status >= 400:  # expired (30 minutes, 5 uses): the asker's DM instead
            kind = RETRY if http_kind(response.status) == RETRY else REFUSED
            raise refusal(kind, f"Slack response_url {response.status}",
                          retry_after=response.headers.get("Retry-After"),
                          fallback={"user": user} if user else None)
