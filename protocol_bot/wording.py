"""The bot's own words, one set for every platform: help, examples, thanks, refusals, tickets."""

from __future__ import annotations

ASK_MO = "Ask the monitoring officer"
HELPFUL = "Helpful"
NOT_HELPFUL = "Not helpful"
# Under an answer, in the order AnswerView.actions gives.
ANSWER_ACTIONS = {"escalate": ASK_MO, "helpful": HELPFUL, "not_helpful": NOT_HELPFUL}
FAQ_GUIDANCE = "The monitoring officer's guidance"  # under a cited FAQ answer

EXAMPLE_QUESTIONS = (
    "Can I ask an officer to help with party political work?",
    "Can I contact an officer directly, or should I go through their manager?",
    "What should I do if I feel an officer has treated me unfairly?",
)

HELP_TITLE = "Member/Officer Relations Protocol"
HELP_INTRO = ("Ask me about how councillors and officers work together. I answer with the "
              "protocol's own words and the clause they come from, and if I can't answer, I pass "
              "your question to the monitoring officer, who replies in the same conversation.")
HELP_HOW = ("In a channel or group chat, mention me with your question (I answer in a thread); "
            "in a private chat with me, just ask. Type help to see this again.")
HELP_EXAMPLES = "For example:"
# The help as one line of plain text (notifications, screen readers).
HELP_SUMMARY = " ".join([HELP_INTRO, HELP_EXAMPLES, " / ".join(EXAMPLE_QUESTIONS)])

# Typed on its own, these are commands rather than questions (any platform).
HELP_WORDS = frozenset({"", "help", "?", "hi", "hello", "hey", "start", "menu", "commands",
                        "usage"})
TICKETS_WORDS = frozenset({"tickets", "open tickets", "my tickets"})
WHOAMI_WORDS = frozenset({"whoami", "who am i", "my id"})

DECLINED = "I couldn't find an answer to this in the protocol or the guidance I hold."
DECLINED_NEXT = f"The monitoring officer can answer it: press \u201c{ASK_MO}\u201d."
SENSITIVE = ("This may concern a complaint or a person's conduct: you can speak to the "
             "monitoring officer privately; what you send goes only to them.")

THANKS_HELPFUL = "Thanks: glad that helped."
THANKS_NOT_HELPFUL = (f"Thanks for telling me. If you still need an answer, press "
                      f"\u201c{ASK_MO}\u201d and the monitoring officer will reply.")
ALREADY_RATED = "You have already rated this answer."

NOT_MO = ("Only the monitoring officer or a deputy can do that. If you should be one, ask for "
          "your id ({principal}) to be added to PROTOCOL_BOT_MONITORING_OFFICERS.")
TICKETS_PRIVATE = "Tickets are private: ask me for them in a private chat with me."
NO_TICKETS_WAITING = "No tickets are waiting for an answer."
NO_QUESTION = "I couldn't tell which question you meant. Please ask it again."
PASSAGE_GONE = ("That passage is no longer in the knowledge base. Ask your question again for the "
                "current text.")
TROUBLE = ("Sorry, I couldn't do that just now because of a problem on my side. Please try again "
           "in a minute; if it keeps happening, contact the monitoring officer directly.")
UNKNOWN_ACTION = "Sorry, I don't know that button. Type help to start again."


def whoami(principal: str, is_mo: bool) -> str:
    role = " You are configured as a monitoring officer." if is_mo else ""
    return (f"Your id for protocol-bot is {principal}. A monitoring officer or deputy is added "
            f"with PROTOCOL_BOT_MONITORING_OFFICERS={principal}.{role}")


def ticket_opened(ticket_id: str, created: bool, status: str = "open") -> str:
    if created:
        return (f"Sent to the monitoring officer as ticket {ticket_id}. Their answer will come to "
                "you here.")
    return (f"This question was already sent to the monitoring officer as ticket {ticket_id} "
            f"({status}). Their answer will come to you here.")


def tickets_waiting(count: int, shown: int) -> str:
    if count > shown:
        return f"{count} tickets are waiting; the latest {shown} are below."
    return f"{count} ticket{'s are' if count != 1 else ' is'} waiting for an answer."


def ticket_done(verb: str, ticket_id: str, *, assignee: str | None = None, asker: str = "",
                faq: bool = False) -> str:
    """What the MO is told after acting on a ticket."""
    if verb == "assign":
        return f"{ticket_id} is assigned to {assignee}."
    if verb == "answer":
        said = f"{ticket_id} answered: your answer is on its way to {asker}."
        if faq:
            said += " It is saved as an FAQ, so the bot now answers this question itself."
        return said
    if verb == "reopen":
        return f"{ticket_id} is open again; its FAQ answer, if it had one, is withdrawn until " \
               "you answer it again."
    return f"{ticket_id} is closed."


def bot_cited(cited) -> str:
    """What the bot had answered a ticket's question with, as the MO reads it."""
    if not cited:
        return "The bot could not answer this from the protocol."
    return "The bot cited " + "; ".join(cited) + "."


# --- the asker's form ------------------------------------------------------------------------
MO_TITLE = "Monitoring officer"  # a form's title (Slack allows a modal 24 characters)
YOUR_QUESTION = "Your question"
CONTEXT_LABEL = "Anything the monitoring officer should know?"
OPTIONAL = "(optional)"  # after an optional field's label, where the platform does not say so
CONTEXT_HINT = "For example: which meeting or officer this is about"
SEND = "Send question"
CANCEL = "Cancel"


