"""The plain values the core passes around: documents, passages, citations and answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Document kinds, in the order an answer prefers them at similar relevance.
KINDS = ("protocol", "faq", "guidance", "background")

# Passage types. Exercises are prompts to reflect, not guidance: never offered as answers
# unless the question is about the exercise itself.
PASSAGE_TYPES = ("clause", "guidance", "table", "list", "quotation", "case-study", "tips",
                 "exercise", "answer", "faq", "background", "contents")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    publisher: str
    kind: str
    edition: str
    adopted: dt.date | None = None
    review: dt.date | None = None
    supersedes: str | None = None
    source: str | None = None
    path: str = ""
    aliases: tuple[str, ...] = ()  # how people name it in a question: "our protocol", "the workbook"
    superseded_by: str | None = None  # the edition that replaced this one (issue 10)


@dataclass(frozen=True)
class Passage:
    document_id: str
    ref: str
    heading: str
    text: str
    type: str
    questions: tuple[str, ...] = ()  # FAQ entries: the questions (and variants) they answer
    related: tuple[str, ...] = ()  # FAQ entries: clause refs they rest on
    author: str | None = None
    date: dt.date | None = None
    line: int = 0

    @property
    def key(self) -> str:
        return f"{self.document_id}#{self.ref}"


@dataclass(frozen=True)
class Citation:
    document_id: str
    document: str
    edition: str
    ref: str
    heading: str
    text: str
    score: float
    kind: str = "protocol"
    type: str = "clause"

    @property
    def key(self) -> str:
        """'document_id#ref': how buttons and the question log name the passage."""
        return f"{self.document_id}#{self.ref}"

    @property
    def subheading(self) -> str:
        """The heading, when it says more than the ref (shown under the label)."""
        return self.heading if self.heading != self.ref else ""

    def label(self) -> str:
        """How a person reads the source: 'Member/Officer Relations Protocol 2026, clause 2.3'."""
        where = f"clause {self.ref}" if self.type == "clause" else self.ref
        return f"{self.document} ({self.edition}), {where}"


@dataclass(frozen=True)
class Escalation:
    offered: bool
    reason: str
    prominent: bool = False


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    lead: str
    citations: tuple[Citation, ...]
    escalation: Escalation
    notices: tuple[str, ...] = ()  # e.g. "the protocol's review date has passed"
    sensitive: bool = False  # bullying, harassment, complaints, grievances, whistleblowing
    truncated: bool = False
    # "question": an answer (or decline) from the knowledge base; "about_bot": a fixed reply
    # about the bot itself (who built it, what is logged); "ask_mo": the person asked for their
    # question to go to the monitoring officer, so the escalation flow should start.
    intent: str = "question"

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "lead": self.lead,
            "citations": [
                {
                    "document_id": c.document_id,
                    "document": c.document,
                    "edition": c.edition,
                    "ref": c.ref,
                    "heading": c.heading,
                    "text": c.text,
                    "score": round(c.score, 4),
                    "kind": c.kind,
                    "type": c.type,
                }
                for c in self.citations
            ],
            "escalation": {"offered": self.escalation.offered, "reason": self.escalation.reason,
                           "prominent": self.escalation.prominent},
            "notices": list(self.notices),
            "sensitive": self.sensitive,
            "truncated": self.truncated,
            "intent": self.intent,
        }


@dataclass(frozen=True)
class Asker:
    """Who asked, as the platform names them: ('slack', 'U123', 'Cllr Jones')."""

    platform: str
    user_id: str
    display_name: str = ""

    @property
    def principal(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Ticket:
    id: str  # MO-0042
    asker: Asker
    reply_to: dict  # the platform's conversation reference; opaque to the core
    question: str
    context: str
    bot_refs: tuple[str, ...]
    status: str  # open | assigned | answered | closed
    assignee: str | None
    answer: str | None
    created_at: str
    updated_at: str
    idempotency_key: str
    events: tuple[dict, ...] = field(default_factory=tuple)


TICKET_STATUSES = ("open", "assigned", "answered", "closed")
