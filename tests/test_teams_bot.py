"""The Teams bot through botbuilder's TestAdapter, fed recorded Teams payloads (tests/data)."""

from __future__ import annotations

import json

import pytest
from adapters.teams import activities as act
from adapters.teams import cards
from adapters.teams.bot import REPLACE, TeamsLogic
from protocol_bot import wording
from protocol_bot.store import OutboxMessage
from tests.test_teams_support import (DEPUTY, MO, PLAYGROUND_USER, action, actions, as_user, cards_in,
                                      make_conversation, message, payload, submit, texts, walk)

PARTY = "Can I ask an officer to help with party political work?"
BINS = "What time does the recycling centre open?"


class Harness:
    """The Teams logic fed activity dicts: the activities it sends, and the cards it updates
    (the HTTP tests send them through botbuilder to a fake Bot Connector)."""

    def __init__(self, conversation=None):
        self.conversation = conversation or make_conversation()
        self.logic = TeamsLogic(self.conversation)
        self.updated: list[dict] = []

    def send(self, activity: dict) -> list[dict]:
        """The replies, each with where `bf.send` delivers it (the activity's reference)."""
        replies = self.logic.handle(activity)
        where = act.reference_of(activity)
        self.updated = [{k: v for k, v in r.items() if k != REPLACE} for r in replies
                        if r.get(REPLACE)]
        return [{**r, "replyToId": where.get("activityId"), "conversation": where["conversation"]}
                for r in replies if not r.get(REPLACE)]

    @property
    def store(self):
        return self.conversation.desk.store


def only_card(replies: list[dict]) -> dict:
    found = [c for r in replies for c in cards_in(r)]
    assert len(found) == 1, replies
    return found[0]


def test_recorded_payloads_parse():
    personal = payload("message_personal")
    assert act.question_text(personal) == PARTY
    assert act.asker_of(personal).principal == f"teams:{PLAYGROUND_USER}"
    assert act.conversation_type(personal) == "personal"
    channel = payload("message_channel_mention")
    assert act.question_text(channel) == "channel question four"  # the mention is gone
    assert act.conversation_type(channel) == "channel"
    group = payload("message_groupchat_mention")
    assert act.question_text(group) == "group question three"
    submit_ = payload("card_submit")
    assert act.submitted(submit_) == {"pb": "x", "k": "abc", "context": "some context"}


def test_mention_removal_keeps_other_people_and_undoes_html():
    activity = payload("message_channel_mention")
    activity["text"] = ("<at>Test Bot</at> can <at>Megan Bowen</at> ask &amp; officer "
                        "for&nbsp;help?<br/>")
    activity["entities"].append({"type": "mention", "text": "<at>Megan Bowen</at>",
                                 "mentioned": {"id": "user-id-1", "name": "Megan Bowen"}})
    assert act.question_text(activity) == "can Megan Bowen ask & officer for help?"


def test_personal_chat_question_answered_with_cited_clause_in_place():
    h = Harness()
    incoming = payload("message_personal")
    replies = h.send(incoming)
    assert len(replies) == 1
    reply = replies[0]
    assert reply["replyToId"] == incoming["id"]
    assert reply["conversation"]["id"] == incoming["conversation"]["id"]
    assert "clause 2.3" in reply["summary"]  # the plain-text summary goes with the card
    card = only_card(replies)
    body = texts(card)
    assert "Member/Officer Relations Protocol (2026), clause 2.3" in body
    assert "party-political nature" in body
    assert action(card, "Ask the monitoring officer")["data"]["qkey"] == \
        f"teams:{incoming['conversation']['id']}:{incoming['id']}"
    # the question is in the log, and the card's buttons carry its id for feedback
    logged = h.store.logged_questions()
    assert [q.question for q in logged] == [PARTY]
    assert action(card, "Helpful")["data"]["log"] == logged[0].id


@pytest.mark.parametrize("base", ["message_groupchat_mention", "message_channel_mention"])
def test_group_chat_and_channel_mentions_answered_in_the_same_thread(base):
    h = Harness()
    incoming = message(PARTY, base=base)
    assert incoming["text"].startswith("<at>Test Bot</at>")
    replies = h.send(incoming)
    [reply] = replies
    assert reply["conversation"]["id"] == incoming["conversation"]["id"]  # ;messageid= kept
    assert reply["replyToId"] == incoming["id"]
    assert "clause 2.3" in texts(only_card(replies))
    assert h.store.logged_questions()[0].question == PARTY  # mention text removed