def goes_to_mo(platform: str) -> str:
    """Who reads what the asker sends, and where the answer comes (`platform`: "Slack"...)."""
    return ("What you send goes only to the monitoring officer and their deputies, with your "
            f"name. Their answer comes back to you here in {platform}.")


# --- the monitoring officer's ticket card and forms ---------------------------------------------
# What each ticket action's button says (conversation.offers decides which are shown).
OFFER_LABELS = {"assign": "Assign", "answer": "Answer", "close": "Close",
                "faq_list": "FAQ answers", "faq_withdraw": "Withdraw FAQ answer"}
ASKED_BY = "Asked by"
STATUS = "Status"
QUESTION = "Question"
CONTEXT = "Context from the asker"
ANSWER = "Answer"
CONSIDERED = "Passages the bot considered"
TEACH = "This answers it"
TEACH_HOW = f"\u201c{TEACH}\u201d teaches the bot this question for that passage."
UNDO = "Undo"
ASSIGN_LABEL = "Who should answer it?"
YOUR_ANSWER = "Your answer (sent to the asker)"
ANSWER_NEEDED = "Write the answer the asker should receive."
FAQ_GROUP = "Knowledge base"
SAVE_FAQ = "Save as FAQ"
SAVE_FAQ_NOTE = "The bot then answers this question itself, as your guidance"
FAQ_QUESTIONS = "Other ways people ask this (one a line, for the FAQ)"
FAQ_TEXT = "Public FAQ text, if not your answer (what everyone sees)"
SEND_ANSWER = "Send answer"


def status_name(status: str, assignee: str = "") -> str:
    """A ticket's status as a card or a list shows it ('assigned to A')."""
    return f"assigned to {assignee}" if status == "assigned" and assignee else status


def ticket_line(ticket_id: str, status: str, asker: str, date: str = "") -> str:
    """One ticket in a list: 'MO-0001 \u00b7 open \u00b7 from A \u00b7 2026-01-02'."""
    return " \u00b7 ".join(part for part in (ticket_id, status, f"from {asker}", date) if part)


def ticket_status(status: str, *, by: str, assignee: str = "") -> str:
    """A ticket card's status line once `by` acted on it ('Assigned to A by B.'); the platform
    names the people (a mention, or "you" on the card sent to the MO it was assigned to)."""
    if status == "assigned":
        return f"Assigned to {assignee} by {by}."
    if status == "answered":
        return f"Answered by {by}: the answer is on its way to the asker."
    return f"{status.capitalize()} by {by}."


def not_answerable(ticket_id: str, status: str) -> str:
    """Why the MO's answer form does not open: the ticket is no longer waiting."""
    return (f"{ticket_id} is {status}: reopen it with `protocol-bot tickets reopen {ticket_id}` "
            "to answer again.")


def taught(question: str, label: str, created: bool, taught_id: int) -> str:
    if not created:
        return f"Already taught (#{taught_id}): \u201c{question}\u201d is answered from {label}."
    return (f"Taught (#{taught_id}): \u201c{question}\u201d is now answered from {label}. "
            f"Undo with the button, or `protocol-bot kb teach --undo {taught_id} --as ...`.")


def untaught(question: str, label: str, taught_id: int) -> str:
    return f"Undone (#{taught_id}): \u201c{question}\u201d is no longer a hint for {label}."


def faq_withdrawn(entry_id: str) -> str:
    return (f"FAQ answer {entry_id} is withdrawn: the bot no longer answers from it. Answering "
            f"{entry_id} again with \u201cSave as FAQ\u201d publishes it again.")


def faq_list(entries) -> str:
    if not entries:
        return "There are no FAQ answers yet."
    lines = [f"{len(entries)} FAQ answer(s):"]
    for e in entries:
        text = e.text if len(e.text) <= 120 else e.text[:119] + "\u2026"
        lines.append(f"{e.id} ({e.status}): {e.question} \u2014 {text}")
    return "\n".join(lines)


def ticket_headline(ticket_id: str, assigned_by: str = "") -> str:
    """The first line of a ticket card: who assigned it to the MO reading it, if someone did."""
    if assigned_by:
        return f"{ticket_id} was assigned to you by {assigned_by}"
    return f"{ticket_id}: a question for the monitoring officer"


def ticket_summary(headline: str, asker: str, question: str, cited: str) -> str:
    """A ticket card as one line of plain text (notifications, screen readers)."""
    return f"{headline}. {asker} asked: \u201c{question}\u201d. {cited}"


def mo_answered(ticket_id: str, by: str = "") -> str:
    """The first line of the MO's answer, to the asker (`by`: the MO, where they can be named)."""
    who = f"The monitoring officer ({by})" if by else "The monitoring officer"
    return f"{who} answered your question ({ticket_id})"


YOU_ASKED = "You asked"


def ticket_news(ticket_id: str, kind: str, question: str = "") -> str:
    """Any other ticket news (closed, reopened) in one line."""
    words = f"Ticket {ticket_id} was {kind.removeprefix('ticket_').replace('_', ' ')}"
    return words + (f": \u201c{question[:300]}\u201d." if question else ".")
