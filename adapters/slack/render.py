"""Answers, tickets and help as Block Kit: pure functions from plain values to Slack messages and views."""

from __future__ import annotations


from protocol_bot import wording
from protocol_bot.conversation import ANSWER_LIMIT, MO_ACTIONS, AnswerView, Reply, TicketView
from protocol_bot.excerpt import fit, pieces, shorten
from protocol_bot.models import Answer, Asker, Citation, Ticket

from .events import USER_ID, pack_value, user_of

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_LIMIT = 3000  # characters of text in a section block
MESSAGE_BLOCKS = 50  # blocks in a message
VIEW_BLOCKS = 100  # blocks in a modal or the App Home
BUTTON_TEXT_LIMIT = 75
TITLE_LIMIT = 24  # a modal's title, submit and close labels
HEADER_LIMIT = 150
INPUT_LIMIT = 3000  # characters a plain_text_input takes
TEXT_LIMIT = 3000  # our own cap on the plain `text` for notifications and screen readers

PASSAGE_PREVIEW = 700  # a passage longer than this is shortened; the full text is a click away

# action_id / callback_id values the listeners match on.
ESCALATE = "escalate"
HELPFUL = "helpful"
NOT_HELPFUL = "not_helpful"
SHARE = "share"
FULL_TEXT = "full_text"
TICKET_ASSIGN = "ticket_assign"
TICKET_ANSWER = "ticket_answer"
TICKET_CLOSE = "ticket_close"
# "This answers it" buttons carry TICKET_TEACH plus their position (action ids must differ
# within a block); the listener matches the prefix.
TICKET_TEACH = "ticket_teach"
TICKET_UNTEACH = "ticket_untaught"
FAQ_LIST = "faq_list"
FAQ_WITHDRAW = "faq_withdraw"
ESCALATE_VIEW = "escalate_modal"
ASSIGN_VIEW = "ticket_assign_modal"
ANSWER_VIEW = "ticket_answer_modal"


# --- text --------------------------------------------------------------------------------------

def escape(text: str) -> str:
    """Text for mrkdwn: & < > escaped, so nothing can become a mention, a broadcast or a link."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoted(text: str) -> str:
    """Plain words as a mrkdwn block quote (escaped first)."""
    return "\n".join("&gt; " + line if line.strip() else "&gt;"
                     for line in escape(text).splitlines())


def _pieces(text: str, budget: int):
    """`text` in consecutive pieces, split at spaces, each fitting `budget` once quoted."""
    return pieces(text, budget, lambda piece: len(quoted(piece)))


def mention(user_id: str, name: str = "") -> str:
    """A mention of a Slack user we know by id; anything else is shown as escaped text."""
    if USER_ID.match(user_id or ""):
        return f"<@{user_id}>"
    return escape(name or user_id or "someone")


def principal_mention(principal: str) -> str:
    """'slack:U123' as a mention; other platforms' principals as escaped text."""
    return mention(user_of(principal) or "", principal)


# --- blocks ------------------------------------------------------------------------------------

def _with(block: dict, **extra) -> dict:
    """`block` with those of `extra` that are set."""
    return {**block, **{key: value for key, value in extra.items() if value}}


def plain(text: str, limit: int = BUTTON_TEXT_LIMIT) -> dict:
    return {"type": "plain_text", "text": shorten(text, limit), "emoji": True}


def section(mrkdwn: str, accessory: dict | None = None, block_id: str | None = None) -> dict:
    return _with({"type": "section", "text": {"type": "mrkdwn", "text": shorten(mrkdwn, SECTION_LIMIT)}},
                 accessory=accessory, block_id=block_id)