def test_not_answered_card_leads_with_the_monitoring_officer():
    h = Harness()
    card = only_card(h.send(message(BINS)))
    assert card["body"][0]["text"].startswith("I couldn't find")
    assert card["actions"][0]["title"] == "Ask the monitoring officer"


def test_welcome_on_install_and_again_on_help():
    h = Harness()
    welcome = only_card(h.send(payload("conversation_update_personal")))
    assert len([a for a in walk(welcome) if a.get("data", {}).get("protocolBot") == "ask"]) == 3
    assert h.send(payload("installation_update")) == []  # one welcome per install, not two
    assert only_card(h.send(message("help"))) == welcome
    bare_mention = message("<at>Test Bot</at>", base="message_channel_mention")
    assert only_card(h.send(bare_mention)) == welcome
    # a channel install greets the channel too
    assert only_card(h.send(payload("conversation_update_channel"))) == welcome


def test_welcome_example_button_asks_the_question():
    h = Harness()
    replies = h.send(submit({"protocolBot": "ask", "question": PARTY}))
    body = texts(only_card(replies))
    assert f"You asked: \u201c{PARTY}\u201d" in body and "clause 2.3" in body


def test_conversation_reference_stored_from_personal_chat_only():
    h = Harness()
    h.send(as_user(message("help", base="message_channel_mention"), "29:mo-morgan"))
    assert h.store.get_reference(MO) is None  # a channel is not a private line to the MO
    h.send(as_user(payload("installation_update"), "29:mo-morgan"))
    ref = h.store.get_reference(MO)
    assert ref["conversation"]["conversationType"] == "personal"
    assert ref["serviceUrl"] == payload("installation_update")["serviceUrl"]
    assert "activityId" not in ref  # the chat itself, not a reply to one old message
    assert h.conversation.desk.reachable_mos()[MO] is True
    assert h.conversation.desk.reachable_mos()[DEPUTY] is False


def escalate(h: Harness, question=PARTY, base="message_personal", context="About the chair",
             user=None):
    """Ask, press "Ask the monitoring officer", then confirm on the form. Returns the confirm
    replies and the answer card."""
    incoming = message(question, base=base, user=user)
    answer_card = only_card(h.send(incoming))
    escalate_data = action(answer_card, "Ask the monitoring officer")["data"]
    conversation = incoming["conversation"]
    form = only_card(h.send(submit(escalate_data, reply_to_id="answer-card",
                                   activity_id="click-1", conversation=conversation, user=user)))
    assert [n for n in walk(form) if n.get("id") == cards.CONTEXT_INPUT]
    confirm = action(form, "Send question")["data"]
    replies = h.send(submit(confirm, reply_to_id="form-card", activity_id="click-2",
                            conversation=conversation, user=user, context=context))
    return replies, confirm, conversation


def test_escalation_opens_one_ticket_and_tells_the_asker_its_id():
    h = Harness()
    h.send(as_user(payload("installation_update"), "29:mo-morgan"))  # the MO has the bot
    replies, confirm, conversation = escalate(h)
    [ticket] = h.store.list_tickets()
    assert ticket.question == PARTY and ticket.context == "About the chair"
    assert ticket.asker.principal == f"teams:{PLAYGROUND_USER}"
    assert ticket.asker.display_name == "Alex Wilber"
    assert "mor-protocol-2026#2.3" in ticket.bot_refs
    assert ticket.reply_to["conversation"]["id"] == conversation["id"]
    told = [r for r in replies if r.get("text")]
    assert told and ticket.id in told[0]["text"]
    # the form is replaced by "Sent as ticket ..." (no second button to press)
    [updated] = h.updated
    assert updated["id"] == "form-card" and ticket.id in texts(cards_in(updated)[0])
    assert not cards_in(updated)[0].get("actions")
    # a double click (or Teams redelivering) makes no second ticket
    again = h.send(submit(confirm, reply_to_id="form-card", activity_id="click-3",
                          conversation=conversation, context="About the chair"))
    assert len(h.store.list_tickets()) == 1
    assert "already sent" in again[0]["text"] and ticket.id in again[0]["text"]
    # the MOs are told: one notice each, the reachable one with its personal chat reference
    notices = [m for m in h.store.undelivered("teams") if m.kind == "ticket_opened"]
    assert sorted(m.recipient for m in notices) == sorted([MO, DEPUTY])
    to_mo = next(m for m in notices if m.recipient == MO)
    assert to_mo.reply_to["conversation"]["conversationType"] == "personal"


