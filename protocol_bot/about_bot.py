"""Messages about the bot itself, and requests to pass a question to the monitoring officer.

These are not questions for the knowledge base: "who built you?", "is this chat saved?",
"can the MO see what I asked?" get a short, fixed, accurate reply (the privacy ones say what the
deployment really logs, from BotFacts), and "please pass this to the MO" starts the escalation
flow. Recognised by a few explicit patterns, so the reply is predictable and easy to audit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


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

# Every pattern below is matched against the lower-cased message (faster than re.I).
# Who made it, what it is, how it works, what it can do.
_IDENTITY = re.compile(
    r"\b(who (built|made|created|wrote|designed|programmed|developed|runs|owns|maintains) " + _YOU
    + r"|are " + _YOU + r" (a |an )?(bot|robot|human|real|person|ai|chat ?gpt|computer|machine)"
    r"|(what|who) are " + _YOU + _END + r"|what (can|do) " + _YOU
    + r" (do|help( me)?( with)?|answer|know( about)?)( for me| here)?" + _END
    + r"|how (do|does) " + _YOU + r" (work|find (answers|things)|know (things|that|this)|decide)" + _END
    + r"|where do (you|your answers) (get|come)|what do you (run on|use)"
    r"|(are|is) " + _YOU + r" (using |built on )?(chat ?gpt|an? (ai|llm|language model))"
    r"|what is (this bot|protocol[- ]?bot)|what('?s| is) your (name|purpose))\b")

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
    r"|remember what i (asked|said))")

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
    r"|get (the )?(mo|monitoring officer) to (look|answer|reply|call|contact))")

def _compile(shapes: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    """Each shape on its own, for lower-cased text, its leading \\b checked by _found instead:
    a pattern that opens with a literal or a set of them is searched for many times faster (the
    regular-expression engine skips ahead to where it can start), and every question pays for
    all of them."""
    return tuple(re.compile(shape.removeprefix(r"\b")) for shape in shapes)


def _found(patterns: tuple[re.Pattern, ...], lowered: str) -> bool:
    """Does any pattern match `lowered` at the start of a word?"""
    for pattern in patterns:
        match = pattern.search(lowered)
        while match:
            start = match.start()
            if start == 0 or not lowered[start - 1].isalnum():
                return True
            match = pattern.search(lowered, start + 1)
    return False


# Asking for a person, in other words.
_SOMEONE = (r"(a |an |the )?(real |actual |proper )?(human|person|someone|somebody|mo|monitoring "
            r"officer|officer|lawyer|legal( team)?|right person)")
ASK_MO_SHAPES = (
    r"\b(can|could|may) (i|we) (please )?(speak|talk|chat) (to|with) (a |an )?(real |actual )?(human|"
    r"person|someone|somebody)( (instead|please|now))?" + _END,
    r"\b(put|get) me (through|in touch) (to|with) " + _SOMEONE,
    r"\bis there (a |an )?(real )?(human|person|someone|somebody|anyone) (i|we) (can|could) (speak|"
    r"talk|chat) (to|with)",
    r"\b(connect|transfer|refer) me (to|with) " + _SOMEONE,
    r"\b(get|have|can|could) (someone|somebody|a (real )?(person|human)|the mo|the monitoring officer|"
    r"an officer|legal) (to )?(call|ring|phone|contact|email|get back to|get in touch with|reply to) "
    r"(me|us)\b",
    r"\bi('d| would) like (to )?(escalate|refer|pass on) (this|it|my (question|query))\b",
    r"^\W*(please )?(escalate|escalate (this|it)( please)?|human|speak to (a )?(human|person)|"
    r"talk to (a )?(human|person)|real person|agent|operator)\W*$",
    r"\b(please )?(forward|send|pass) (this|it|my (question|query)) (on )?(to )?(someone|somebody|"
    r"a (real )?(person|human)|the right person|an? officer)\b",
)
_ASK_MO_MORE = _compile(ASK_MO_SHAPES)

# What it can and cannot do, how current and how reliable it is, feedback, legal advice.
_CAPABILITY = re.compile(
    r"\b(can|could|will|do|does) (you|u|it|the bot|this bot) (speak|understand|translate|learn|"
    r"browse|search the (internet|web)|look (things )?up online|go online)\b"
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
    r"|\bwhat aren'?t you\b|\bwhat('?s| is) (this|the) (chat ?bot|bot|tool|thing) for\b")

# --- More ways people talk to a chatbot in Slack or Teams, written from how such chats go (not
# from an evaluation set's items). Each tuple is one kind of message, each entry one regular
# expression over the message (single-spaced, any case). "You" in a question is often anyone
# ("what can you do if a councillor shouts at you?", "do you keep records of meetings?"), so an
# entry needs a word that only fits the bot (made, AI, saved, your answers, for me) or must be
# the whole message.

# What was asked here: the things a privacy question is about.
_CHAT = (r"(this|the|our|my) (chat|conversation|thread|session)|what i('ve| have)? (ask|asked|type|typed|"
         r"write|wrote|say|said|search|searched)( here| you)?|(anything|everything|whatever|"
         r"the (stuff|things)) i (ask|type|write|say|put)( (here|in here|in))?|my (questions?|queries|"
         r"query|chats?|conversations?|searches|"
         r"history)( (to|with|here) (you|the bot|this bot))?|my messages (to|with) (you|the bot)"
         r"|(that|who|when|what) i('m| am)? (asked|ask|asking|use|used|using) (you|this|the bot)"
         r"|who (asked|is asking|asks)")
_PEOPLE = (r"(the )?(mo|monitoring officer|anyone|anybody|someone|somebody|people|my (line )?manager|"
           r"my boss|the council|officers?|councillors?|members|staff|they|hr|it( team)?|"
           r"my (group|party)( leader)?|the leader|the chief exec(utive)?|other (people|users|"
           r"councillors|members|officers)|democratic services|legal|admins?|administrators?)")

IDENTITY_SHAPES = (
    r"\bwho('?s| is| are) (behind|responsible for|running) (this|you|the bot)\b",
    r"\bwho (set (you|this|it) up|put (you|this) here|looks after (you|this bot))\b",
    r"\b(am i|are we) (talking|speaking|chatting|writing) (to|with) (a |an |the )?(real |actual |"
    r"live )?(person|human|bot|robot|machine|computer|ai|chat ?bot|someone|somebody|anyone)",
    r"\bis (this|there|it) (an? |the )?(real |actual |live )?(person|human|bot|robot|ai|chat ?bot|"
    r"automated|automatic|machine|computer program)( (here|there|on the other end|reading this|"
    r"behind (this|it)|answering))?" + _END,
    r"\bis (there )?(a |an )?(real )?(person|human|someone|somebody|anyone) (reading|answering|"
    r"behind|on the other end|checking|typing|replying)",
    r"\b(do|does|are) (you|this bot|the bot|this|it) (use|using|run on|running on|built on|based on|"
    r"powered by) (ai|a\.i\.|artificial intelligence|chat ?gpt|gpt|openai|copilot|gemini|claude|"
    r"an? llm|machine learning|an? (large )?language model|the internet)\b",
    r"\bare (you|u) (chat ?gpt|copilot|gemini|claude|siri|alexa|gpt|an? (chat ?bot|program|"
    r"algorithm))\b",
    r"\bwhat (ai |language |large language )?(ai|model|llm|technology|tech|software|engine) (are you|is this|is it|do you use|"
    r"powers (you|this)|runs (you|this))\b",
    r"\b(what('?s| is) your name|do you have a name|tell me about yourself|introduce yourself|"
    r"who am i (talking|speaking|chatting) (to|with))\b",
    r"\bhow (do|does) (you|u|this bot|the bot|this thing) (work|find (the )?answers?|come up with "
    r"(its |your )?answers?|decide what to say|choose)" + _END,
    r"^\W*how (does|do) (this|it) (all )?work\W*$",
    r"\bwhat is (this|the) (bot|chat ?bot|tool|thing|service|app)" + _END,
    r"\b(are|r) (you|u) (a |an )?((real|actual|live) )?(person|human|bot|robot|machine|computer|"
    r"program|chat ?bot|ai|alive|sentient|conscious)\b",
)

PRIVACY_SHAPES = (
    r"\b(is|are|will|would) (" + _CHAT + r") (be |being |get |gets )?(private|confidential|"
    r"anonymous|secure|saved|stored|recorded|logged|kept|monitored|tracked|traceable|off the record|"
    r"shared|reported|passed on|linked to me|attributed to me)\b",
    r"^\W*(is|will) (this|it|that) (be |being |get |gets )?(private|confidential|anonymous|secure|"
    r"saved|stored|recorded|logged|kept|monitored|tracked|traceable|off the record|between (us|you "
    r"and me)|shared|reported|passed on)( anywhere| somewhere)?\W*$",
    r"\b(can|could|will|would|does|do|is|are) " + _PEOPLE + r" (be able to |get to )?(see|read|know|"
    r"find out|be told|hear|look at|access|view|check|monitor|track) (about )?(" + _CHAT + r")",
    r"\b(does|do|will|would) " + _PEOPLE + r" (know|find out|get told|get notified|be notified|see) "
    r"(that|if|when|what) i('ve| have)? (ask|asked|use|used|been using|am using|'m using) "
    r"(you|this|the bot|this bot)",
    r"\bwho (can|could|will|would|gets to|is able to) (see|read|access|view|look at) (" + _CHAT +
    r"|the (questions|chats|conversations|log|logs))",
    r"\b(do|does|can|could|will|would) (you|u|this bot|the bot) (remember|recall|keep a record of|"
    r"keep track of|store|save|log|record|retain|track|share|pass on|report|forward|tell anyone about|"
    r"tell the mo about) (me|my|what|this|that|our|anything|everything|questions|conversations|"
    r"chats|data|information|details|who|previous|earlier|past)\b",
    r"\b(does|do|can) (you|u|it) (know|see) (who i am|my name|who('?s| is) (asking|typing))\b",
    r"\b(is|are) (there )?(a |an |any )?(record|log|copy|transcript|history|trace) (of|kept of|"
    r"left of) (this|my|our|what i|the chat|the conversation)",
    r"\b(what|which|how much) (data|information|info|details|personal (data|information)) (do|does|"
    r"will|is|are) (you|u|this bot|the bot) (keep|store|hold|collect|log|record|save|kept|stored|"
    r"held|collected|logged|recorded|retain)",
    r"\b(where|how) (is|are) (my|the|our|this|these) (data|questions?|chats?|conversations?|"
    r"information|info|logs?) (stored|kept|held|saved|used|processed|handled)\b",
    r"\b(turn off|switch off|disable|stop) (my |the |this )?(chat |conversation |question |search )?"
    r"(history|logging|recording)\b",
    r"\b(is|are) (my|our) (data|questions?|chats?|messages|information) (sent|stored|kept|held|processed|"
    r"going) (to|in|outside|abroad|overseas)\b",
    r"\b(delete|erase|clear|wipe|remove) (my|our|this|the) (chat |conversation |question |search )?"
    r"(history|chat|conversation|questions?|messages?)\b",
    r"\b(gdpr|data protection|privacy|retention)\b.{0,30}\b(this (bot|chat ?bot|chat|tool|service|"
    r"thing|app|system)|"
    r"the bot|chatbot|protocol[- ]?bot)\b",
    r"\b(this (bot|chat ?bot|chat|tool|service|thing|app|system)|the bot|chatbot|protocol[- ]?bot)\b"
    r".{0,40}\b(gdpr|"
    r"data protection|privacy|personal data)\b",
    r"\bcan i (ask|use (this|you|the bot)|talk to you)( (questions|things))? (anonymously|in "
    r"confidence|confidentially|privately|in private|off the record|without (anyone|the mo|my name|"
    r"being identified))",
    r"\b(is|are) (asking|using) (you|this|the bot|this bot) (private|confidential|anonymous|safe)",
    r"\b(" + _CHAT + r") (get|gets|is|are|be|will be|being)( ever)? (saved|stored|logged|recorded|"
    r"reported|passed on|shared|sent|forwarded|monitored|read|seen|kept|visible|accessible|checked|"
    r"reviewed|looked at)\b",
    r"\bwhat happens (to|with) (" + _CHAT + r")",
    r"\b(do|does|will|would) (you|u|this bot|the bot) (report back to|pass (this|it|things|my "
    r"questions|what i ask) on to|share (this|it|my questions|what i ask) with)\b",
    r"\b(can|could|will|would|does|do) " + _PEOPLE + r" (get|receive|be sent) (a copy of|a record of|"
    r"a transcript of) (this|" + _CHAT + r")",
)

# Things it cannot do for you, what it covers, how current and reliable it is.
_ERRANDS = (r"send|email|e-?mail|forward|message|text|ring|call|phone|book|schedule|arrange|set up|"
            r"organi[sz]e|cancel|remind|print|post|submit|fill in|translate|upload|download|attach")
CAPABILITY_SHAPES = (
    r"\b(can|could|will|would) (you|u) (please )?(" + _ERRANDS + r")\b.{0,60}\b(for (me|us)|on my "
    r"behalf)\b",
    r"\b(can|could|will|would) (you|u) (please )?(remind me|set (me )?a reminder|google|search (the "
    r"(internet|web)|google|online)|translate (this|it|that|into)|summari[sz]e (this|that|it|a |an |my )"
    r"|draft (a|an|my) (letter|email|reply|response|complaint)|read (my|this|an|the) (attachment|pdf|"
    r"email|file|document|doc)|open (my|this|the|a) (attachment|pdf|file|link)|see (my|this|the) "
    r"(attachment|screen|screenshot|file|image|picture)|(send|forward|email) (this|it|that|my "
    r"(question|query)|the answer|me))\b",
    r"\b(can|could|do|does) (you|u|this bot|the bot) (see|read|access|open|look at|check) "
    r"(my|our|the council'?s) (emails?|inbox|calendar|diary|files|documents|records|systems?|"
    r"attachments?|screen)\b",
    r"\b(can|could) (i|we) (send|give|show|paste|share|upload|attach|forward) (you|u|the bot|this bot)\b",
    r"^\W*(can|could|will) (you|u) (help|assist)( me| us)?( please)?\W*$",
    r"\bwhat (kind of |sort of |type of |types of |kinds of )?(questions|things|topics|stuff|subjects|"
    r"areas) (can|should|could|do) (i|we|you) (ask|answer|help( with)?|cover|know|deal with)"
    r"( (you|about))?" + _END,
    r"\bwhat (documents|sources|information|material|guidance|data|knowledge) (do|does|are|is) (you|u|"
    r"this bot|the bot) (use|using|draw on|rely on|search|based on|trained on|work from)\b",
    r"\b(which|what) (documents?|sources?|versions?|editions?|protocols?|guidance)( of the \w+)? (do|"
    r"does|are|is) (you|u|this bot|the bot) (use|using|draw on|rely on|based on|trained on|work from|"
    r"quote|quoting|looking at)\b",
    r"\bwhere (do|does) (you|u|this bot|the bot) (get|find|take) (your|its|this|that|the) "
    r"(information|answers?|info|data|knowledge)\b",
    r"\bhow (accurate|reliable|trustworthy|good|up to date|up-to-date|current|recent|old|correct|"
    r"smart|clever) (are|is) (you|u|your (answers?|information|info|knowledge|data|sources|replies)"
    r"|the bot|this bot|this (tool|thing|chat ?bot))\b",
    r"\b(can|should) (i|we) (trust|rely on|believe|depend on) (you|u|your answers?|the bot|this bot|"
    r"what (you|the bot) (say|says|tell|tells))" + _END,
    r"\b(is|are) (your (answers?|information|info|replies)|the bot|this bot|the bot'?s answers?) "
    r"(ever |always |sometimes |usually )?(wrong|right|correct|accurate|reliable|trustworthy|up to date|"
    r"up-to-date|current|checked|reviewed|approved|official)\b",
    r"\b(are|r) (you|u) (ever |always |sometimes |usually )?(wrong|right|correct|accurate|reliable|"
    r"trustworthy|up to date|up-to-date|current|checked|reviewed|approved|official)" + _END,
    r"\b(when|how often) (were|are|was|is|do|does) (you|u|your (information|knowledge|data|sources|"
    r"documents)|the bot|this bot) (last )?(get )?(updated|trained|refreshed|checked|reviewed|update)"
    + _END,
    r"\bdo (you|u) (give|provide|offer) legal advice\b",
    r"\bdo (you|u) (give|provide|offer) (proper |professional )?advice" + _END,
    r"\b(report|flag) (a |an )?(problem|bug|issue|error|mistake|fault) (with|in|on|about) (you|your|"
    r"the bot|this bot|an answer|the answer)",
    r"\bhow (do|should|can) i (use|talk to|ask|get the best (out )?of) (you|u|this bot|the bot|this "
    r"(tool|thing|chat ?bot))\b",
    r"\bhow (should|do|can) i (phrase|word|ask) (my )?(questions?|things)( for you| to you)?" + _END,
    r"\bwhat languages? (do|can) (you|u) (speak|understand|read|do)\b",
    r"\b(are|is) (you|u|this bot|the bot) (available|working|on|online|up|open) (on|in) (my |a )?(phone|"
    r"mobile|ipad|tablet|laptop|teams|slack)\b",
    r"\bdo (you|u|this bot|the bot) (work|run) (offline|without (the |an )?internet)\b",
    r"\bwhich version (of (you|the bot|this bot|this chat ?bot)|are you)\b",
    r"\b(are|r) (you|u) (allowed|able|permitted|meant) to (give|have|share|express) (your own )?"
    r"(political )?(opinions?|views)\b",
    r"\b(are|is) (you|u|this bot|the bot) (available|working|on|online|up|open) (24/7|all the time|"
    r"at (the )?weekends?|out of hours|overnight|on holidays?)\b",
    r"\bdo (you|u) (have|keep) (a )?(history|memory|records?|logs?)" + _END,
    r"\bwhat (happens|do you do|should i do|then) (if|when) (you|u|the bot) (don'?t|doesn'?t|can'?t|"
    r"cannot|do not) (know|find|answer|understand|have)",
    r"\bdo (you|u) know (everything|anything|much|a lot)\b",
    r"\byour (knowledge base|database|training( data)?|creators?|developers?|owners?|makers?|"
    r"programming|code|algorithm|limitations|limits)\b",
    r"\b(are|is) (you|your answers?|what you say) (the )?(council'?s )?(official|formal) (view|"
    r"position|advice|line)\b",
    r"\b(can|could) (i|we) (use|access|get) (you|u|this bot|the bot) (on|in|from|outside|at|via) "
    r"(my |a )?(phone|mobile|ipad|tablet|teams|slack|home|laptop|personal device)",
    r"\b(do|does) (you|u|this bot|the bot) work (on|in|from) (a |my )?(mobile|phone|teams|slack|"
    r"ipad|tablet)",
    r"\bhow many questions (can|may) (i|we) ask\b|\b(limit|maximum) (on|to) (how many|the number "
    r"of) questions\b",
    r"\b(do|does) (you|u|the bot|this bot) have (access to|internet|an internet|a connection)",
    r"\b(are|were|was) (you|u|this bot|the bot) (trained|programmed|taught) (on|with|by|using)\b",
    r"\b(are|were|was) (you|u|this bot|the bot) (built|made|created|written|designed|developed) "
    r"(by|for|in-house|here)\b",
    r"\b(the bot|this bot|this thing|you) (is|are|'re|'s) (broken|not working|down|playing up)\b",
    r"\b(answer|reply|respond|speak|talk|write) (to me )?in (welsh|french|polish|urdu|punjabi|bengali|"
    r"arabic|spanish|gaelic|another language|other languages)\b",
    r"\b(source|reference) (for|of) (that|this|your) (answer|reply|response)\b",
    r"\bwhy (did|do|would) (you|u|the bot) (say|give|quote|suggest|pick|choose|cite|show)( me)? "
    r"(that|this|those)\b",
    r"\byou (didn'?t|did not|haven'?t|have not|never) (answer|understand|help|get)\b",
)


_IDENTITY_MORE = _compile(IDENTITY_SHAPES)
_PRIVACY_MORE = _compile(PRIVACY_SHAPES)
_CAPABILITY_MORE = _compile(CAPABILITY_SHAPES)

# Small talk: the whole message is acknowledgements, greetings, farewells and reactions, in any
# mix ("ok thanks!", "hi, how are you?", "lol", "nevermind", "happy friday"). Declined politely.
_ACK = (r"thanks?|thank (you|u)|thankyou|ty|thx|tx|cheers|ta|many thanks|much appreciated|"
        r"appreciated|ok(ay)?|okey|kk?|cool|great|nice|perfect|brilliant|lovely|excellent|awesome|"
        r"super|fab(ulous)?|fantastic|amazing|good|grand|sound|fine|right|alright|all right|sure|yes|"
        r"yeah|yep|yup|no|nope|nah|got it|understood|noted|makes sense|fair enough|no worries|"
        r"no problem|np|sorry|my bad|oops|never ?mind|nvm|forget it|don'?t worry|lol|lmao|rofl|"
        r"ha(ha)+|he(he)+|hm+|um+|erm*|ah+|oh+|ooh+|wow|interesting|test(ing)?( \d+)?|bye|goodbye|"
        r"bye bye|see (you|ya)|later|ttyl|cya|good ?night|night|you too|same to you|will do|hello|hi|"
        r"hey|hiya|yo|howdy|morning|afternoon|evening|good (morning|afternoon|evening|day)|"
        r"happy (friday|monday|weekend|christmas|new year|easter|holidays)|have a (good|nice|great|"
        r"lovely) (day|weekend|evening|one|night)|how are (you|u|things)( doing)?( today)?|"
        r"how'?s (it going|things|your day( going)?|life|you)|what'?s up|sup|you (there|around)|"
        r"are you (there|around|awake|ok|okay|alright|well)|good (bot|job|stuff|one)|well done|"
        r"nice one|that'?s (it|all|fine|great|helpful|useful|perfect|brilliant|lovely|not (really |"
        r"very )?helpful|no help|useless|rubbish)|(not|wasn'?t|isn'?t) (really |very )?(helpful|"
        r"useful|what i (wanted|needed|meant))|you('re| are) (great|brilliant|a star|helpful|useless|"
        r"rubbish|amazing|the best|wrong|broken)|anyway|then|so|again|very much|so much|a lot|loads|"
        r"all|everyone|there|bot|mate|really|very|just|quite|actually|indeed|totally|absolutely|"
        r"definitely|exactly|truly|much|helpful|useful|that'?s|that is|this is|it was|it'?s|spot on|"
        r"legend|star|superb|for (that|this|the (help|info|information|answer|reply)|your "
        r"help|nothing|trying)")
_SMALL_TALK = re.compile(r"^\W*((" + _ACK + r")\b\W*)*$", re.I)  # or only emoji and punctuation
# Chat no document could answer: jokes and poems, favourites, feelings, the weather, lunch.
CHAT_SHAPES = (
    r"\b(write|tell|give|make|compose|sing) (me |us )?(a|an|some|another) (poem|joke|song|story|"
    r"limerick|haiku|rap|riddle|pun)s?\b",
    r"\b(say|tell me) something (funny|nice|interesting)\b",
    r"\bwhat('?s| is| are) your (favou?rites?|hobby|hobbies)\b",
    r"\b(do|did) (you|u) (like|love|enjoy|hate|prefer|have (a |any )?(favou?rite|hobbies|feelings|"
    r"friends|family|pets|a life)|get bored)\b",
    r"\b(are|r) (you|u) (happy|sad|bored|tired|lonely|single|married|having a good day)\b",
    r"\bhow (was|is) your (day|weekend|morning|week)\b",
    r"\b(what'?s|how'?s|what is|is it going to|will it) .{0,25}\bweather\b|\bweather forecast\b",
    r"\bis it (going to|gonna) (rain|snow|be sunny)\b",
    r"\bwhat (day|date|time) is it\b|\bwhat'?s the (date|time) (today|now)\b",
    r"\b(recommend|recommendations?|suggestions?|ideas?) (for|of) (lunch|dinner|breakfast|coffee|"
    r"a (restaurant|cafe|pub|sandwich))\b",
    r"\bwhere (can|should|could) (i|we) (get|grab|have|go for) (lunch|coffee|dinner|a drink|a sandwich)\b",
    r"\bmeaning of life\b",
    r"^\W*i'?m (so |really |very |a bit )?(tired|bored|hungry|knackered|exhausted|sleepy)\b"
    r"(?! of| with)[^?]{0,40}$",
    r"\b(any|got any|what are your) plans (for|this) (the )?(weekend|tonight|holidays?|christmas)\b",
    r"\bwho (do you think )?(will|'?ll|is going to) win\b",
    r"\bi (love|hate) (you|u|this bot|the bot)\b",
)
_CHAT_MORE = _compile(CHAT_SHAPES)


@lru_cache(maxsize=1024)  # asked up to three times per message (the decision, the lead, the escalation)
def is_small_talk(message: str) -> bool:
    """Greetings, thanks, reactions and chit-chat: nothing the documents could answer."""
    text = " ".join(message.split())
    return bool(_SMALL_TALK.match(text) or _found(_CHAT_MORE, text.lower()))


# "Should I raise it with the MO?" asks about procedure (the documents answer it); "please raise
# this with the MO" asks the bot to do it.
_ABOUT_RAISING = re.compile(
    r"\b(should|must|do|does|would|whether|when|who|how) (i|we|they|one|you|officers?|councillors?|"
    r"members?|staff)\b[^.?!]{0,40}\b(raise|refer|report|take|escalate|pass|send|go|speak|talk|ask)")

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
    lowered = text.lower()
    if ((_ASK_MO.search(lowered) or _found(_ASK_MO_MORE, lowered))
            and not _ABOUT_RAISING.search(lowered)):
        return "ask_mo", ASK_MO_LEAD
    if _PRIVACY.search(lowered) or _found(_PRIVACY_MORE, lowered):
        return "about_bot", privacy_reply(facts)
    if _CAPABILITY.search(lowered) or _found(_CAPABILITY_MORE, lowered):
        return "about_bot", CAPABILITY_REPLY
    if _IDENTITY.search(lowered) or _found(_IDENTITY_MORE, lowered):
        return "about_bot", (WHAT_I_DO if re.search(r"\bwhat (can|do)\b|\bpurpose\b", text, re.I)
                             else IDENTITY_REPLY)
    if _SMALL.match(text):
        return "about_bot", "Hello. " + WHAT_I_DO
    return None
