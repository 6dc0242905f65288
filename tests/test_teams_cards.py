"""Adaptive Cards for Teams: pure functions, checked as Teams would render them."""

from __future__ import annotations

from protocol_bot import wording

import json

from adapters.teams import cards
from protocol_bot.conversation import AnswerView, Reply, offers
from protocol_bot.excerpt import first_words
from protocol_bot.models import Asker, Ticket
from tests.test_teams_support import action, actions, answer, citation, texts, walk

LONG = " ".join(f"word{i}" for i in range(150)) + " [Waltham Forest](https://example.org/wf) end."


def ticket_reply(question: str, *, ticket_id: str = "MO-0001", asker=("teams", "u", ""),
                 context: str = "", cited=(), choices=(), answer: str | None = None,
                 kind: str = "ticket_card") -> Reply:
    ticket = Ticket(ticket_id, Asker(*asker), {}, question, context, (), "open", None, answer,
                    "", "", "")
    return Reply(kind, ticket=ticket, cited=tuple(cited), choices=tuple(choices),
                 offers=offers(ticket.status))


def card_problems(card: dict) -> list[str]:
    """What Teams would refuse or show wrongly: the wrong schema, unknown or Execute actions,
    duplicate ids, toggles pointing at nothing, a message over Teams' 28 KB."""
    problems = []
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.5":
        problems.append("not an Adaptive Card 1.5")
    ids = [n["id"] for n in walk(card) if isinstance(n.get("id"), str)]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate ids {ids}")
    allowed = {"Action.Submit", "Action.ShowCard", "Action.ToggleVisibility", "Action.OpenUrl"}
    for act in actions(card):
        if act["type"] not in allowed:
            problems.append(f"{act['type']} (Teams bots on botbuilder 4.17 must use Submit)")
        if act["type"] == "Action.ToggleVisibility":
            missing = [t for t in act["targetElements"] if t not in ids]
            if missing:
                problems.append(f"toggle targets {missing} do not exist")
        if act["type"] == "Action.Submit" and "key" in act.get("data", {}):
            problems.append("submit data must not use the field 'key' (the Playground breaks)")
    if len(json.dumps(card)) > 28_000:
        problems.append("over 28 KB")
    return problems


def test_answer_card_has_lead_citation_and_buttons():
    card = cards.answer_card(answer(), key="teams:c:1", log_id=7)
    assert card_problems(card) == []
    assert card["$schema"].startswith("http://adaptivecards.io")
    body = texts(card)
    assert "clause 2.3" in body.split("\n")[0]  # the lead comes first
    assert "Member/Officer Relations Protocol (2026), clause 2.3" in body
    assert "Roles of Councillors and Officers" in body
    assert "party-political nature" in body
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["Helpful", "Not helpful", "Ask the monitoring officer"]
    data = action(card, "Ask the monitoring officer")["data"]
    # The question travels as its log id, never as text.
    assert data == {"protocolBot": "escalate", "qkey": "teams:c:1",
                    "refs": ["mor-protocol-2026#2.3"], "log": 7}
    assert action(card, "Helpful")["data"]["helpful"] is True
    assert action(card, "Not helpful")["data"]["helpful"] is False
    assert "fallbackText" in card


def test_not_answered_says_so_plainly_and_leads_with_the_monitoring_officer():
    card = cards.answer_card(answer(answered=False, citations=[]), key="k")
    assert card_problems(card) == []
    first = card["body"][0]["text"]
    assert first == answer(answered=False, citations=[]).lead or first == wording.DECLINED
    assert card["actions"][0]["title"] == "Ask the monitoring officer"
    assert card["actions"][0]["style"] == "positive"
    assert [a["title"] for a in card["actions"]] == ["Ask the monitoring officer"]


def test_sensitive_question_not_answered_still_shows_passages_and_suggests_privacy():
    grievance = citation("5.2", "An Officer may have recourse to the grievance policy.")
    a = answer(answered=False, sensitive=True, citations=[grievance])
    card = cards.answer_card(a, key="k")
    body = texts(card)
    assert "speak to the monitoring officer privately" in body
    assert "grievance policy" in body
    assert card["actions"][0]["title"] == "Ask the monitoring officer"
    assert {"Helpful", "Not helpful"} <= {a["title"] for a in card["actions"]}


def test_notices_and_truncation_are_shown_once():
    long = "Your question was long: I answered from its first 2000 characters."
    a = answer(notices=(long, "The protocol's review date (March 2021) has passed."),
               truncated=True)
    body = texts(cards.answer_card(a, key="k"))
    assert "review date (March 2021) has passed" in body
    assert body.count("first 2000 characters") == 1


def test_long_passage_is_shortened_at_a_word_with_show_more_toggle():
    card = cards.answer_card(answer(citations=[citation(text=LONG)]), key="k")
    assert card_problems(card) == []
    short = next(n for n in walk(card) if n.get("id") == "c0-short")
    full = next(n for n in walk(card) if n.get("id") == "c0-full")
    short_text = short["items"][0]["text"]
    assert short_text.endswith(" \u2026")  # says it was cut
    kept = short_text[:-2].split()
    assert kept == LONG.split()[:len(kept)]  # whole words only, in order
    assert len(kept) == cards.SHORT_WORDS
    assert full["isVisible"] is False and full["items"][0]["text"] == LONG
    more = action(card, "Show more")
    assert more["type"] == "Action.ToggleVisibility"
    assert set(more["targetElements"]) == {"c0-short", "c0-full", "c0-more", "c0-less"}
    assert action(card, "Show less")["targetElements"] == more["targetElements"]


