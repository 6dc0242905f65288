"""Answers, tickets and help as Adaptive Cards: pure functions from plain values to card dicts.

Cards use schema 1.5 (what Teams renders) and only `Action.Submit`, `Action.ShowCard` and
`Action.ToggleVisibility`: botbuilder 4.17 answers the invoke activities of `Action.Execute`
with HTTP 500, and Submit works in every Teams client and in the Agents Playground.

Every button's data carries `protocolBot` (what was pressed) and what the bot needs to act on it
without keeping state between turns: the question, its idempotency key, the refs cited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from protocol_bot import wording
from protocol_bot.conversation import ANSWER_LIMIT, AnswerView, Reply, TicketView
from protocol_bot.excerpt import first_words
from protocol_bot.models import Answer, Asker, Citation, Ticket

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"

# What a button asks for: the `protocolBot` field of its submit data.
VERB = "protocolBot"
ASK = "ask"  # a welcome-card example question
ESCALATE = "escalate"  # "Ask the monitoring officer" on an answer: opens the context form
CONFIRM = "confirm"  # the form's "Send to the monitoring officer": opens the ticket
FEEDBACK = "feedback"  # Helpful / Not helpful
MO_ASSIGN = "mo_assign"
MO_ANSWER = "mo_answer"
MO_CLOSE = "mo_close"
MO_SHOW = "mo_show"  # a ticket in the list: its full card, to act on
MO_TEACH = "mo_teach"  # "This answers it" on a passage the bot considered
MO_UNTEACH = "mo_untaught"  # Undo a taught question
MO_FAQ_LIST = "mo_faq_list"
MO_FAQ_WITHDRAW = "mo_faq_withdraw"
PASSAGE_KEY = "passage"  # a passage's 'document_id#ref' in submit data (not "key": see below)

# The question's idempotency key in submit data. Not "key": the Agents Playground's card
# renderer fails on a data field called "key" (it assigns to it).
KEY_FIELD = "qkey"

# Input ids (Teams puts each input's value into the submit data under its id).
CONTEXT_INPUT = "context"
ANSWER_INPUT = "answer"
FAQ_TOGGLE = "save_faq"
FAQ_QUESTIONS_INPUT = "faq_questions"
FAQ_TEXT_INPUT = "faq_text"
ASSIGNEE_INPUT = "assignee"

ASK_MO = wording.ASK_MO

# A passage longer than LONG_WORDS is shown as its first SHORT_WORDS words with "Show more".
LONG_WORDS = 110
SHORT_WORDS = 80
QUESTION_DATA_LIMIT = 500  # only when the question could not be logged (buttons carry its id)
SUMMARY_LIMIT = 3000
# Teams refuses an activity over 28 KB (as sent: JSON with non-ASCII escaped as \uXXXX).
ACTIVITY_BUDGET = 26_000
_MARKDOWN = re.compile(r"([\\`*_\[\]#>~|<])")


def literal(value: str) -> str:
    """What a person typed, shown as typed: markdown characters escaped, so no link,
    emphasis or heading can be put into a card (the MO's private ticket card included)."""
    return _MARKDOWN.sub(r"\\\1", value or "")


def size_of(activity: dict) -> int:
    """The activity's size as the Bot Connector receives it."""
    return len(json.dumps(activity).encode("utf-8"))


# --- building blocks ---------------------------------------------------------------------------

def card(body: list[dict], actions: Sequence[dict] = (), *, fallback: str = "") -> dict:
    content = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        content["actions"] = list(actions)
    if fallback:
        content["fallbackText"] = fallback[:SUMMARY_LIMIT]
    return content


def message(content: dict, summary: str) -> dict:
    """A Bot Framework message activity carrying one card and its plain-text summary."""
    return {"type": "message", "summary": summary[:SUMMARY_LIMIT],
            "attachments": [{"contentType": CONTENT_TYPE, "content": content}]}


def text_message(text: str) -> dict:
    return {"type": "message", "text": text, "textFormat": "markdown"}


def text(value: str, **style) -> dict:
    block = {"type": "TextBlock", "text": value, "wrap": True}
    block.update(style)
    return block


def submit(title: str, verb: str, style: str | None = None, **data) -> dict:
    action = {"type": "Action.Submit", "title": title, "data": {VERB: verb, **data}}
    if style:
        action["style"] = style
    return action


def quote(value: str, **style) -> dict:
    """A passage or question set apart, in the source's own words."""
    return {"type": "Container", "style": "emphasis", "items": [text(value, **style)]}


def title(value: str) -> dict:
    return text(value, weight="Bolder", size="Medium")


def question_data(key: str, refs: Sequence[str], log_id: int | None, question: str) -> dict:
    """What a button about a question carries: the question log's id, never the question
    (whatever its length), unless it could not be logged."""
    return {KEY_FIELD: key, "refs": list(refs), "log": log_id,
            **({} if log_id is not None else {"question": question[:QUESTION_DATA_LIMIT]})}


def citation_block(citation: Citation, index: int, keep_words: int = SHORT_WORDS,
                   toggle_full: bool = True) -> list[dict]:
    """Label (document, edition, ref), heading, and the passage, with a toggle when long
    (or, to fit Teams' size limit, only its first `keep_words` words)."""
    items = [text(citation.label(), weight="Bolder", spacing="Medium", separator=True)]
    if citation.subheading:
        items.append(text(citation.subheading, isSubtle=True, spacing="None"))
    if AnswerView.cited_as(citation):
        items.append(text(AnswerView.cited_as(citation), isSubtle=True, spacing="None"))
    short, shortened = first_words(citation.text, keep_words, max(keep_words, 1) + 30)
    if not shortened:
        items.append(quote(citation.text))
        return items
    if not toggle_full:
        items.append(quote(short))
        return items
    ids = [f"c{index}-short", f"c{index}-full", f"c{index}-more", f"c{index}-less"]
    items.append({"type": "Container", "id": ids[0], "style": "emphasis",
                  "items": [text(short)]})
    items.append({"type": "Container", "id": ids[1], "style": "emphasis", "isVisible": False,
                  "items": [text(citation.text)]})
    toggle = {"type": "Action.ToggleVisibility", "targetElements": ids}
    items.append({"type": "ActionSet", "id": ids[2],
                  "actions": [{**toggle, "title": "Show more"}]})
    items.append({"type": "ActionSet", "id": ids[3], "isVisible": False,
                  "actions": [{**toggle, "title": "Show less"}]})
    return items


# --- answers -----------------------------------------------------------------------------------

def answer_card(answer: Answer, *, key: str, log_id: int | None = None,
                echo_question: bool = False, keep_words: int = SHORT_WORDS,
                toggle_full: bool = True) -> dict:
    """The answer: lead line, each citation quoted, and the buttons. `key` identifies the
    question (platform + activity id) so that escalating it twice opens one ticket."""
    view = AnswerView.of(answer)
    body: list[dict] = []
    if echo_question:
        body.append(text(f"You asked: \u201c{literal(answer.question)}\u201d", isSubtle=True))
    body.append(text(view.lead, weight="Bolder", **({} if answer.answered else {"size": "Medium"})))
    if view.next_step:
        body.append(text(view.next_step))
    body += [text(note, color="Warning") for note in view.notes]
    for i, citation in enumerate(view.citations):
        body.extend(citation_block(citation, i, keep_words, toggle_full))
    about = question_data(key, view.refs, log_id, answer.question)
    offered = {"escalate": submit(ASK_MO, ESCALATE, style="positive" if view.ask_mo_first
                                  else None, **about),
               "helpful": submit(wording.HELPFUL, FEEDBACK, helpful=True, **about),
               "not_helpful": submit(wording.NOT_HELPFUL, FEEDBACK, helpful=False, **about)}
    return card(body, [offered[verb] for verb in view.actions], fallback=view.summary)


# Ever smaller answers, until one fits Teams' size limit: (words kept, full-text toggle, echo).
COMPACTING = ((SHORT_WORDS, True, True), (SHORT_WORDS, False, True), (40, False, False),
              (15, False, False), (0, False, False))


def answer_message(answer: Answer, *, key: str, log_id: int | None = None,
                   echo_question: bool = False) -> dict:
    """The answer card, as full as fits in one Teams activity whatever the person typed."""
    summary = AnswerView.of(answer).summary[:SUMMARY_LIMIT]
    for keep_words, toggle_full, echo in COMPACTING:
        activity = message(answer_card(answer, key=key, log_id=log_id, keep_words=keep_words,
                                       toggle_full=toggle_full,
                                       echo_question=echo_question and echo), summary)
        if size_of(activity) <= ACTIVITY_BUDGET:
            return activity
        summary = summary[:1000]
    return text_message(literal(answer.lead or wording.DECLINED)[:2000])


# --- escalation (the asker) ----------------------------------------------------------------------

def escalate_form(question: str, *, key: str, refs: Sequence[str] = (),
                  log_id: int | None = None) -> dict:
    """The follow-up card: what goes to the MO, room for context, and Confirm."""
    question = question[:4000]  # what the person asked is on the ticket in full
    body = [
        title(wording.MO_TITLE),
        text(wording.goes_to_mo("Teams")),
        text(wording.YOUR_QUESTION, weight="Bolder"),
        quote(literal(question)),
        {"type": "Input.Text", "id": CONTEXT_INPUT, "isMultiline": True, "maxLength": 2000,
         "label": f"{wording.CONTEXT_LABEL} {wording.OPTIONAL}",
         "placeholder": wording.CONTEXT_HINT},
    ]
    actions = [submit(wording.SEND, CONFIRM, style="positive",
                      **question_data(key, refs, log_id, question))]
    summary = f"{ASK_MO}: \u201c{question[:500]}\u201d. Add any context, then send."
    return message(card(body, actions, fallback=summary), summary)


def sent_form(question: str, ticket_id: str) -> dict:
    """The escalation form once sent: what went, its ticket id, and no button."""
    said = f"Sent as ticket {ticket_id}."
    return message(card([title(wording.MO_TITLE), quote(literal(question[:4000])),
                         text(said, color="Good")],
                        fallback=said), said)


def ticket_answered_message(reply: Reply) -> dict:
    """To the asker, in the conversation they asked from: the MO's answer."""
    ticket = reply.ticket
    answer = ticket.answer or ""
    content = [
        title(wording.mo_answered(ticket.id)),
        text(wording.YOU_ASKED, weight="Bolder", spacing="Medium"),
        quote(literal(ticket.question[:4000])),
        text(wording.ANSWER, weight="Bolder", spacing="Medium"),
        text(literal(answer)),
    ]
    summary = f"{wording.mo_answered(ticket.id)}: {answer[:1000]}"
    return message(card(content, fallback=summary), summary)


# --- the monitoring officer ----------------------------------------------------------------------

def _asker_line(asker: Asker) -> str:
    name, who = asker.display_name, asker.principal
    return literal(f"{name} ({who})" if name else who)


def mo_ticket_card(reply: Reply, actor: str = "") -> dict:
    """A ticket for the MO, as the core's TicketView has it: headline, who acted just now, who
    asked and its status, the question, the asker's context and the MO's answer, what the bot
    cited, the passages it considered (each with "This answers it"), and the actions the core
    offers (Answer with "save as FAQ" and Assign open their forms on the card). `actor` is who
    sees it (the first choice to assign to). People are named by their ids, as typed."""
    view = TicketView.of(reply)
    ticket, status_line = view.ticket, view.status_line(literal)
    facts = [{"title": "Ticket", "value": ticket.id},
             {"title": wording.ASKED_BY, "value": _asker_line(ticket.asker)},
             {"title": wording.STATUS, "value": view.status(literal)}]
    body = [
        title(view.headline(literal)),
        *([text(status_line, isSubtle=True, spacing="None")] if status_line else []),
        {"type": "FactSet", "facts": facts},
    ]
    for label, words in ((wording.QUESTION, ticket.question), (wording.CONTEXT, ticket.context),
                         (wording.ANSWER, ticket.answer)):
        if words:
            body += [text(label, spacing="Medium", weight="Bolder"), quote(literal(words))]
    body.append(text(literal(view.cited), isSubtle=True))
    body += teach_blocks(ticket.id, view.considered)
    labels = wording.OFFER_LABELS
    offered = {"assign": {"type": "Action.ShowCard", "title": labels["assign"],
                          "card": assign_form(ticket.id, reply.choices, actor)},
               "answer": {"type": "Action.ShowCard", "title": labels["answer"],
                          "card": answer_form(ticket.id)},
               "close": submit(labels["close"], MO_CLOSE, ticket=ticket.id),
               "faq_list": submit(labels["faq_list"], MO_FAQ_LIST),
               "faq_withdraw": submit(labels["faq_withdraw"], MO_FAQ_WITHDRAW, ticket=ticket.id)}
    actions = [offered[verb] for verb in offered if verb in view.offers]
    return card(body, actions, fallback=view.summary(literal, _asker_line(ticket.asker)))


def answer_form(ticket_id: str) -> dict:
    """Answer, opened on the ticket card: the answer, and whether to save it as an FAQ."""
    optional = f" {wording.OPTIONAL}"  # Teams marks only the required fields
    return card([
        {"type": "Input.Text", "id": ANSWER_INPUT, "isMultiline": True,
         "maxLength": ANSWER_LIMIT, "label": wording.YOUR_ANSWER, "isRequired": True,
         "errorMessage": wording.ANSWER_NEEDED},
        {"type": "Input.Toggle", "id": FAQ_TOGGLE, "value": "false", "valueOn": "true",
         "valueOff": "false", "label": wording.FAQ_GROUP + optional, "title": wording.SAVE_FAQ},
        text(wording.SAVE_FAQ_NOTE, isSubtle=True, spacing="None"),
        {"type": "Input.Text", "id": FAQ_QUESTIONS_INPUT, "isMultiline": True,
         "maxLength": 2000, "label": wording.FAQ_QUESTIONS + optional},
        {"type": "Input.Text", "id": FAQ_TEXT_INPUT, "isMultiline": True,
         "maxLength": ANSWER_LIMIT, "label": wording.FAQ_TEXT + optional},
    ], [submit(wording.SEND_ANSWER, MO_ANSWER, style="positive", ticket=ticket_id)])


def assign_form(ticket_id: str, mos: Sequence[str], actor: str) -> dict:
    """Assign, opened on the ticket card: the MOs to choose from, `actor` first."""
    choices = [{"title": mo, "value": mo} for mo in mos] or (
        [{"title": actor, "value": actor}] if actor else [])
    return card([
        {"type": "Input.ChoiceSet", "id": ASSIGNEE_INPUT, "label": wording.ASSIGN_LABEL,
         "choices": choices, "value": actor or (choices[0]["value"] if choices else ""),
         "style": "compact"},
    ], [submit(wording.OFFER_LABELS["assign"], MO_ASSIGN, ticket=ticket_id)])


def teach_blocks(ticket_id: str, considered: Iterable[Sequence[str]]) -> list[dict]:
    """Each passage the bot considered, with "This answers it": the ticket's question becomes a
    search hint of that passage. The data holds the ticket id and passage key, never text."""
    if not considered:
        return []
    blocks = [text(wording.CONSIDERED, weight="Bolder", spacing="Medium"),
              text(wording.TEACH_HOW, isSubtle=True, spacing="None")]
    for key, label in considered:
        blocks.append({"type": "ColumnSet", "columns": [
            {"type": "Column", "width": "stretch", "items": [text(label, isSubtle=True)]},
            {"type": "Column", "width": "auto", "items": [{"type": "ActionSet", "actions": [
                submit(wording.TEACH, MO_TEACH, ticket=ticket_id, **{PASSAGE_KEY: key})]}]},
        ]})
    return blocks


def taught_message(words: str, taught_id: int | None) -> dict:
    """What the MO is told after "This answers it", with Undo."""
    actions = [submit(wording.UNDO, MO_UNTEACH, taught=taught_id)] if taught_id is not None else []
    return message(card([text(words)], actions, fallback=words), words)


def mo_ticket_message(reply: Reply, actor: str = "") -> dict:
    """A ticket as the MO sees it, with the actions the core offers in its status."""
    content = mo_ticket_card(reply, actor)
    return message(content, content.get("fallbackText", reply.ticket.id))


def ticket_list_message(headline: str, tickets: Sequence[Ticket]) -> dict:
    """The waiting tickets in one card (one message, so no per-chat rate limit is met):
    each with who asked, its status, the start of the question, and Open."""
    body = [title(headline)]
    for ticket in tickets:
        status = wording.status_name(ticket.status, literal(ticket.assignee or ""))
        line = wording.ticket_line(ticket.id, status, _asker_line(ticket.asker),
                                   ticket.created_at[:10])
        body.append({"type": "Container", "separator": True, "spacing": "Medium", "items": [
            text(line, weight="Bolder"),
            quote(literal(first_words(ticket.question, 40, 60)[0])),
            {"type": "ActionSet", "actions": [submit("Open", MO_SHOW, ticket=ticket.id)]},
        ]})
    return message(card(body, fallback=headline), headline)


# --- welcome -------------------------------------------------------------------------------------

def welcome_message() -> dict:
    body = [
        title(wording.HELP_TITLE),
        text(wording.HELP_INTRO),
        text(wording.HELP_EXAMPLES, spacing="Medium"),
    ]
    # Button titles do not wrap, and these questions are long: each is a clickable box instead.
    for q in wording.EXAMPLE_QUESTIONS:
        body.append({"type": "Container", "style": "emphasis", "spacing": "Small",
                     "selectAction": submit(q, ASK, question=q),
                     "items": [text(f"\u25b8 {q}", color="Accent")]})
    body.append(text(wording.HELP_HOW, isSubtle=True, spacing="Medium"))
    return message(card(body, fallback=wording.HELP_SUMMARY), wording.HELP_SUMMARY)
