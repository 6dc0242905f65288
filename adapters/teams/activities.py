"""Bot Framework activities (as JSON dicts) -> who asked, what they asked, and where to reply.

Plain functions over the wire format, so they work the same with botbuilder, the Microsoft 365
Agents SDK, or a recorded payload in a test.
"""

from __future__ import annotations

import html
import re

from protocol_bot.models import Asker

PLATFORM = "teams"

_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.I | re.S)
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_SPACES = re.compile(r"[ \t\u00a0]+")


def asker_of(activity: dict) -> Asker:
    who = activity.get("from") or {}
    return Asker(PLATFORM, str(who.get("id") or ""), str(who.get("name") or ""))


def principal_of(activity: dict) -> str:
    return asker_of(activity).principal


def conversation_type(activity: dict) -> str:
    """'personal', 'groupChat' or 'channel' (Teams says so in conversation.conversationType)."""
    conversation = activity.get("conversation") or {}
    kind = conversation.get("conversationType")
    if kind:
        return str(kind)
    return "groupChat" if conversation.get("isGroup") else "personal"


def is_personal(activity: dict) -> bool:
    return conversation_type(activity) == "personal"


def bot_id(activity: dict) -> str:
    return str((activity.get("recipient") or {}).get("id") or "")


def question_text(activity: dict) -> str:
    """The words the person typed, with the bot's @mention removed (and other mentions kept as
    plain names), HTML tags and entities undone, whitespace tidied."""
    text = activity.get("text") or ""
    me = bot_id(activity)
    for entity in activity.get("entities") or []:
        if (entity or {}).get("type") != "mention":
            continue
        mentioned = (entity.get("mentioned") or {}).get("id")
        if mentioned and mentioned == me and entity.get("text"):
            text = text.replace(entity["text"], " ")
    # A mention of the bot that the entities did not list (some clients) still goes; anyone
    # else mentioned keeps their name as plain text.
    bot_name = str((activity.get("recipient") or {}).get("name") or "")

    def _mention(match: re.Match) -> str:
        name = match.group(1).strip()
        return " " if bot_name and name == bot_name else name

    text = _AT_TAG.sub(_mention, text)
    text = _HTML_TAG.sub(" ", text)
    text = html.unescape(text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    return "\n".join(line for line in lines if line).strip()


def reference_of(activity: dict) -> dict:
    """The conversation reference (Bot Framework JSON) to reply into this conversation later.

    In a channel the conversation id carries ';messageid=' of the thread, so a proactive reply
    lands in the same thread; `activityId` makes it a reply to the person's message.
    """
    reference = {
        "activityId": activity.get("id"),
        "user": _account(activity.get("from")),
        "bot": _account(activity.get("recipient")),
        "conversation": dict(activity.get("conversation") or {}),
        "channelId": activity.get("channelId") or "msteams",
        "serviceUrl": activity.get("serviceUrl"),
    }
    if activity.get("locale"):
        reference["locale"] = activity["locale"]
    return {k: v for k, v in reference.items() if v is not None}


def _account(account: dict | None) -> dict | None:
    if not account:
        return None
    keep = ("id", "name", "aadObjectId", "role")
    return {k: account[k] for k in keep if account.get(k)}


def bot_was_added(activity: dict) -> bool:
    """conversationUpdate with the bot among membersAdded: the bot was installed here.

    (Teams also sends installationUpdate 'add' for the same install; answering both would
    greet twice, so that one only stores the conversation reference.)"""
    added = [str(m.get("id")) for m in activity.get("membersAdded") or [] if m and m.get("id")]
    return activity.get("type") == "conversationUpdate" and bot_id(activity) in added


def submitted(activity: dict) -> dict | None:
    """The data of an Adaptive Card Action.Submit (Teams sends it as a message with `value`)."""
    value = activity.get("value")
    return value if isinstance(value, dict) else None


def event_key(activity: dict) -> str:
    """What makes an activity unique, for dropping redeliveries."""
    conversation = (activity.get("conversation") or {}).get("id") or ""
    return f"{PLATFORM}:activity:{conversation}:{activity.get('id') or ''}"
