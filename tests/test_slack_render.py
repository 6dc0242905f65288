"""Block Kit rendering: escaping, Slack's limits, shortened passages, and what each message says."""

from __future__ import annotations

from protocol_bot import wording

import json

from adapters.slack import render
from adapters.slack.events import plain_text, unpack_value
from protocol_bot.excerpt import fit
from protocol_bot.conversation import Reply, offers, queued_ticket
from protocol_bot.models import Answer, Citation, Escalation
from protocol_bot.store import OutboxMessage
from tests.slack_fake import block_problems, view_problems

LONG = ("Officers must not be asked to undertake party-political work. " * 80).strip()


def citation(ref="2.3", text="Councillors must not ask them to undertake work of a party-political "
             "nature.", **kw) -> Citation:
    return Citation(document_id="mor-protocol-2026", document="Member/Officer Relations Protocol",
                    edition="2026", ref=ref, heading=kw.pop("heading", "Roles of Councillors"),
                    text=text, score=9.0, **kw)


def answer(*citations, answered=True, lead="Clause 2.3 says: no party-political work.",
           question="Can I ask an officer to help with party political work?", **kw) -> Answer:
    return Answer(question=question, answered=answered, lead=lead, citations=tuple(citations),
                  escalation=Escalation(offered=True, reason="" if answered else "not_found",
                                        prominent=not answered), **kw)


def all_text(blocks) -> str:
    return json.dumps(blocks)


def buttons(blocks) -> list[dict]:
    found = []
    for block in blocks:
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
    return found


def test_answer_quotes_each_citation_with_its_label_and_offers_next_steps():
    msg = render.answer_message(answer(citation(), citation("4.1", "Close personal relationships "
                                                            "can confuse roles.")), log_id=7)
    text = all_text(msg["blocks"])
    assert "Member/Officer Relations Protocol (2026), clause 2.3" in text
    assert "&gt; Councillors must not ask them to undertake work of a party-political nature." in text
    assert "clause 4.1" in text
    labels = [b["text"]["text"] for b in buttons(msg["blocks"])]
    assert labels == ["Helpful", "Not helpful", "Ask the monitoring officer"]
    value = unpack_value(buttons(msg["blocks"])[0]["value"])
    assert value == {"r": ["mor-protocol-2026#2.3", "mor-protocol-2026#4.1"], "l": 7}
    assert msg["text"].startswith("Clause 2.3 says")
    assert not block_problems(msg["blocks"], render.MESSAGE_BLOCKS)


def test_not_answered_says_so_and_leads_with_ask_the_monitoring_officer():
    msg = render.answer_message(answer(answered=False, lead="I couldn't find this in the protocol."))
    first, next_step, second = msg["blocks"][:3]
    assert first["text"]["text"] == "I couldn't find this in the protocol."
    assert next_step["text"]["text"] == render.escape(wording.DECLINED_NEXT)
    assert second["type"] == "actions"
    assert second["elements"][0]["text"]["text"] == "Ask the monitoring officer"
    assert second["elements"][0]["style"] == "primary"
    assert [b["text"]["text"] for b in buttons(msg["blocks"])] == ["Ask the monitoring officer"]
    assert "Ask the monitoring officer" in msg["text"]


def test_mrkdwn_is_escaped_so_nothing_can_ping_or_link():
    hostile = "<!channel> <!here|here> <!everyone> <@U0ASKER01> <https://evil.example|click> & co"
    msg = render.answer_message(answer(citation(text=hostile, heading="<!here>"), lead=hostile,
                                       question=hostile), shared_by="U0ASKER01")
    every_text = [msg["text"]] + [b["text"]["text"] for b in msg["blocks"] if "text" in b] + \
        [e["text"] for b in msg["blocks"] if b["type"] == "context" for e in b["elements"]]
    for text in every_text:
        stripped = text.replace("<@U0ASKER01>", "", 1) if "asked:" in text else text
        assert "<!" not in stripped and "<http" not in stripped and "<@" not in stripped, text
    assert "&lt;!channel&gt;" in msg["blocks"][1]["text"]["text"]
    assert "&amp; co" in msg["text"]


def test_slack_encoded_input_is_read_back_as_typed():
    assert plain_text("<@U0BOT0001> can I use &lt;b&gt; &amp; <!channel>?", drop_user="U0BOT0001") \
        == "can I use <b> & @channel?"
    assert plain_text("see <https://council.gov.uk/p|the protocol> in <#C0MEMBERS1|members>") \
        == "see the protocol in #members"
    # ...and escaped again on the way out: the round trip cannot make a broadcast.
    assert render.escape(plain_text("&lt;!channel&gt;")) == "&lt;!channel&gt;"