def context(mrkdwn: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": shorten(mrkdwn, SECTION_LIMIT)}]}


def button(text: str, action_id: str, value: str = "", style: str | None = None,
           confirm: dict | None = None) -> dict:
    return _with({"type": "button", "text": plain(text), "action_id": action_id},
                 value=value, style=style, confirm=confirm)


def confirmation(title: str, text: str, yes: str, no: str) -> dict:
    """A button's "are you sure?" dialog."""
    return {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(yes, 30),
            "deny": plain(no, 30)}


def actions(*elements: dict, block_id: str | None = None) -> dict:
    return _with({"type": "actions", "elements": list(elements)}, block_id=block_id)


DIVIDER = {"type": "divider"}


def text_input(block_id: str, label: str, max_length: int, *, optional: bool = True,
               placeholder: str = "") -> dict:
    """A modal's multi-line text box; what was typed arrives under `block_id`/"value"."""
    element = _with({"type": "plain_text_input", "action_id": "value", "multiline": True,
                     "max_length": max_length}, placeholder=placeholder and plain(placeholder, 150))
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": plain(label, 2000), "element": element}


def modal(title: str, blocks: list[dict], *, close: str = "Close", submit: str = "",
          callback_id: str = "", metadata: str = "") -> dict:
    """A modal view; `submit` labels its submit button, if it has one."""
    return _with({"type": "modal", "title": plain(title, TITLE_LIMIT),
                  "close": plain(close, TITLE_LIMIT), "blocks": blocks},
                 callback_id=callback_id, private_metadata=metadata,
                 submit=submit and plain(submit, TITLE_LIMIT))


def message(text: str, blocks: list[dict]) -> dict:
    """A chat message: plain `text` (escaped, capped) and at most 50 blocks."""
    return {"text": shorten(text, TEXT_LIMIT), "blocks": blocks[:MESSAGE_BLOCKS]}


def notice(text: str) -> dict:
    """A one-paragraph message from plain words (escaped)."""
    return message(escape(text), [section(escape(text))])


# --- answers -----------------------------------------------------------------------------------

def citation_blocks(citation: Citation, index: int) -> list[dict]:
    """One cited passage: where it is from, its heading, and the quoted words."""
    where = f"*{escape(citation.label())}*"
    if citation.subheading:
        where += f"\n_{escape(citation.subheading)}_"
    if AnswerView.cited_as(citation):
        where += f"\n_{escape(AnswerView.cited_as(citation))}_"
    budget = SECTION_LIMIT - len(where) - 1
    shortened = len(citation.text) > PASSAGE_PREVIEW
    passage = fit(citation.text, min(budget, PASSAGE_PREVIEW + PASSAGE_PREVIEW // 4)
                  if shortened else budget, quoted)
    accessory = (button("Show full text", FULL_TEXT, pack_value({"k": citation.key}))
                 if shortened or passage.endswith("...") else None)
    return [section(f"{where}\n{passage}", accessory=accessory, block_id=f"citation-{index}")]


def answer_buttons(view: AnswerView, question: str, log_id, shareable: bool) -> list[dict]:
    refs = list(view.refs)
    # The question travels as its log id; its text only when it could not be logged.
    value = pack_value({"r": refs, "l": log_id} if log_id is not None else
                       {"q": question[:500], "r": refs, "l": None})
    styles = {ESCALATE: "primary" if view.ask_mo_first else None}
    elements = [button(wording.ANSWER_ACTIONS[verb], verb, value, style=styles.get(verb))
                for verb in view.actions]  # the action ids are the core's verbs
    if shareable:
        elements.append(button("Share to channel", SHARE, value))
    return elements


def answer_message(answer: Answer, *, log_id=None, shareable: bool = False,
                   shared_by: str | None = None) -> dict:
    """An answer as a Slack message: the lead, each citation quoted, then what to do next.

    Not answered: it says so and leads with "Ask the monitoring officer". `shareable` adds the
    "Share to channel" button (for the private /protocol answer); `shared_by` credits who shared.
    """
    view = AnswerView.of(answer)
    buttons = actions(*answer_buttons(view, answer.question, log_id, shareable), block_id="next")
    blocks: list[dict] = []
    if shared_by:
        blocks.append(context(f"{mention(shared_by)} asked: {escape(shorten(answer.question, 300))}"))
    blocks.append(section(escape(view.lead), block_id="lead"))
    if view.next_step:
        blocks.append(section(escape(view.next_step)))
    if view.ask_mo_first and not view.citations:
        blocks.append(buttons)
    blocks += [context(f":warning: {escape(note)}") for note in view.notes[:5]]
    room = (MESSAGE_BLOCKS - len(blocks) - 1) // 2  # each citation: a divider and a section
    for i, citation in enumerate(view.citations[:room]):
        blocks += [DIVIDER, *citation_blocks(citation, i)]
    if view.citations or not view.ask_mo_first:
        blocks.append(buttons)
    return message(escape(view.summary), blocks)


def full_text_view(document: str, label: str, heading: str, text: str) -> dict:
    """A modal with a passage's whole text, split into sections at word boundaries."""
    blocks = [section(f"*{escape(label)}*" + (f"\n_{escape(heading)}_" if heading else ""))]
    blocks += [section(quoted(piece)) for piece in _pieces(text, SECTION_LIMIT - 100)]
    return modal(shorten(document, TITLE_LIMIT) or "Full text", blocks[:VIEW_BLOCKS])


def help_message() -> dict:
    """What the bot does and three example questions (the same words as in Teams)."""
    examples = "\n".join(f"\u2022 {escape(q)}" for q in wording.EXAMPLE_QUESTIONS)
    body = (f"*{escape(wording.HELP_TITLE)}*\n{escape(wording.HELP_INTRO)}\n\n"
            f"*{escape(wording.HELP_EXAMPLES)}*\n{examples}\n\n{escape(wording.HELP_HOW)}")
    return message(escape(wording.HELP_SUMMARY), [section(body)])


def reply_message(reply: Reply, *, shareable: bool = False, shared_by: str | None = None) -> dict:
    """One reply of the conversation service as a Slack message."""
    # An answer; or "ask the MO" typed, offered by the answer's button (a modal needs a click).
    if reply.answer is not None:
        return answer_message(reply.answer, log_id=reply.log_id, shareable=shareable,
                              shared_by=shared_by)
    if reply.kind == "help":
        return help_message()
    if reply.kind == "ticket_card":
        return ticket_card(reply)
    if reply.kind == "ticket_answered":
        return ticket_answered_message(reply)
    if reply.kind == "taught":
        return taught_message(reply.text, reply.taught_id)
    if reply.kind == "ticket_list":
        return message(escape(reply.text), [section(escape(reply.text)),
                                            *ticket_list_blocks([i.ticket for i in reply.items])])
    return notice(reply.text)


# --- escalation: the asker's modal -----------------------------------------------------------

def escalate_view(question: str, metadata: str) -> dict:
    """The asker confirms sending the question to the MO, with any context they want to add
    (Slack marks the optional field itself)."""
    return modal(wording.MO_TITLE, [
        section(f"{escape(wording.goes_to_mo('Slack'))}\n\n*{wording.YOUR_QUESTION}*\n"
                + fit(question, SECTION_LIMIT - 200, quoted)),
        text_input("context", wording.CONTEXT_LABEL, 2000, placeholder=wording.CONTEXT_HINT),
    ], close=wording.CANCEL, submit=wording.SEND, callback_id=ESCALATE_VIEW, metadata=metadata)


def escalated_view(words: str) -> dict:
    """Shown in place of the modal once the ticket exists: the core's words (its id, what next)."""
    return modal(wording.MO_TITLE, [section(escape(words))], close="Done")


# --- the monitoring officer's side -------------------------------------------------------------

def _asker_line(asker: Asker) -> str:
    user, name = asker.user_id, asker.display_name
    if asker.platform == "slack":
        return mention(user, name) + (f" ({escape(name)})" if name and USER_ID.match(user) else "")
    return escape(f"{name or user} on {asker.platform}")


def ticket_buttons(ticket_id: str, offers=MO_ACTIONS) -> list[dict]:
    """Assign, Answer, Close, FAQ answers and Withdraw FAQ answer, those the core `offers`."""
    close = confirmation("Close this ticket?", "The asker is not sent anything. You can reopen "
                         "it later from the CLI.", "Close", "Keep open")
    withdraw = confirmation("Withdraw this FAQ answer?", "The bot stops answering from it. "
                            "Answering the ticket again with Save as FAQ publishes it again.",
                            "Withdraw", "Keep it")
    ids = {"assign": TICKET_ASSIGN, "answer": TICKET_ANSWER, "close": TICKET_CLOSE,
           "faq_list": FAQ_LIST, "faq_withdraw": FAQ_WITHDRAW}
    extra = {"answer": {"style": "primary"}, "close": {"confirm": close},
             "faq_withdraw": {"confirm": withdraw}}
    return [button(wording.OFFER_LABELS[verb], ids[verb], ticket_id, **extra.get(verb, {}))
            for verb in ids if verb in offers]


def teach_blocks(ticket_id: str, considered) -> list[dict]:
    """The passages the bot considered, each with "This answers it" (the button's value holds
    the ticket id and the passage key, never the question)."""
    rows = []
    for number, (key, label) in enumerate(considered):
        try:
            value = pack_value({"t": ticket_id, "k": key})
        except ValueError:  # a key too long for a button: not offered
            continue
        rows.append(section(escape(shorten(label or key, 300)),
                            accessory=button(wording.TEACH, f"{TICKET_TEACH}:{number}", value)))
    if not rows:
        return []
    return [context(f"*{wording.CONSIDERED}.* {escape(wording.TEACH_HOW)}"), *rows]


def taught_message(words: str, taught_id: int | None) -> dict:
    blocks = [section(escape(words))]
    if taught_id is not None:
        blocks.append(actions(button(wording.UNDO, TICKET_UNTEACH, str(taught_id))))
    return message(escape(words), blocks)


def quoted_sections(text: str, room: int) -> list[dict]:
    """`text` whole, escaped and quoted, over as many sections as it needs (at most `room`;
    past that the last one says where to read the rest)."""
    pieces = list(_pieces(text, SECTION_LIMIT - 100))
    if len(pieces) > room:
        pieces = pieces[:room - 1] + ["... (the rest is in `protocol-bot tickets show`)"]
    return [section(quoted(piece)) for piece in pieces]


def ticket_card(reply: Reply) -> dict:
    """The MO's DM for a ticket, as the core's TicketView has it: headline, who asked and its
    status, the question, the asker's context and the MO's answer (each shown whole), what the
    bot cited, who acted just now, and the actions the core offers."""
    view = TicketView.of(reply)
    ticket, asker = view.ticket, _asker_line(view.ticket.asker)
    blocks = [section(f"*{view.headline(principal_mention)}*", block_id="ticket"),
              context(f"*{wording.ASKED_BY}:* {asker} \u00b7 "
                      f"*{wording.STATUS}:* {view.status(principal_mention)}"),
              *quoted_sections(ticket.question, 12)]
    for label, words in ((wording.CONTEXT, ticket.context), (wording.ANSWER, ticket.answer)):
        if words:
            blocks += [section(f"*{label}*"), *quoted_sections(words, 8)]
    blocks.append(context(escape(shorten(view.cited, 2900))))
    if view.status_line(principal_mention):
        blocks.append(context(view.status_line(principal_mention)))
    blocks.append(actions(*ticket_buttons(ticket.id, view.offers), block_id="ticket-actions"))
    blocks += teach_blocks(ticket.id, view.considered)
    return message(view.summary(principal_mention, asker, escape), blocks)


def ticket_answered_message(reply: Reply) -> dict:
    """The MO's answer, back to the asker where they asked: the whole answer, over as many
    sections as it takes (Slack allows 3,000 characters a section)."""
    ticket = reply.ticket
    user = user_of(reply.by) or ""
    head = wording.mo_answered(ticket.id, mention(user) if USER_ID.match(user) else "")
    blocks = [section(f"*{head}*"),
              section(f"*{wording.YOU_ASKED}*\n" + fit(ticket.question, 600, quoted)),
              section(f"*{wording.ANSWER}*")]
    blocks += [section(escape(piece)) for piece in
               _pieces(ticket.answer or "", SECTION_LIMIT - 200)][:MESSAGE_BLOCKS - 3]
    text = (f"{wording.mo_answered(ticket.id)}: "
            f"{escape(shorten(ticket.answer or '', 1000))}")
    return message(text, blocks)


def assign_view(ticket_id: str, actor_user: str, metadata: str) -> dict:
    users = {"type": "users_select", "action_id": "value",
             **({"initial_user": actor_user} if USER_ID.match(actor_user) else {})}
    assign = wording.OFFER_LABELS["assign"]
    return modal(f"{assign} {ticket_id}", [{"type": "input", "block_id": "assignee",
                                            "label": plain(wording.ASSIGN_LABEL, 2000),
                                            "element": users}],
                 close=wording.CANCEL, submit=assign, callback_id=ASSIGN_VIEW, metadata=metadata)


def answer_view(ticket_id: str, question: str, metadata: str) -> dict:
    """The MO writes the answer; "save as FAQ" adds it (and other phrasings) to the knowledge.
    Slack's text inputs take at most INPUT_LIMIT characters, below the core's ANSWER_LIMIT."""
    limit = min(ANSWER_LIMIT, INPUT_LIMIT)
    return modal(f"{wording.ANSWER} {ticket_id}", [
        section(f"*{wording.QUESTION}*\n" + fit(question, 2500, quoted)),
        text_input("answer", wording.YOUR_ANSWER, limit, optional=False),
        {"type": "input", "block_id": "save_faq", "optional": True,
         "label": plain(wording.FAQ_GROUP, 2000),
         "element": {"type": "checkboxes", "action_id": "value", "options": [
             {"text": plain(wording.SAVE_FAQ, 75), "value": "save_faq",
              "description": plain(wording.SAVE_FAQ_NOTE, 75)}]}},
        text_input("faq_questions", wording.FAQ_QUESTIONS, 2000),
        text_input("faq_text", wording.FAQ_TEXT, limit),
    ], close=wording.CANCEL, submit=wording.SEND_ANSWER, callback_id=ANSWER_VIEW,
        metadata=metadata)


def info_view(title: str, text: str) -> dict:
    """A small modal with plain words, for when there is no message to reply to."""
    return modal(title, [section(escape(text))], close="OK")


def home_view(tickets: list[Ticket] | None = None) -> dict:
    """The App Home: the MO's open tickets (when `tickets` is a list), else how to use the bot."""
    if tickets is None:
        return {"type": "home", "blocks": help_message()["blocks"] + [
            DIVIDER, context(escape(wording.goes_to_mo("Slack")))]}
    blocks = [{"type": "header", "text": plain("Questions waiting for the monitoring officer",
                                               HEADER_LIMIT)}]
    if not tickets:
        blocks.append(section(escape(wording.NO_TICKETS_WAITING)))
    return {"type": "home", "blocks": blocks + ticket_list_blocks(tickets)}


def ticket_list_blocks(tickets: list[Ticket]) -> list[dict]:
    """Each waiting ticket: id, status, who asked, the question, and its buttons (two blocks
    each: the core lists at most ten, well within Slack's 50 a message)."""
    blocks: list[dict] = []
    for t in tickets:
        status = wording.status_name(t.status, principal_mention(t.assignee or ""))
        line = wording.ticket_line(t.id, status, _asker_line(t.asker), escape(t.created_at[:10]))
        blocks.append(section(f"*{line}*\n" + fit(t.question, 1500, quoted)))
        blocks.append(actions(*ticket_buttons(t.id), block_id=f"list-{t.id}"))
    return blocks
