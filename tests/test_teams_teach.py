"""Issue 12 in Teams: "This answers it" on the MO's ticket card teaches the bot a declined
question; the FAQ answers and Withdraw FAQ answer are on the card too (botbuilder TestAdapter)."""

from __future__ import annotations

from adapters.teams import cards
from tests.test_teams_bot import Harness, escalate, only_card, outbox_card
from tests.test_teams_support import MO, cards_in, make_conversation, message, submit, texts, walk

WEEKEND = "can I phone an officer at home late in the evening?"
RIGHT_CLAUSE = "mor-protocol-2026#3.2"
MO_CHAT = {"conversationType": "personal", "id": "a:mo-personal-chat"}


def submits(card: dict, verb: str) -> list[dict]:
    return [n for n in walk(card) if n.get("type") == "Action.Submit"
            and (n.get("data") or {}).get(cards.VERB) == verb]


def test_this_answers_it_in_teams_teaches_a_declined_question(knowledge_copy):
    h = Harness(make_conversation(knowledge_dir=knowledge_copy))
    declined = only_card(h.send(message(WEEKEND)))
    assert "couldn't find" in texts(declined).lower()
    escalate(h, question=WEEKEND)
    [ticket] = h.store.list_tickets()
    _, mo_card = outbox_card(h, "ticket_opened", MO)
    teach = submits(mo_card, cards.MO_TEACH)
    assert teach and {a["title"] for a in teach} == {"This answers it"}
    assert all(WEEKEND not in str(a["data"]) for a in teach)  # ids only, never the text
    right = next(a for a in teach if a["data"][cards.PASSAGE_KEY] == RIGHT_CLAUSE)
    assert "Member/Officer Relations Protocol (2026), clause 3.2" in texts(mo_card)

    refused = h.send(submit(right["data"], activity_id="not-mo"))  # the asker, not an MO
    assert "Only the monitoring officer" in refused[0]["text"]
    assert h.store.taught_questions() == []

    replies = h.send(submit(right["data"], user="29:mo-morgan", reply_to_id="mo-card",
                            activity_id="teach-1", conversation=MO_CHAT))
    said = cards_in(replies[0])[0]
    assert "Taught" in texts(said) and "clause 3.2" in texts(said)
    [undo] = submits(said, cards.MO_UNTEACH)
    [taught] = h.store.taught_questions()
    assert (taught.question, taught.passage_key, taught.taught_by) == (
        WEEKEND, RIGHT_CLAUSE, MO)

    answer = only_card(h.send(message(WEEKEND)))
    assert "Member/Officer Relations Protocol (2026), clause 3.2" in texts(answer)
    assert h.conversation.knowledge.ask(WEEKEND).citations[0].ref == "3.2"

    replies = h.send(submit(undo["data"], user="29:mo-morgan", activity_id="undo-1",
                            conversation=MO_CHAT))
    assert "no longer" in replies[0]["text"]
    assert not h.conversation.knowledge.ask(WEEKEND).answered
    assert ticket.status == "open"


def test_faq_answers_and_withdraw_on_the_teams_ticket_card(knowledge_copy):
    h = Harness(make_conversation(knowledge_dir=knowledge_copy))
    escalate(h)
    [ticket] = h.store.list_tickets()
    _, mo_card = outbox_card(h, "ticket_opened", MO)
    [faq_list] = submits(mo_card, cards.MO_FAQ_LIST)
    assert submits(mo_card, cards.MO_FAQ_WITHDRAW) == []  # no FAQ answer yet
    send = next(n for n in walk(mo_card) if n.get("type") == "Action.Submit"
                and n["data"].get(cards.VERB) == cards.MO_ANSWER)
    replies = h.send(submit(send["data"], user="29:mo-morgan", reply_to_id="mo-card",
                            activity_id="answer-1", conversation=MO_CHAT,
                            **{cards.ANSWER_INPUT: "Dear Alex, no: clause 2.3.",
                               cards.FAQ_TOGGLE: "true",
                               cards.FAQ_TEXT_INPUT: "No: officers do no party-political work."}))
    assert "saved as an FAQ" in replies[0]["text"]
    [entry] = h.store.faq_entries()  # the public text, apart from the reply to the asker
    assert entry.text == "No: officers do no party-political work."
    assert h.store.get_ticket(ticket.id).answer == "Dear Alex, no: clause 2.3."
    summary = cards_in(h.updated[0])[0]
    [withdraw] = submits(summary, cards.MO_FAQ_WITHDRAW)

    listed = h.send(submit(faq_list["data"], user="29:mo-morgan", activity_id="list-1",
                           conversation=MO_CHAT))
    assert ticket.id in listed[0]["text"] and "live" in listed[0]["text"]
    replies = h.send(submit(withdraw["data"], user="29:mo-morgan", reply_to_id="summary",
                            activity_id="withdraw-1", conversation=MO_CHAT))
    assert "withdrawn" in replies[0]["text"]
    assert h.store.faq_entries() == []
    assert not [c for c in h.conversation.knowledge.ask(
        "Can I ask an officer to help with party political work?").citations
        if c.document_id == "mo-faq"]