def test_long_passages_are_shortened_at_a_word_boundary_with_the_full_text_a_click_away():
    msg = render.answer_message(answer(citation(text=LONG)))
    block = msg["blocks"][2]
    quoted = block["text"]["text"].split("\n", 2)[2].removeprefix("&gt; ")
    assert quoted.endswith("...")
    kept = quoted.removesuffix("...")
    assert LONG.startswith(kept) and LONG[len(kept)] == " "  # cut between words
    assert len(quoted) <= render.PASSAGE_PREVIEW + render.PASSAGE_PREVIEW // 4
    assert block["accessory"]["text"]["text"] == "Show full text"
    assert unpack_value(block["accessory"]["value"])["k"] == "mor-protocol-2026#2.3"
    view = render.full_text_view("Member/Officer Relations Protocol", "clause 2.3", "Roles", LONG)
    assert not view_problems(view)
    joined = " ".join(b["text"]["text"].removeprefix("&gt; ") for b in view["blocks"][1:])
    assert joined == LONG


def test_shorten_never_cuts_a_word():
    assert render.shorten("one two three four", 12) == "one two..."
    assert render.shorten("short", 12) == "short"
    assert len(render.shorten("x" * 5000, 3000)) == 3000


def test_quoted_words_are_shortened_until_escaped_and_quoted_they_fit():
    said = "a < b & c > d " * 100
    quoted = fit(said, 300, render.quoted)
    assert len(quoted) <= 300 and quoted.startswith("&gt; a &lt; b &amp;") and quoted.endswith("...")
    assert fit("short", 300, render.quoted) == "&gt; short" and fit(said, 3, render.quoted) == ""


def test_slack_limits_hold_for_huge_answers():
    huge = "&<>" * 3000  # escaping triples its length
    many = [citation(str(i), huge, heading=huge) for i in range(60)]
    msg = render.answer_message(answer(*many, lead=huge, question="q" * 5000,
                                       notices=tuple([huge] * 5)), log_id=1, shareable=True)
    assert not block_problems(msg["blocks"], render.MESSAGE_BLOCKS)
    assert len(msg["blocks"]) <= 50
    assert [b["action_id"] for b in msg["blocks"][-1]["elements"]] == \
        [render.HELPFUL, render.NOT_HELPFUL, render.ESCALATE, render.SHARE]
    for b in buttons(msg["blocks"]):
        assert len(b["value"]) <= 2000
    assert all(len(b["text"]["text"]) <= 3000 for b in msg["blocks"] if b["type"] == "section")
    assert msg["text"] and len(msg["text"]) <= render.TEXT_LIMIT
    for view in (render.escalate_view("q" * 5000, "{}"),
                 render.answer_view("MO-0001", huge, "{}"),
                 render.full_text_view(huge, huge, huge, huge)):
        assert not view_problems(view)


def test_shareable_answer_has_a_share_button():
    msg = render.answer_message(answer(citation()), shareable=True)
    share = [b for b in buttons(msg["blocks"]) if b["action_id"] == render.SHARE]
    assert share and unpack_value(share[0]["value"])["q"].startswith("Can I ask")


def test_help_gives_three_example_questions_and_plain_text():
    msg = render.help_message()
    body = msg["blocks"][0]["text"]["text"]
    assert sum(q in body for q in wording.EXAMPLE_QUESTIONS) == 3
    assert render.escape(wording.HELP_HOW) in body
    assert msg["text"]


def test_ticket_card_shows_question_asker_refs_and_the_three_actions():
    ticket = queued_ticket(OutboxMessage(
        1, "slack", "slack:U0MO", {}, "ticket_opened", "MO-0042",
        {"question": "Can I <!channel>?", "context": "About the leaflet",
         "asker": {"platform": "slack", "user_id": "U0ASKER01", "display_name": "Sam Jones"}},
        0, 0.0, None, None))
    card = render.ticket_card(Reply("ticket_card", ticket=ticket, offers=offers(ticket.status),
                                    cited=("mor-protocol-2026#2.3",)))
    text = "\n".join(b["text"]["text"] if b["type"] == "section" else b["elements"][0]["text"]
                     for b in card["blocks"] if b["type"] in ("section", "context"))
    assert "*MO-0042: a question for the monitoring officer*" in text
    assert "*Asked by:* <@U0ASKER01> (Sam Jones) \u00b7 *Status:* open" in text
    assert "&lt;!channel&gt;" in text and "About the leaflet" in text and "2.3" in text
    assert [b["text"]["text"] for b in buttons(card["blocks"])] == ["Assign", "Answer", "Close",
                                                                   "FAQ answers"]
    assert card["text"].startswith("MO-0042")


def test_home_views_for_the_mo_and_for_everyone_else():
    everyone = render.home_view(None)
    assert "For example" in all_text(everyone["blocks"])
    empty = render.home_view([])
    assert wording.NO_TICKETS_WAITING in all_text(empty["blocks"])
    assert not view_problems(everyone) and not view_problems(empty)