def test_short_passage_is_whole_with_no_toggle():
    card = cards.answer_card(answer(), key="k")
    assert not [a for a in actions(card) if a["type"] == "Action.ToggleVisibility"]


def test_shortening_never_leaves_half_a_link():
    text = " ".join(["w"] * 79) + " [Local Government Association](https://www.local.gov.uk) " + \
        " ".join(["x"] * 60)
    short, cut = first_words(text, cards.SHORT_WORDS, cards.LONG_WORDS)
    assert cut and "[" not in short and short.endswith("\u2026")


def test_three_citations_each_get_their_own_toggle_ids():
    cits = [citation(ref=str(i), text=LONG) for i in range(3)]
    card = cards.answer_card(answer(citations=cits), key="k")
    assert card_problems(card) == []
    assert len([a for a in actions(card) if a.get("title") == "Show more"]) == 3


def test_summary_is_plain_text_with_sources():
    summary = AnswerView.of(answer()).summary  # the core's plain text, as Teams sends it
    assert summary.startswith("Member/Officer Relations Protocol (2026), clause 2.3")
    assert "Sources: Member/Officer Relations Protocol (2026), clause 2.3 (Roles of" in summary
    assert "Ask the monitoring officer" in summary
    msg = cards.answer_message(answer(), key="k")
    assert msg["summary"] == summary
    assert msg["attachments"][0]["contentType"] == cards.CONTENT_TYPE


def test_escalate_form_has_context_input_and_confirm_with_the_same_key():
    msg = cards.escalate_form("Q?", key="teams:c:1", refs=["2.3"], log_id=3)
    card = msg["attachments"][0]["content"]
    assert card_problems(card) == []
    inputs = [n for n in walk(card) if n.get("type") == "Input.Text"]
    assert inputs[0]["id"] == cards.CONTEXT_INPUT and inputs[0]["isMultiline"]
    confirm = action(card, "Send question")
    assert confirm["data"]["protocolBot"] == "confirm"
    assert confirm["data"]["qkey"] == "teams:c:1"
    assert msg["summary"]


def test_mo_card_shows_question_asker_bot_answer_and_actions():
    card = cards.mo_ticket_card(ticket_reply(
        "Can I ...?", ticket_id="MO-0007", asker=("teams", "29:abc", "Cllr Jones"),
        context="About Tuesday", cited=["Member/Officer Relations Protocol (2026), clause 2.3"],
        choices=["teams:29:mo", "teams:29:dep"]), actor="teams:29:mo")
    assert card_problems(card) == []
    body = texts(card)
    assert "Can I ...?" in body and "About Tuesday" in body
    assert "clause 2.3" in body
    facts = {f["title"]: f["value"] for n in walk(card) if n.get("type") == "FactSet"
             for f in n["facts"]}
    assert facts["Asked by"] == "Cllr Jones (teams:29:abc)"
    answer_show = action(card, "Answer")
    assert answer_show["type"] == "Action.ShowCard"
    ids = {n.get("id") for n in walk(answer_show["card"])}
    assert {cards.ANSWER_INPUT, cards.FAQ_TOGGLE} <= ids
    assert action(card, "Send answer")["data"] == {"protocolBot": "mo_answer", "ticket": "MO-0007"}
    assign = next(n for n in walk(card) if n.get("id") == cards.ASSIGNEE_INPUT)
    assert [c["value"] for c in assign["choices"]] == ["teams:29:mo", "teams:29:dep"]
    assert action(card, "Close")["data"] == {"protocolBot": "mo_close", "ticket": "MO-0007"}


def test_mo_card_says_when_the_bot_could_not_answer():
    card = cards.mo_ticket_card(ticket_reply("Bins?"))
    assert "could not answer this from the protocol" in texts(card)


def test_welcome_has_three_example_questions_that_ask_them():
    msg = cards.welcome_message()
    card = msg["attachments"][0]["content"]
    assert card_problems(card) == []
    examples = [a for a in actions(card) if a["data"].get("protocolBot") == "ask"]
    assert len(examples) == 3
    assert [a["data"]["question"] for a in examples] == list(wording.EXAMPLE_QUESTIONS)
    assert "help" in texts(card)
    assert msg["summary"]


def test_answered_message_for_the_asker():
    msg = cards.ticket_answered_message(ticket_reply("Q?", ticket_id="MO-0003",
                                                     answer="Yes, you may.",
                                                     kind="ticket_answered"))
    card = msg["attachments"][0]["content"]
    assert card_problems(card) == []
    assert "Yes, you may." in texts(card) and "MO-0003" in texts(card)
    assert "Yes, you may." in msg["summary"]


def test_every_answer_card_fits_teams_size_limit_whatever_was_typed():
    emoji = "\U0001F600" * 2000
    welsh = ("A allaf ofyn i swyddog fy helpu gyda gwaith gwleidyddol pleidiol? " * 60)
    for question in (emoji, welsh):
        big = citation(text=("Swyddogion \u00e2\u00ea\u00ee\u00f4 " * 400))
        message = cards.answer_message(answer(citations=[big, big, big], question=question),
                                       key="teams:c:1", log_id=None, echo_question=True)
        assert cards.size_of(message) <= cards.ACTIVITY_BUDGET < 28 * 1024
        assert "qkey" in json.dumps(message)  # still an answer card with its buttons


def test_what_a_person_typed_cannot_become_a_link_or_formatting():
    typed = "[click me](http://evil.example) **URGENT** # heading"
    card = cards.mo_ticket_card(ticket_reply(typed, asker=("teams", "u", "_x_"), context=typed))
    shown = texts(card)
    assert "[click me](" not in shown and "**URGENT**" not in shown
    assert "\\[click me\\](http://evil.example) \\*\\*URGENT\\*\\*" in shown
