"""Every use case once, through `Conversation.handle`, on a real store: SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from protocol_bot import wording
from protocol_bot.conversation import AnswerView, Incoming, Place, TicketView
from protocol_bot.models import Asker
from tests.conversation_support import make_conversation

PARTY = "Can I ask an officer to help with party political work?"
MO = Asker("teams", "29:mo", "Morgan")
DEPUTY = Asker("slack", "UDEPUTY", "Dana")
CLLR = Asker("slack", "UCLLR", "Cllr Jones")
CHANNEL = Place(conversation="C1", thread="1.1", reference={"channel": "C1", "thread_ts": "1.1"})
PRIVATE = Place(conversation="D1", is_private=True, reference={"channel": "D1"})


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


_STORES = None  # this test's store_factory (see the autouse fixture below)


@pytest.fixture(autouse=True)
def _stores(store_factory):
    global _STORES
    _STORES = store_factory
    yield
    _STORES = None


def bot(clock=None):
    return make_conversation(mos=(MO.principal, DEPUTY.principal, "cli:mo"),
                             store=_STORES.make(clock=clock))


def said(conversation, asker=CLLR, place=CHANNEL, **kw):
    return conversation.handle(Incoming(asker=asker, place=place, **kw))


def test_a_question_is_answered_with_citations_and_logged_once_per_event():
    c = bot()
    [reply] = said(c, text=PARTY, event_key="slack:event:E1")
    assert reply.kind == "answer" and reply.answer.answered
    assert reply.answer.citations[0].ref == "2.3" and reply.log_id is not None
    assert said(c, text=PARTY, event_key="slack:event:E1") == []  # a redelivery acts once
    assert [q.question for q in c.desk.store.logged_questions()] == [PARTY]


def test_help_whoami_and_a_decline_use_the_shared_words():
    c = bot()
    assert [r.kind for r in said(c, text="help")] == ["help"]
    [who] = said(c, asker=MO, text="whoami")
    assert who.text == wording.whoami(MO.principal, True)
    [declined] = said(c, text="What time does the recycling centre open?")
    assert declined.kind == "answer" and not declined.answer.answered


def test_feedback_counts_once_per_person_and_answer():
    c = bot()
    data = {"key": "C1:1.1", "question": PARTY, "refs": ["mor-protocol-2026#2.3"]}
    [first] = said(c, action="helpful", data=data)
    [again] = said(c, action="not_helpful", data=data)
    assert (first.text, again.text) == (wording.THANKS_HELPFUL, wording.ALREADY_RATED)
    [other] = said(c, asker=DEPUTY, action="not_helpful", data=data)
    assert other.text == wording.THANKS_NOT_HELPFUL
    assert [f.helpful for f in c.desk.store.feedback_entries()] == [True, False]


def test_escalation_opens_one_ticket_per_key_and_queues_each_mo_notice():
    c = bot()
    data = {"question": PARTY, "context": "for my newsletter", "key": "k1",
            "refs": ["mor-protocol-2026#2.3"]}
    [opened] = said(c, action="escalate", data=data)
    [again] = said(c, action="escalate", data=data)
    assert opened.kind == "ticket_opened" and opened.created and not again.created
    assert opened.ticket.id == again.ticket.id == "MO-0001"
    assert opened.ticket.reply_to == {"channel": "C1", "thread_ts": "1.1"}
    notices = c.deliveries.undelivered()
    assert sorted(m.recipient for m in notices) == [DEPUTY.principal, MO.principal]
    assert notices[0].body["cited"] == [
        "Member/Officer Relations Protocol (2026), clause 2.3"]


def test_asking_for_the_mo_offers_the_form_or_says_the_question_is_lost():
    c = bot()
    [answer] = said(c, text=PARTY)
    [form] = said(c, action="escalate_form", data={"log": answer.log_id, "refs": ["a#1"]})
    assert (form.kind, form.text, form.cited, form.log_id) == (
        "escalate_form", PARTY, ("a#1",), answer.log_id)
    [lost] = said(c, action="escalate_form", data={"log": 999})
    assert (lost.kind, lost.text) == ("text", wording.NO_QUESTION)  # said, not an empty form
    [typed] = said(c, text="Please pass this to the monitoring officer")
    assert typed.kind == "escalate_form" and typed.answer is not None and typed.log_id


def test_only_monitoring_officers_see_and_act_on_tickets_and_only_in_private():
    c = bot()
    said(c, action="escalate", data={"question": PARTY, "key": "k1"})
    [refused] = said(c, action="close", data={"ticket": "MO-0001"})
    assert refused.kind == "refused" and CLLR.principal in refused.text
    [in_channel] = said(c, asker=MO, text="tickets")
    assert in_channel.text == wording.TICKETS_PRIVATE
    [listing] = said(c, asker=MO, place=PRIVATE, text="tickets")
    assert listing.kind == "ticket_list" and [i.ticket.id for i in listing.items] == ["MO-0001"]
    assert listing.items[0].choices == (MO.principal,)  # assignable from Teams
    assert c.desk.store.get_ticket("MO-0001").status == "open"


def test_mo_actions_move_the_ticket_and_the_answer_is_queued_for_the_asker():
    clock = Clock()
    c = bot(clock)
    said(c, action="escalate", data={"question": PARTY, "key": "k1"})
    [form] = said(c, asker=MO, action="answer_form", data={"ticket": "MO-0001"})
    assert form.kind == "ticket_card" and form.offers == ("assign", "answer", "close", "faq_list")
    told, card = said(c, asker=MO, action="assign", data={"ticket": "MO-0001",
                                                          "to": DEPUTY.principal})
    assert told.text == wording.ticket_done("assign", "MO-0001", assignee=DEPUTY.principal)
    assert card.kind == "ticket_card" and card.replaces_clicked and card.by == MO.principal
    # the clicked card's status line, each platform naming the people
    assert TicketView.of(card).status_line(lambda p: p.upper()) == (
        f"Assigned to {DEPUTY.principal.upper()} by {MO.principal.upper()}.")
    clock.now += 60
    told, card = said(c, asker=DEPUTY, action="answer",
                      data={"ticket": "MO-0001", "text": "No: see clause 2.3."})
    assert card.ticket.status == "answered" and "Cllr Jones" in told.text
    assert card.offers == ("close", "faq_list")
    [answer] = [m for m in c.deliveries.undelivered() if m.kind == "ticket_answered"]
    assert answer.recipient == CLLR.principal and answer.body["answer"] == "No: see clause 2.3."
    [error] = said(c, asker=MO, action="answer", data={"ticket": "MO-0001", "text": "Again"})
    assert error.kind == "error" and "Reopen" in error.text
    [refused] = said(c, asker=MO, action="answer_form", data={"ticket": "MO-0001"})
    assert refused.text == wording.not_answerable("MO-0001", "answered")
    said(c, asker=MO, action="reopen", data={"ticket": "MO-0001"})
    told, card = said(c, asker=MO, action="close", data={"ticket": "MO-0001"})
    assert card.ticket.status == "closed" and card.offers == ("faq_list",)  # teaching: always
    assert [e["event"] for e in card.ticket.events] == ["opened", "assigned", "answered",
                                                        "reopened", "closed"]
    [missing] = said(c, asker=MO, action="close", data={"ticket": "MO-0099"})
    assert missing.kind == "error" and "MO-0099" in missing.text


def test_what_an_answer_shows_is_decided_once_for_both_platforms():
    c = bot()
    [answered] = said(c, text=PARTY)
    view = AnswerView.of(answered.answer)
    assert view.lead.startswith("Member/Officer Relations Protocol (2026), clause 2.3")
    assert view.feedback and not view.next_step and view.citations
    assert view.actions == ("helpful", "not_helpful", "escalate")  # the buttons, in order
    [declined] = said(c, text="What time does the recycling centre open?")
    view = AnswerView.of(declined.answer)
    assert view.next_step == wording.DECLINED_NEXT and view.ask_mo_first
    assert not view.feedback and not view.citations and view.actions == ("escalate",)
    assert view.summary.splitlines() == [view.lead, wording.DECLINED_NEXT,
                                         f"Not what you needed? {wording.ASK_MO}."]
    [sensitive] = said(c, text="An officer wants to raise a grievance about a councillor")
    assert AnswerView.of(sensitive.answer).notes[0] == wording.SENSITIVE


def test_queued_messages_become_replies_for_every_platform_to_render():
    c = bot()
    said(c, action="escalate", data={"question": PARTY, "key": "k1", "context": "newsletter",
                                     "refs": ["mor-protocol-2026#2.3"]})
    said(c, asker=MO, place=PRIVATE, action="assign", data={"ticket": "MO-0001",
                                                            "to": DEPUTY.principal})
    said(c, asker=DEPUTY, action="answer", data={"ticket": "MO-0001", "text": "No."})
    c.desk.notify_mos("The knowledge base was updated.")
    queued = {(m.kind, m.recipient): c.queued_reply(m) for m in c.deliveries.undelivered()}
    opened = queued["ticket_opened", MO.principal]
    assert opened.kind == "ticket_card" and opened.ticket.id == "MO-0001"
    assert TicketView.of(opened).headline(str) == "MO-0001: a question for the monitoring officer"
    assert opened.ticket.asker == CLLR and opened.ticket.context == "newsletter"
    assert opened.cited == ("Member/Officer Relations Protocol (2026), clause 2.3",)
    assert opened.choices == (MO.principal,) and opened.considered
    assigned = queued["ticket_assigned", DEPUTY.principal]
    assert assigned.ticket.status == "assigned" and assigned.by == MO.principal
    assert assigned.choices == (DEPUTY.principal,)  # assignable from Slack
    # one decision for every platform: a queued card's headline names who assigned it, and
    # only the card clicked has a status line
    view = TicketView.of(assigned)
    assert view.headline(str) == f"MO-0001 was assigned to you by {MO.principal}"
    assert view.status(str) == f"assigned to {DEPUTY.principal}" and view.status_line(str) == ""
    answered = queued["ticket_answered", CLLR.principal]
    assert answered.kind == "ticket_answered" and answered.ticket.answer == "No."
    assert answered.by == DEPUTY.principal and answered.ticket.question == PARTY
    assert queued["notice", MO.principal].text == "The knowledge base was updated."


def test_a_private_chat_is_remembered_so_the_person_can_be_reached_later():
    c = bot()
    assert c.reachable_mos()[MO.principal] is False
    said(c, asker=MO, place=PRIVATE, action="hello")
    assert c.reachable_mos()[MO.principal] is True
    assert c.desk.store.get_reference(MO.principal) == {"channel": "D1"}


def test_a_cited_passage_is_shown_in_full_or_said_to_be_gone():
    c = bot()
    [passage] = said(c, action="passage", data={"key": "mor-protocol-2026#2.3"})
    assert passage.citation.label() == "Member/Officer Relations Protocol (2026), clause 2.3"
    [gone] = said(c, action="passage", data={"key": "mor-protocol-2026#9.9"})
    assert gone.text == wording.PASSAGE_GONE


def test_a_failure_inside_is_a_plain_message_not_a_traceback():
    c = bot()

    def broken(question):
        raise RuntimeError("index exploded")

    c.knowledge.ask = broken
    try:
        [reply] = said(c, text=PARTY)
    finally:
        del c.knowledge.ask
    assert reply.text == wording.TROUBLE