def test_redelivered_activity_is_answered_once():
    h = Harness()
    incoming = message(PARTY, activity_id="same-id")
    assert len(h.send(incoming)) == 1
    assert h.send(incoming) == []
    assert len(h.store.logged_questions()) == 1


def test_feedback_recorded_once_per_person():
    h = Harness()
    card = only_card(h.send(message(PARTY)))
    data = action(card, "Not helpful")["data"]
    first = h.send(submit(data, activity_id="f1"))
    h.send(submit(data, activity_id="f2"))  # double click
    assert "Ask the monitoring officer" in first[0]["text"]
    [fb] = h.store.feedback_entries()
    assert fb.helpful is False and "mor-protocol-2026#2.3" in fb.refs
    assert "glad" in h.send(submit(action(card, "Helpful")["data"], activity_id="f3",
                                   user="someone-else"))[0]["text"]
    assert len(h.store.feedback_entries()) == 2


def outbox_card(h: Harness, kind: str, recipient: str | None = None) -> tuple[OutboxMessage, dict]:
    message_ = next(m for m in h.store.undelivered("teams")
                    if m.kind == kind and (recipient is None or m.recipient == recipient))
    rendered = h.logic.render_outbox(message_)
    return message_, cards_in(rendered)[0]


def test_mo_card_then_answer_reaches_the_asker_where_they_asked():
    h = Harness()
    _, _, conversation = escalate(h, base="message_channel_mention")
    [ticket] = h.store.list_tickets()
    notice, mo_card = outbox_card(h, "ticket_opened", MO)
    body = texts(mo_card)
    assert PARTY in body and "Alex Wilber" in body and "About the chair" in body
    assert "Member/Officer Relations Protocol (2026), clause 2.3" in body  # what the bot said
    send_answer = action(mo_card, "Send answer")["data"]
    mo_chat = {"conversationType": "personal", "id": "a:mo-personal-chat"}
    replies = h.send(submit(send_answer, user="29:mo-morgan", reply_to_id="mo-card",
                            conversation=mo_chat, **{cards.ANSWER_INPUT: "No: clause 2.3.",
                                                     cards.FAQ_TOGGLE: "false"}))
    assert f"{ticket.id} answered" in replies[0]["text"]
    assert h.store.get_ticket(ticket.id).status == "answered"
    answered, card = outbox_card(h, "ticket_answered")
    assert answered.recipient == f"teams:{PLAYGROUND_USER}"
    assert answered.reply_to["conversation"]["id"] == conversation["id"]  # the channel thread
    assert "No: clause 2.3." in texts(card) and PARTY in texts(card)
    # the MO's card now shows the outcome
    [updated] = h.updated
    assert updated["id"] == "mo-card" and "answered" in texts(cards_in(updated)[0])
    # answering twice is refused politely, not a second message to the asker
    again = h.send(submit(send_answer, user="29:mo-morgan", activity_id="again",
                          conversation=mo_chat, **{cards.ANSWER_INPUT: "Again"}))
    assert "cannot be answered" in again[0]["text"]
    assert len([m for m in h.store.undelivered("teams") if m.kind == "ticket_answered"]) == 1


def test_mo_assign_and_close_from_the_card():
    h = Harness()
    escalate(h)
    [ticket] = h.store.list_tickets()
    _, mo_card = outbox_card(h, "ticket_opened", MO)
    assign = action(mo_card, "Assign")["data"]
    replies = h.send(submit(assign, user="29:mo-morgan", **{cards.ASSIGNEE_INPUT: DEPUTY}))
    assert f"assigned to {DEPUTY}" in replies[0]["text"]
    assert h.store.get_ticket(ticket.id).assignee == DEPUTY
    _, assigned_card = outbox_card(h, "ticket_assigned", DEPUTY)
    assert "assigned to you" in texts(assigned_card)
    replies = h.send(submit(action(mo_card, "Close")["data"], user="29:deputy-dana",
                            activity_id="close-1"))
    assert "closed" in replies[0]["text"]
    assert h.store.get_ticket(ticket.id).status == "closed"


