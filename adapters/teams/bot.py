"""Teams activities -> `Incoming`; `Reply` -> activities. Plain dicts, no SDK (`bf` calls it)."""

from __future__ import annotations

import logging

from protocol_bot.conversation import Conversation, Incoming, Outgoing, Place, Reply
from protocol_bot.store import OutboxMessage

from . import activities as act
from . import cards

log = logging.getLogger(__name__)

REPLACE = "_replace"  # reply key: update the clicked card (activity id = replyToId)

# Card verbs -> the conversation service's actions.
ACTIONS = {cards.ASK: "ask", cards.ESCALATE: "escalate_form", cards.CONFIRM: "escalate", cards.MO_ASSIGN: "assign",
           cards.MO_ANSWER: "answer", cards.MO_CLOSE: "close", cards.MO_SHOW: "ticket",
           cards.MO_TEACH: "teach", cards.MO_UNTEACH: "untaught", cards.MO_FAQ_LIST: "faq_list",
           cards.MO_FAQ_WITHDRAW: "faq_withdraw"}
# The service's data fields <- the submit data's (a passage's key comes as PASSAGE_KEY).
FIELDS = {"question": "question", "refs": "refs", "log": "log", "key": cards.KEY_FIELD,
          "context": cards.CONTEXT_INPUT, "ticket": "ticket", "to": cards.ASSIGNEE_INPUT,
          "text": cards.ANSWER_INPUT, "save_faq": cards.FAQ_TOGGLE,
          "faq_questions": cards.FAQ_QUESTIONS_INPUT, "faq_text": cards.FAQ_TEXT_INPUT,
          "taught": "taught"}


def place_of(activity: dict) -> Place:
    """Where the activity came from. A personal chat's reference is the chat itself, so the
    bot can reach the person there later; elsewhere it replies to the message (its thread)."""
    reference = act.reference_of(activity)
    private = act.is_personal(activity)
    if private:
        reference.pop("activityId", None)
    conversation = (activity.get("conversation") or {}).get("id") or ""
    return Place(conversation=conversation, is_private=private,
                 reference=reference if activity.get("serviceUrl") else {})


def incoming_of(activity: dict) -> Incoming | None:
    """The person's message or card submit; None for what needs no answer from the core."""
    data = act.submitted(activity)
    base = dict(asker=act.asker_of(activity), place=place_of(activity),
                event_key=act.event_key(activity) if activity.get("id") else "")
    if data is None or not data.get(cards.VERB):
        return Incoming(text=act.question_text(activity), **base)
    verb = data[cards.VERB]
    if verb == cards.FEEDBACK:
        action = "helpful" if data.get("helpful") else "not_helpful"
    else:
        action = ACTIONS.get(verb, verb)
    fields = {field: data.get(name) for field, name in FIELDS.items()}
    if verb == cards.MO_TEACH:
        fields["key"] = data.get(cards.PASSAGE_KEY)
    return Incoming(action=action, data={k: v for k, v in fields.items() if v is not None},
                    **base)


class TeamsLogic:
    def __init__(self, conversation: Conversation):
        self.conversation = conversation

    def handle(self, activity: dict, *, recorded: bool = False) -> list[dict]:
        """The replies to one activity. `recorded`: it came through the inbox, which already
        dropped redeliveries."""
        kind = activity.get("type")
        if kind in ("conversationUpdate", "installationUpdate"):
            self.conversation.handle(Incoming(asker=act.asker_of(activity),
                                              place=place_of(activity), action="hello"))
            return [cards.welcome_message()] if act.bot_was_added(activity) else []
        if kind != "message":
            return []
        incoming = incoming_of(activity)
        key = f"teams:{(activity.get('conversation') or {}).get('id') or ''}:{activity.get('id') or ''}"
        replies = self.conversation.handle(incoming, recorded=recorded)
        return [r for reply in replies for r in render(reply, activity, key)]

    def respond(self, payload: dict) -> list[Outgoing]:
        """A recorded activity's replies, each to go into the conversation (and thread) it
        came from."""
        activity = payload["activity"]
        reference = act.reference_of(activity)
        principal = act.principal_of(activity)
        return [Outgoing(principal, reference, reply)
                for reply in self.handle(activity, recorded=True)]

    def render_outbox(self, message: OutboxMessage) -> dict:
        """A queued message (a ticket for the MO, the MO's answer) as the activity to send,
        rendered as if its recipient had asked for it."""
        recipient = {"from": {"id": message.recipient.partition(":")[2]}}
        [activity] = render(self.conversation.queued_reply(message), recipient, key="")
        return activity


def destination(message: OutboxMessage) -> str:
    """What Teams rate-limits separately: a conversation (a channel's threads share one)."""
    conversation = ((message.reply_to or {}).get("conversation") or {}).get("id") or ""
    return conversation.split(";", 1)[0] or message.recipient


def render(reply: Reply, activity: dict, key: str) -> list[dict]:
    """One reply from the conversation service as Teams activities."""
    if reply.kind == "escalate_form":  # the key: the pressed button's, or this message's
        key = str((act.submitted(activity) or {}).get(cards.KEY_FIELD) or key)
        return [cards.escalate_form(reply.text, key=key, refs=reply.cited, log_id=reply.log_id)]
    if reply.kind == "answer":
        echo = bool((act.submitted(activity) or {}).get(cards.VERB))
        return [cards.answer_message(reply.answer, key=key, log_id=reply.log_id,
                                     echo_question=echo)]
    if reply.kind == "help":
        return [cards.welcome_message()]
    if reply.kind == "ticket_opened":
        replies = [cards.text_message(reply.text)]
        if activity.get("replyToId"):  # the form: show it was sent, and drop its button
            done = cards.sent_form(reply.ticket.question, reply.ticket.id)
            replies.append(_replacing(done, activity))
        return replies
    if reply.kind == "ticket_list":
        return [cards.ticket_list_message(reply.text, [item.ticket for item in reply.items])]
    if reply.kind == "taught":
        return [cards.taught_message(reply.text, reply.taught_id)]
    if reply.kind == "ticket_answered":  # the MO's answer, queued for the asker
        return [cards.ticket_answered_message(reply)]
    if reply.kind == "ticket_card":
        message = cards.mo_ticket_message(reply, actor=act.principal_of(activity))
        if reply.replaces_clicked:
            return [_replacing(message, activity)] if activity.get("replyToId") else []
        return [message]
    return [cards.text_message(reply.text)]


def _replacing(message: dict, activity: dict) -> dict:
    return {**message, "id": activity["replyToId"], REPLACE: True}
