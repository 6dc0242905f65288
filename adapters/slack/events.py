"""Slack payloads -> plain values: the question asked, who asked, where to reply, button values."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from protocol_bot.conversation import Incoming, Place
from protocol_bot.models import Asker

BUTTON_VALUE_LIMIT = 2000  # Slack's limit on a button's value
METADATA_LIMIT = 3000  # Slack's limit on a view's private_metadata
MAC_CHARS = 32

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_OTHER_SPECIAL = re.compile(r"<!([^>|]*)(?:\|([^>]*))?>")
_LINK = re.compile(r"<([^>|]+)(?:\|([^>]*))?>")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def plain_text(slack_text: str, *, drop_user: str | None = None) -> str:
    """Slack's encoded message text as a person typed it: mentions, links and entities undone.

    `drop_user` (the bot's own user id) is removed wherever it is mentioned.
    """
    text = slack_text or ""
    if drop_user:
        text = re.sub(rf"<@{re.escape(drop_user)}(?:\|[^>]*)?>[:,]?", " ", text)
    text = _USER.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _SUBTEAM.sub(lambda m: m.group(1) or "@group", text)
    text = _OTHER_SPECIAL.sub(lambda m: m.group(2) or m.group(1), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def asker_of(user_id: str, display_name: str = "") -> Asker:
    return Asker(platform="slack", user_id=user_id, display_name=display_name)


def user_of(principal: str) -> str | None:
    """'slack:U123' -> 'U123'; None for another platform's principal."""
    platform, _, user = principal.partition(":")
    return user if platform == "slack" and user else None


def message_reply_to(event: dict) -> dict:
    """Answers to a channel mention go in a thread under the question; answers to a direct
    message go in the DM (in its thread, if the question was in one)."""
    if event.get("channel_type") != "im":
        return {"channel": event["channel"], "thread_ts": event.get("thread_ts") or event["ts"]}
    return {"channel": event["channel"],
            **({"thread_ts": event["thread_ts"]} if event.get("thread_ts") else {})}


def action_reply_to(body: dict) -> dict:
    """Where a button's message lives, as a reply_to: thread of a channel answer, DM, or private."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    if container.get("is_ephemeral") or not channel:
        return {"user": body["user"]["id"]}  # private: later messages go to their DM
    if channel.startswith("D"):
        return {"channel": channel, **({"thread_ts": message["thread_ts"]}
                                       if message.get("thread_ts") else {})}
    return {"channel": channel, "thread_ts": message.get("thread_ts") or container.get("message_ts")
            or message.get("ts")}


def action_key(body: dict, action: str) -> str:
    """An idempotency key for one person's click on one message's button."""
    container = body.get("container") or {}
    where = container.get("message_ts") or container.get("view_id") or body.get("trigger_id", "")
    channel = container.get("channel_id") or ""
    return f"slack:{action}:{channel}:{where}:{body['user']['id']}"


def pack_value(fields: dict, *, limit: int = BUTTON_VALUE_LIMIT) -> str:
    """Fields as compact JSON within `limit` characters; the question ('q') is shortened to fit."""
    value = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    if len(value) <= limit:
        return value
    if "q" not in fields:
        raise ValueError(f"button value of {len(value)} characters exceeds {limit}")
    question = fields["q"]
    excess = len(value) - limit
    fields = {**fields, "q": question[: max(0, len(question) - excess - 8)].rstrip() + "..."}
    return pack_value(fields, limit=limit)


def seal(fields: dict, user: str, secret: str) -> str:
    """A view's private_metadata: the fields, bound to the person it was opened for and
    signed with the app's signing secret, so a forged or altered one is refused on submit."""
    body = json.dumps({"u": user, **fields}, separators=(",", ":"), ensure_ascii=False)
    sealed = _mac(body, secret) + body
    if len(sealed) > METADATA_LIMIT:
        raise ValueError(f"private_metadata of {len(sealed)} characters exceeds {METADATA_LIMIT}")
    return sealed


def unseal(text: str | None, user: str, secret: str) -> dict:
    """The fields of a sealed private_metadata, or {} when it is forged, altered or was
    opened for someone else."""
    text = text or ""
    mac, body = text[:MAC_CHARS], text[MAC_CHARS:]
    if not body or not hmac.compare_digest(mac, _mac(body, secret)):
        return {}
    data = unpack_value(body)
    return data if data.get("u") == user else {}


def _mac(body: str, secret: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:MAC_CHARS]


def unpack_value(value: str | None) -> dict:
    try:
        data = json.loads(value or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def view_input(view: dict, block_id: str, action_id: str):
    """The value a person entered in a modal's input block (text, selected user or options)."""
    state = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(action_id) or {}
    if "selected_user" in state:
        return state["selected_user"]
    if "selected_options" in state:
        return [o["value"] for o in state["selected_options"] or []]
    return state.get("value") or ""


def message_incoming(body: dict, event: dict, bot_user: str | None) -> Incoming:
    """A mention in a channel (answered in its thread) or a DM (answered in the DM)."""
    reply_to = message_reply_to(event)
    event_id = body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"
    return Incoming(asker=asker_of(event["user"]),
                    place=Place(conversation=reply_to["channel"], thread=reply_to.get("thread_ts"),
                                is_private=event.get("channel_type") == "im", reference=reply_to),
                    event_key=f"slack:event:{event_id}",
                    text=plain_text(event.get("text", ""), drop_user=bot_user))


def action_incoming(body: dict, action: str, data: dict | None = None) -> Incoming:
    """A button click or a form, by the person who made it, seen only by them (an ephemeral
    reply, a modal, the App Home; anything later goes to their DM, never the channel)."""
    user = body["user"]
    return Incoming(asker=asker_of(user["id"], user.get("name", "")),
                    place=Place(conversation=user["id"], is_private=True,
                                reference={"user": user["id"]}),
                    action=action, data=data or {})
