"""Messages about the bot itself, and requests to pass a question to the monitoring officer.

These are not questions for the knowledge base: "who built you?", "is this chat saved?",
"can the MO see what I asked?" get a short, fixed, accurate reply (the privacy ones say what the
deployment really logs, from BotFacts), and "please pass this to the MO" starts the escalation
flow. Recognised by a few explicit patterns, so the reply is predictable and easy to audit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class BotFacts:
    """What this deployment does with questions (from PROTOCOL_BOT_LOG_RETENTION_DAYS and
    PROTOCOL_BOT_LOG_IDENTITY)."""

    log_retention_days: int = 90
    logs_identity: bool = False


_YOU = r"(you|u|this bot|the bot|this (chat ?)?bot|protocol[- ]?bot|this (thing|tool|service|app))"
# The end of a sentence (or a clause joined by and/but/or): "what can you do?", not "what can you
# do if a councillor shouts at you?", where "you" is anyone.
_END = r"(?=\s*(?:[?.!]|$|,? (?:and|but|or|please)\b))"

# Who made it, what it is, how it works, what it can do.
_IDENTITY = re.compile(
    r"\b(who (built|made|created|wrote|designed|programmed|developed|runs|owns|maintains) " + _YOU
    + r"|are " + _YOU + r" (a |an )?(bot|robot|human|real|person|ai|chat ?gpt|computer|machine)"
    r"|(what|who) are " + _YOU + _END + r"|what (can|do) " + _YOU
    + r" (do|help( me)?( with)?|answer|know( about)?)( for me| here)?" + _END
    + r"|how (do|does) " + _YOU + r" (work|find (answers|things)|know (things|that|this)|decide)" + _END
    + r"|where do (you|your answers) (get|come)|what do you (run on|use)"
    r"|(are|is) " + _YOU + r" (using |built on )?(chat ?gpt|an? (ai|llm|language model))"
    r"|what is (this bot|protocol[- ]?bot)|what('?s| is) your (name|purpose))\b", re.I)

# Privacy: is it saved, who sees it, does it remember.
_PRIVACY = re.compile(
    r"\b((is|are|will|does|do|was|were) (this|my|our|the|these) (chat|conversation|question|"
    r"questions|messages?|enquir(y|ies)|query|queries)s? (to you |with you |here )?(being |get |gets )?"
    r"(saved|stored|recorded|logged|kept|private|confidential|anonymous|monitored|read|seen|shared)"
    r"|(can|could|will|does|do|would) (the )?(mo|monitoring officer|anyone|anybody|someone|my manager"
    r"|officers?|the council|staff|they) (see|read|know|find out|look at|access|view) "
    r"(what i (asked|typed|wrote|said)|my (questions?|chats?|conversations?|messages?)"
    r"( (to|with) (you|the bot))?|who (asked|is asking)|the questions? (i|people)|(this|the|our) chat)"
    r"|(can|could|do|will|would) " + _YOU + r" (remember|recall|store|save|keep|record|log|track|"
    r"retain) (what (i|we)|my|our|this (chat|conversation)|(the |my |our )?(previous|earlier|past|last)|"
    r"questions|conversations|chats|messages|anything (i|we)|who (i am|asked)|me\b)"
    r"|(what|which) (data|information|details)"
    r" (do|does|will) " + _YOU + r" (keep|store|hold|collect|log|record)"
    r"|how long (are|is|do you keep) (my|the|these|our) (questions?|chats?|conversations?|messages?)"
    r"|who (can|could) (see|read) (my|these|what i) |privacy (policy|notice)"
    r"|remember what i (asked|said))", re.I)

# "Please pass this on to the monitoring officer", "can you ask the MO for me?"
_MO = r"(the )?(mo|monitoring officer|monitoring officers|legal( team)?|a (real )?(person|human))"
_ASK_MO = re.compile(
    r"\b((pass|send|forward|refer|escalate|hand|put|give|raise|take)( this| that| it| my (question|query"
    r"|message|enquiry)| this (question|query|one|on))?( on| over| up)? (to|with) " + _MO +
    r"|(can|could|would|will) you (ask|contact|check with|get|tell|message|email|notify) " + _MO +
    r"|i('d| would) like (to )?(ask|speak to|talk to|raise (this|it) with|a reply from) " + _MO +
    r"|(i want|i need|let me|can i|could i) (to )?(ask|speak to|talk to|escalate (this|it) to) " + _MO
    + r"(\s+(about (this|it)|directly|please|now)|\s*[?.!]*$)"
    r"|^\W*(escalate|ask the mo|ask the monitoring officer)\W*$"
    r"|get (the )?(mo|monitoring officer) to (look|answer|reply|call|contact))", re.I)

# What it can and cannot do, how current and how reliable it is, feedback, legal advice.
_CAPABILITY = re.compile(
    r"\b(can|could|will|do|does) (you|u|it|the bot|this bot) (speak|understand|read|translate|"
    r"upload|send|email|e-?mail|message|text|book|print|call|phone|ring|learn|browse|access|"
    r"open|draft|attach|search the (internet|web)|look (things )?up online|go online)\b"
    r"|\b(can|could) (i|we) (upload|attach|send|share|give|show) (you|a (document|file)|documents|files)"
    r"|\b(can|could|will|would) (you|u) (check|review|read|look at|look over|proofread) (a|my|this|"
    r"the|our) (document|file|attachment|pdf|draft|letter|report)\b"
    r"|\bare (you|u) (connected|online|on the internet|up to date|current|updated|accurate|reliable|"
    r"always right|ever wrong|any good|trained|learning|a (bot|robot|person|human|real person|ai))"
    r"|\bhow (up to date|current|accurate|reliable|old|new) (are|is) (you|your|the bot|this bot)"
    r"|\b(your|the bot'?s) (answers?|replies|responses|knowledge|sources?)\b"
    r"|\b(wrong|incorrect|bad|outdated|out of date|different) (answer|reply|response)s?\b.{0,40}\byou"
    r"|\byou\b.{0,40}\b(wrong|incorrect|bad|outdated|different) (answer|reply|response)"
    r"|\b(give|leave|send|provide) feedback\b|\bfeedback (on|about) (you|your|the bot|this)"
    r"|\bis (this|that|it|what you say) (legal advice|advice|official|binding|legally binding)"
    r"|\b(can|could|may) i (quote|cite|rely on|screenshot) (you|this|your|the bot|what you)"
    r"|\bdo (you|u) (change|learn|update|improve|get updated|evolve|speak|understand)"
    r"|\b(someone|anyone|who|somebody) (checks?|reviews?|approves?|vets?) (what you|your|the bot)"
    r"|\bwhat (can|do|can'?t|don'?t) (you|u|this bot|the bot) (help( me)?( with)?|do|answer|cover|"
    r"know( about)?)( for me| here| with)?" + _END
    + r"|\bwhat (are|aren'?t) (you|u) (meant |supposed |designed |here )?(for|to (help|do|answer))"
    r"|\bwhat aren'?t you\b|\bwhat('?s| is) (this|the) (chat ?bot|bot|tool|thing) for\b", re.I)

# "Should I raise it with the MO?" asks about procedure (the documents answer it); "please raise
# this with the MO" asks the bot to do it.
_ABOUT_RAISING = re.compile(
    r"\b(should|must|do|does|would|whether|when|who|how) (i|we|they|one|you|officers?|councillors?|"
    r"members?|staff)\b[^.?!]{0,40}\b(raise|refer|report|take|escalate|pass|send|go|speak|talk|ask)", re.I)

_SMALL = re.compile(r"^\W*(hi|hello|hey|hiya|good (morning|afternoon|evening))\W*(there|bot|all)?\W*$",
                    re.I)

ASK_MO_LEAD = "I can pass this to the monitoring officer."

WHAT_I_DO = ("I'm protocol-bot: I answer questions about how councillors and officers work together "
             "by quoting the council's Member/Officer Relations Protocol and the LGA's guidance, "
             "with the clause I quote from. I don't give legal advice and I'm not a person: if I "
             "can't find it, I offer to pass your question to the monitoring officer.")
IDENTITY_REPLY = ("I'm protocol-bot, a search tool set up by the council's monitoring officer. I "
                  "don't use AI or the internet: I find the passage of the Member/Officer Relations "
                  "Protocol or the LGA guidance that matches your words and quote it, with the "
                  "clause. If I can't find it, I offer to pass your question to the monitoring "
                  "officer.")
CAPABILITY_REPLY = (
    "I can only answer questions about how councillors and officers work together, by quoting the "
    "council's Member/Officer Relations Protocol and the LGA's guidance, with the clause. I can't "
    "read documents, send emails or look things up online, and I only work in English. What I "
    "quote comes from the documents the monitoring officer keeps up to date (each answer shows the "
    "edition); I don't change on my own. I'm not legal advice: for a particular case, or if an "
    "answer looks wrong, ask for your question to go to the monitoring officer, or mark the answer "
    "as not helpful so they see it.")


def privacy_reply(facts: BotFacts) -> str:
    who = ("with your name or user id" if facts.logs_identity
           else "without your name or user id")
    return (f"Your questions are logged {who}, with whether I answered and which clauses I "
            f"quoted, so the monitoring officer can improve the answers; entries are deleted after "
            f"{facts.log_retention_days} days. I don't remember earlier conversations: each "
            "question is answered on its own. If you ask for a question to go to the monitoring "
            "officer, that ticket is kept with your name so they can reply.")


def classify(message: str, facts: BotFacts) -> tuple[str, str] | None:
    """("about_bot" | "ask_mo", reply) for a message about the bot or a request for the MO."""
    text = " ".join(message.split())
    if _ASK_MO.search(text) and not _ABOUT_RAISING.search(text):
        return "ask_mo", ASK_MO_LEAD
    if _PRIVACY.search(text):
        return "about_bot", privacy_reply(facts)
    if _CAPABILITY.search(text):
        return "about_bot", CAPABILITY_REPLY
    if _IDENTITY.search(text):
        return "about_bot", (WHAT_I_DO if re.search(r"\bwhat (can|do)\b|\bpurpose\b", text, re.I)
                             else IDENTITY_REPLY)
    if _SMALL.match(text):
        return "about_bot", "Hello. " + WHAT_I_DO
    return None