def test_non_mo_pressing_mo_actions_is_refused_and_logged():
    h = Harness()
    escalate(h)
    [ticket] = h.store.list_tickets()
    _, mo_card = outbox_card(h, "ticket_opened", MO)
    for title, extra in (("Send answer", {cards.ANSWER_INPUT: "I'll answer myself"}),
                         ("Assign", {cards.ASSIGNEE_INPUT: f"teams:{PLAYGROUND_USER}"}),
                         ("Close", {})):
        replies = h.send(submit(action(mo_card, title)["data"], activity_id=f"x-{title}",
                                **extra))
        assert "Only the monitoring officer or a deputy" in replies[0]["text"]
    assert h.store.get_ticket(ticket.id).status == "open"
    assert len(h.store.audit_entries()) >= 3
    assert "Only the monitoring officer" in h.send(message("tickets"))[0]["text"]


def test_mo_lists_waiting_tickets_in_personal_chat_only():
    h = Harness()
    escalate(h)
    replies = h.send(message("tickets", user="29:mo-morgan"))
    assert len(replies) == 1  # one card listing them, not one message each
    [listing] = cards_in(replies[0])
    assert "waiting" in texts(listing) and PARTY[:40] in texts(listing)
    [opened] = [a for a in actions(listing) if a["title"] == "Open"][:1]
    shown = only_card(h.send(submit(opened["data"], user="29:mo-morgan", activity_id="open-1")))
    assert PARTY in texts(shown) and "Send answer" in json.dumps(shown)
    channel = h.send(as_user(message("tickets", base="message_channel_mention"), "29:mo-morgan"))
    assert "private" in channel[0]["text"]


def test_answer_saved_as_faq_answers_the_next_asker(knowledge_copy):
    from protocol_bot.live import LiveKnowledge

    knowledge = LiveKnowledge(knowledge_copy)
    h = Harness(make_conversation(knowledge=knowledge, knowledge_dir=knowledge_copy))
    escalate(h, question=BINS)
    [ticket] = h.store.list_tickets()
    _, mo_card = outbox_card(h, "ticket_opened", MO)
    replies = h.send(submit(action(mo_card, "Send answer")["data"], user="29:mo-morgan",
                            **{cards.ANSWER_INPUT: "The recycling centre is not covered by the "
                               "protocol: it opens at 8am.", cards.FAQ_TOGGLE: "true",
                               cards.FAQ_QUESTIONS_INPUT: "When does the tip open?\n"}))
    assert "saved as an FAQ" in replies[0]["text"]
    card = only_card(h.send(message(BINS, activity_id="next-asker", user="29:other")))
    assert "it opens at 8am" in texts(card)
    assert ticket.id in texts(card) and wording.FAQ_GUIDANCE in texts(card)
    # the other ways people ask it, typed into the form, are the FAQ entry's questions
    [entry] = h.conversation.desk.faq_entries("teams:29:mo-morgan")
    assert entry.variants == ("When does the tip open?",)


def test_unknown_button_and_empty_escalation_are_handled():
    h = Harness()
    assert "don't know that button" in h.send(submit({"protocolBot": "nope"}))[0]["text"]
    assert "couldn't tell which question" in h.send(
        submit({"protocolBot": "confirm"}, activity_id="e2"))[0]["text"]


def test_whoami_tells_a_person_their_principal():
    h = Harness()
    reply = h.send(message("whoami"))[0]["text"]
    assert f"teams:{PLAYGROUND_USER}" in reply and "You are configured" not in reply
    assert "You are configured as a monitoring officer" in \
        h.send(message("whoami", user="29:mo-morgan"))[0]["text"]


def test_asking_for_the_monitoring_officer_opens_the_form_at_once():
    h = Harness()
    form = only_card(h.send(message("Please pass this to the monitoring officer: can I attend "
                                    "the officers' away day?")))
    assert [n for n in walk(form) if n.get("id") == cards.CONTEXT_INPUT]
    assert action(form, "Send question")["data"]["log"] is not None
