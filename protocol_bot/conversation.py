"""Every use case once, for every platform: plain `Incoming` in, plain `Reply` values out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import wording
from .config import Config
from .delivery import Deliveries
from .desk import Desk, DeskError, NotPermitted, platform_of
from .live import LiveKnowledge
from .models import Answer, Asker, Citation, Ticket
from .faq import FaqWriteError
from .store import (ConversationRefs, EntryNotFound, Events, Inbox, OutboxMessage, Store,
                    TicketNotFound)
from .watcher import start_watching

log = logging.getLogger(__name__)

WAITING = ("open", "assigned")
MAX_LISTED = 10
MO_ACTIONS = ("assign", "answer", "close", "reopen")
CONSIDERED = 5  # passages offered on a ticket card with "This answers it"
# The longest answer or FAQ text the MO's form takes (Slack's own limit is lower: it uses that).
ANSWER_LIMIT = 4000


@dataclass(frozen=True)
class Place:
    """Where a person spoke: the platform's conversation, thread, and how to reach it later."""

    conversation: str = ""
    thread: str | None = None
    is_private: bool = False  # a personal chat or DM, where tickets may be shown
    reference: Mapping = field(default_factory=dict)  # the platform's reply-to; opaque here


@dataclass(frozen=True)
class Incoming:
    """What a person did: typed `text`, or pressed a button / sent a form (`action`, `data`)."""

    asker: Asker
    place: Place
    event_key: str = ""  # the platform's own id for this event: a redelivery acts once
    text: str = ""
    action: str | None = None  # ask, helpful, not_helpful, escalate_form, escalate, ticket,
    #                            answer_form, tickets, passage,
    #                            assign, answer, close, reopen, teach, untaught, faq_list,
    #                            faq_withdraw
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What to send back; adapters only render it.

    kind: answer | help | text | escalate_form (offer to send `text`, the question, to the MO;
    `answer` too when the person asked for that) | ticket_opened | ticket_card | ticket_list |
    passage | ticket_answered (the MO's answer, to the asker) |
    taught (a question taught to a passage; `taught_id` undoes it) |
    refused (not a monitoring officer) | error (the request cannot be done; `text` says why)
    """

    kind: str
    text: str = ""
    answer: Answer | None = None
    log_id: int | None = None
    ticket: Ticket | None = None
    citation: Citation | None = None
    created: bool = False
    replaces_clicked: bool = False  # update the card or message that was clicked
    choices: tuple[str, ...] = ()  # monitoring officers a ticket can be assigned to
    cited: tuple[str, ...] = ()  # a ticket: what the bot had cited, as the MO reads it
    items: tuple["Reply", ...] = ()  # a ticket list: one ticket_card each
    # a ticket: the passages the bot considered, ('document_id#ref', label), for the MO's
    # "This answers it" buttons
    considered: tuple[tuple[str, str], ...] = ()
    taught_id: int | None = None
    offers: tuple[str, ...] = ()  # a ticket: the MO actions its status allows (see `offers`)
    by: str = ""  # who did what a ticket message reports: assigned or answered a queued one,
    #               or acted on the one clicked (its status line)


@dataclass(frozen=True)
class Outgoing:
    """One rendered platform message for a person, and where it goes."""

    recipient: str  # PLATFORM:USER
    reply_to: Mapping
    message: Mapping


@dataclass(frozen=True)
class AnswerView:
    """What an answer shows on any platform, in this order; renderers only style it."""

    lead: str  # the key sentence with its clause, or why there is no answer
    next_step: str  # declined: how the monitoring officer can answer it
    notes: tuple[str, ...]  # private-advice suggestion, review date, long question
    citations: tuple[Citation, ...]
    refs: tuple[str, ...]  # what was cited, as 'document_id#ref' (buttons carry them back)
    ask_mo_first: bool  # "Ask the monitoring officer" leads and stands out
    feedback: bool  # Helpful / Not helpful are offered on what was shown

    @property
    def summary(self) -> str:
        """The answer as plain text: notifications, screen readers, old clients."""
        sources = "; ".join(f"{c.label()} ({c.subheading})" if c.subheading else c.label()
                            for c in self.citations)
        lines = [self.lead, self.next_step, sources and f"Sources: {sources}", *self.notes,
                 f"Not what you needed? {wording.ASK_MO}."]
        return "\n".join(line for line in lines if line)

    @property
    def actions(self) -> tuple[str, ...]:
        """The buttons under it, in order (labels: wording.ANSWER_ACTIONS): "Ask the monitoring
        officer" first when it stands out, else after Helpful / Not helpful."""
        feedback = ("helpful", "not_helpful") if self.feedback else ()
        return ("escalate", *feedback) if self.ask_mo_first else (*feedback, "escalate")

    @staticmethod
    def cited_as(citation: Citation) -> str:
        """What is said under a citation's label: whose words an FAQ answer is."""
        return wording.FAQ_GUIDANCE if citation.kind == "faq" else ""

    @classmethod
    def of(cls, answer: Answer) -> "AnswerView":
        return cls(
            lead=answer.lead or ("" if answer.answered else wording.DECLINED),
            next_step="" if answer.answered else wording.DECLINED_NEXT,
            notes=((wording.SENSITIVE,) if answer.sensitive else ()) + tuple(answer.notices),
            citations=tuple(answer.citations),
            refs=tuple(c.key for c in answer.citations),
            ask_mo_first=answer.escalation.prominent or not answer.answered,
            feedback=bool(answer.citations))


@dataclass(frozen=True)
class TicketView:
    """What a ticket card shows an MO on any platform; renderers lay it out and name the people
    (`name`: a principal as the platform shows a person, a mention or escaped text)."""

    ticket: Ticket
    assigned_by: str  # a queued card assigned to the MO reading it: who assigned it
    acted_by: str  # the card clicked: who acted on it just now
    cited: str  # what the bot had cited, as the MO reads it
    offers: tuple[str, ...]  # the MO actions its status allows (labels: wording.OFFER_LABELS)
    considered: tuple[tuple[str, str], ...]  # ('document_id#ref', label): "This answers it"

    @classmethod
    def of(cls, reply: Reply) -> "TicketView":
        clicked = reply.replaces_clicked
        return cls(ticket=reply.ticket, assigned_by="" if clicked else reply.by,
                   acted_by=reply.by if clicked else "", cited=wording.bot_cited(reply.cited),
                   offers=reply.offers, considered=reply.considered)

    def headline(self, name: Callable[[str], str]) -> str:
        return wording.ticket_headline(self.ticket.id,
                                       name(self.assigned_by) if self.assigned_by else "")

    def status(self, name: Callable[[str], str]) -> str:
        assignee = self.ticket.assignee
        return wording.status_name(self.ticket.status, name(assignee) if assignee else "")

    def status_line(self, name: Callable[[str], str]) -> str:
        """Who acted just now, only on the card they clicked (a queued card's headline already
        says who assigned it); "" otherwise."""
        if not self.acted_by:
            return ""
        assignee = self.ticket.assignee
        return wording.ticket_status(self.ticket.status, by=name(self.acted_by),
                                     assignee=name(assignee) if assignee else "")

    def summary(self, name: Callable[[str], str], asker: str,
                literal: Callable[[str], str] = str) -> str:
        """The card as plain text, the question cut to 1,000 characters; `asker` as named, and
        `literal`: how the platform shows others' words as typed (escaped)."""
        return wording.ticket_summary(self.headline(name), asker,
                                      literal(self.ticket.question[:1000]), literal(self.cited))


def offers(status: str, faq_status: str = "") -> tuple[str, ...]:
    """What an MO's ticket card offers in this status: Assign and Answer while it waits, Close
    until it is closed, the FAQ answers always, Withdraw while its FAQ answer is live (and
    teaching, always)."""
    return (("assign", "answer") if status in WAITING else ()) + (
        ("close",) if status != "closed" else ()) + ("faq_list",) + (
        ("faq_withdraw",) if faq_status == "live" else ())


def considered_pairs(pairs) -> tuple[tuple[str, str], ...]:
    """('document_id#ref', label) pairs, as stored or computed, those with a key only."""
    return tuple((str(pair[0]), str(pair[1]) if len(pair) > 1 else "")
                 for pair in pairs or () if pair and pair[0])


def text_reply(text: str) -> Reply:
    return Reply("text", text=text)


def queued_ticket(message: OutboxMessage) -> Ticket:
    """The ticket as a queued message describes it (what the MO or the asker is shown)."""
    body = message.body or {}
    asker = body.get("asker") or {}
    assigned = message.kind == "ticket_assigned"
    return Ticket(id=message.ticket_id or str(body.get("ticket_id") or ""),
                  asker=Asker(str(asker.get("platform") or ""), str(asker.get("user_id") or ""),
                              str(asker.get("display_name") or "")),
                  reply_to={}, question=str(body.get("question") or ""),
                  context=str(body.get("context") or ""),
                  bot_refs=_refs(body.get("bot_refs")),
                  status={"ticket_assigned": "assigned", "ticket_answered": "answered"}.get(
                      message.kind, "open"),
                  assignee=message.recipient if assigned else None,
                  answer=str(body.get("answer") or "") or None, created_at="", updated_at="",
                  idempotency_key="")


def _words(text: str) -> str:
    return text.lower().strip(" .!?")


def _yes(value) -> bool:
    return str(value or "").lower() in ("true", "1", "yes", "on")


def _refs(value) -> tuple[str, ...]:
    """A list as sent, or text as typed into a form, one item a line."""
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(line.strip() for line in value.splitlines() if line.strip())
    return tuple(str(v) for v in value if v)


class Conversation:
    """The bot's behaviour, whatever the platform. Synchronous: adapters call it off their loop."""

    def __init__(self, knowledge: LiveKnowledge, desk: Desk, events: Events,
                 refs: ConversationRefs, deliveries: Deliveries, inbox: Inbox | None = None):
        self.knowledge = knowledge
        self.desk = desk
        self.events = events
        self.inbox = inbox if inbox is not None else desk.store
        self.refs = refs
        self.deliveries = deliveries
        self._refs_seen: dict[str, Mapping] = {}
        self._refs_lock = threading.Lock()

    @classmethod
    def build(cls, config: Config, store: Store | None = None,
              knowledge: LiveKnowledge | None = None) -> "Conversation":
        from .sqlite_store import open_store

        from .desk import taught_hints

        store = store if store is not None else open_store(config)
        knowledge = knowledge or LiveKnowledge.for_config(
            config, hints=lambda: taught_hints(store), store=store)
        desk = Desk(store, knowledge, config.monitoring_officers,
                    log_keep_identity=config.log_keep_identity,
                    log_retention_days=config.log_retention_days)
        return cls(knowledge, desk, store, store,
                   Deliveries(store, notify=desk.notify_mos, lease=config.delivery_lease_seconds))

    # --- the durable path: record first, acknowledge, answer from the record -------------------
    def record_many(self, platform: str, items: list[tuple[str, dict]]) -> list[bool]:
        """Keep platform payloads before the platform is acknowledged, a burst in one commit:
        True for each newly recorded one, False for a redelivery (acknowledged and dropped)."""
        return [i is not None for i in self.inbox.record_many(platform, items)]

    def answer_recorded(self, platform: str, respond: Callable[[dict], list[Outgoing]],
                        now: float) -> int:
        """Answer what was recorded and not yet answered (after a restart too): `respond` (the
        adapter's translation, calling `handle(..., recorded=True)`) gives the messages, which
        are queued in the outbox in the same commit that marks the record answered."""
        records = self.inbox.claim_incoming(platform, now, lease=self.deliveries.lease)
        for record_id, payload in records:
            try:
                outgoing = respond(payload)
            except Exception:  # left for a later try (a few), never a lost record
                log.exception("%s: could not answer recorded message %d", platform, record_id)
                continue
            self.inbox.complete_incoming(record_id, [
                {"platform": platform, "recipient": o.recipient, "reply_to": o.reply_to,
                 "kind": "reply", "body": {"message": o.message}} for o in outgoing], now)
        return len(records)

    # --- entry point -------------------------------------------------------------------------
    def handle(self, incoming: Incoming, *, recorded: bool = False) -> list[Reply]:
        """Act once on what a person did and say what to send back. `recorded`: it came
        through `record_many`, which already dropped redeliveries."""
        self._remember(incoming)
        if (incoming.event_key and not recorded
                and not self.events.claim_event(incoming.event_key)):
            log.info("event already handled: redelivery ignored")
            return []
        try:
            return self._dispatch(incoming)
        except NotPermitted:
            return [Reply("refused", text=wording.NOT_MO.format(
                principal=incoming.asker.principal))]
        except (DeskError, TicketNotFound, EntryNotFound, FaqWriteError) as exc:
            return [Reply("error", text=str(exc).strip("'\""))]
        except Exception:  # never a traceback for the person; the log has it
            log.exception("could not handle %s", incoming.action or "a message")
            return [Reply("error", text=wording.TROUBLE)]

    def _dispatch(self, incoming: Incoming) -> list[Reply]:
        action, data = incoming.action, incoming.data
        if action is None:
            return self._typed(incoming)
        if action == "hello":  # installed or joined: nothing to do but remember the place
            return []
        if action == "ask":
            return self.ask(incoming.asker, self.question_of(data))
        if action in ("helpful", "not_helpful"):
            return [self.feedback(incoming, helpful=action == "helpful")]
        if action == "escalate_form":
            return [self.offer_escalation(data)]
        if action == "escalate":
            return [self.escalate(incoming)]
        if action == "tickets":
            return self.list_tickets(incoming)
        if action in ("ticket", "answer_form"):  # answer_form: the MO opens the answer form
            ticket = self.desk.show(str(data.get("ticket") or ""), incoming.asker.principal)
            if action == "answer_form" and ticket.status not in WAITING:
                return [text_reply(wording.not_answerable(ticket.id, ticket.status))]
            return [self.ticket_card(ticket)]
        if action in MO_ACTIONS:
            return self.act_on_ticket(incoming, action)
        if action == "passage":
            return [self.passage(str(data.get("key") or ""))]
        if action == "teach":
            return [self.teach(incoming)]
        if action == "untaught":
            return [self.untaught(incoming)]
        if action == "faq_list":
            return [text_reply(wording.faq_list(self.desk.faq_entries(
                incoming.asker.principal, include_withdrawn=True)))]
        if action == "faq_withdraw":
            return self.faq_withdraw(incoming)
        log.warning("unknown action %r", action)
        return [text_reply(wording.UNKNOWN_ACTION)]

    def _typed(self, incoming: Incoming) -> list[Reply]:
        words = _words(incoming.text)
        if words in wording.HELP_WORDS:
            return [Reply("help")]
        if words in wording.WHOAMI_WORDS:
            principal = incoming.asker.principal
            return [text_reply(wording.whoami(principal, self.desk.is_mo(principal)))]
        if words in wording.TICKETS_WORDS:
            return self.list_tickets(incoming)
        return self.ask(incoming.asker, incoming.text)

    # --- asking ------------------------------------------------------------------------------
    def ask(self, asker: Asker, question: str) -> list[Reply]:
        """Answer from the live knowledge and log the question (the log never withholds one)."""
        if not question.strip():
            return [text_reply(wording.NO_QUESTION)]
        try:
            answer = self.knowledge.ask(question)
        except Exception:
            log.exception("answering failed")
            return [text_reply(wording.TROUBLE)]
        if answer.intent == "about_bot":
            return [text_reply(answer.lead)]
        log.info("%s question answered=%s citations=%d", asker.platform, answer.answered,
                 len(answer.citations))
        try:
            log_id = self.desk.record_question(asker, answer)
        except Exception:
            log.exception("could not log the question")
            log_id = None
        if answer.intent == "ask_mo":  # "pass this to the MO": the form, where it can be shown
            return [Reply("escalate_form", text=answer.question, answer=answer, log_id=log_id)]
        return [Reply("answer", answer=answer, log_id=log_id)]

    def question_of(self, data: Mapping) -> str:
        """The question a button is about: buttons carry the question log's id (a short id,
        whatever the person typed), or the question itself when it could not be logged."""
        log_id = data.get("log")
        if isinstance(log_id, int) and not data.get("question"):
            return self.desk.store.logged_question(log_id) or ""
        return str(data.get("question") or "")

    def feedback(self, incoming: Incoming, *, helpful: bool) -> Reply:
        """One vote per person per answer: a double click is not two votes."""
        data = incoming.data
        voter = f"feedback:{data.get('key') or data.get('log')}:{incoming.asker.principal}"
        if not self.events.claim_event(voter):
            return text_reply(wording.ALREADY_RATED)
        log_id = data.get("log")
        self.desk.feedback(log_id if isinstance(log_id, int) else None, incoming.asker,
                           self.question_of(data), _refs(data.get("refs")), helpful)
        return text_reply(wording.THANKS_HELPFUL if helpful else wording.THANKS_NOT_HELPFUL)

    def passage(self, key: str) -> Reply:
        """A cited passage in full ('document_id#ref'), from the live knowledge."""
        citation = self.knowledge.citation(key)
        if citation is None:
            return text_reply(wording.PASSAGE_GONE)
        return Reply("passage", citation=citation)

    # --- escalation --------------------------------------------------------------------------
    def offer_escalation(self, data: Mapping) -> Reply:
        """"Ask the monitoring officer" pressed: the form to send the question with any context;
        when the question cannot be found, say so rather than show a form with nothing in it."""
        question = self.question_of(data).strip()
        if not question:
            return text_reply(wording.NO_QUESTION)
        log_id = data.get("log")
        return Reply("escalate_form", text=question, cited=_refs(data.get("refs")),
                     log_id=log_id if isinstance(log_id, int) else None)

    def escalate(self, incoming: Incoming) -> Reply:
        """Open the asker's ticket (once per key) with the MOs' notices queued in the same step."""
        data = incoming.data
        question = self.question_of(data).strip()
        if not question:
            return text_reply(wording.NO_QUESTION)
        key = str(data.get("key") or "") or incoming.event_key
        ticket, created = self.desk.escalate(
            incoming.asker, question, idempotency_key=key,
            reply_to=dict(incoming.place.reference) or None,
            context=str(data.get("context") or "").strip(), bot_refs=_refs(data.get("refs")))
        return Reply("ticket_opened", ticket=ticket, created=created,
                     text=wording.ticket_opened(ticket.id, created, ticket.status))

    # --- the monitoring officer --------------------------------------------------------------
    def list_tickets(self, incoming: Incoming) -> list[Reply]:
        if not incoming.place.is_private:
            return [text_reply(wording.TICKETS_PRIVATE)]
        tickets = self.desk.list_tickets(incoming.asker.principal)
        waiting = [t for t in tickets if t.status in WAITING]
        if not waiting:
            return [text_reply(wording.NO_TICKETS_WAITING)]
        shown = waiting[-MAX_LISTED:]
        return [Reply("ticket_list", text=wording.tickets_waiting(len(waiting), len(shown)),
                      items=tuple(self.ticket_card(t, asker=incoming.asker) for t in shown))]

    def act_on_ticket(self, incoming: Incoming, verb: str) -> list[Reply]:
        actor, data = incoming.asker.principal, incoming.data
        ticket_id = str(data.get("ticket") or "")
        if verb == "assign":
            ticket = self.desk.assign(ticket_id, str(data.get("to") or actor), actor)
        elif verb == "answer":
            ticket = self.desk.answer(ticket_id, actor, str(data.get("text") or ""),
                                      save_faq=_yes(data.get("save_faq")),
                                      faq_questions=_refs(data.get("faq_questions")),
                                      faq_text=str(data.get("faq_text") or "").strip() or None)
        elif verb == "reopen":
            ticket = self.desk.reopen(ticket_id, actor)
        else:
            ticket = self.desk.close(ticket_id, actor)
        saved = verb == "answer" and _yes(data.get("save_faq"))
        said = wording.ticket_done(verb, ticket.id, assignee=ticket.assignee, faq=saved,
                                   asker=ticket.asker.display_name or ticket.asker.principal)
        # the card clicked shows the new status and who acted (wording.ticket_status)
        return [text_reply(said), self.ticket_card(ticket, asker=incoming.asker,
                                                   replaces_clicked=True, by=actor)]

    def ticket_card(self, ticket: Ticket, *, asker: Asker | None = None,
                    replaces_clicked: bool = False, by: str = "") -> Reply:
        faq = next((r.status for r in self.desk.store.faq_entries(include_withdrawn=True)
                    if r.id == ticket.id), "")
        return Reply("ticket_card", ticket=ticket, replaces_clicked=replaces_clicked, by=by,
                     offers=offers(ticket.status, faq),
                     choices=self._choices(asker or ticket.asker),
                     cited=tuple(self.knowledge.labels(ticket.bot_refs)),
                     considered=considered_pairs(self.knowledge.considered(
                         ticket.question, ticket.bot_refs, limit=CONSIDERED)))

    def queued_reply(self, message: OutboxMessage) -> Reply:
        """A queued message for an MO or an asker (not an answer, which is queued rendered)
        as the reply to render: the ticket card, the MO's answer, or a notice."""
        body, ticket = message.body or {}, queued_ticket(message)
        if message.kind in ("ticket_opened", "ticket_assigned", "ticket_answered"):
            if message.kind == "ticket_answered":
                return Reply("ticket_answered", ticket=ticket, by=str(body.get("answered_by") or ""))
            by = str(body.get("assigned_by") or "")
            return Reply("ticket_card", ticket=ticket, by=by, offers=offers(ticket.status),
                         choices=self._choices(Asker(platform_of(message.recipient), "")),
                         cited=_refs(body.get("cited") or body.get("bot_refs")),
                         considered=considered_pairs(body.get("considered")))
        if message.kind == "notice":
            return text_reply(str(body.get("text") or ""))
        return text_reply(wording.ticket_news(ticket.id, message.kind, ticket.question))

    # --- teaching the bot and managing FAQ answers -------------------------------------------
    def teach(self, incoming: Incoming) -> Reply:
        """"This answers it" on a ticket card: the ticket's question becomes a hint of the
        passage (a key the card offered), live at once. Button data holds no question text."""
        actor, data = incoming.asker.principal, incoming.data
        ticket = self.desk.show(str(data.get("ticket") or ""), actor)
        key = str(data.get("key") or "")
        taught, created = self.desk.teach(ticket.question, key, actor,
                                          source=f"ticket {ticket.id}")
        label = (self.knowledge.labels([key]) or [key])[0]
        return Reply("taught", text=wording.taught(taught.question, label, created, taught.id),
                     ticket=ticket, taught_id=taught.id)

    def untaught(self, incoming: Incoming) -> Reply:
        taught = self.desk.untaught(str(incoming.data.get("taught") or ""),
                                    incoming.asker.principal)
        label = (self.knowledge.labels([taught.passage_key]) or [taught.passage_key])[0]
        return text_reply(wording.untaught(taught.question, label, taught.id))

    def faq_withdraw(self, incoming: Incoming) -> list[Reply]:
        actor = incoming.asker.principal
        record = self.desk.faq_withdraw(str(incoming.data.get("ticket") or ""), actor)
        ticket = self.desk.show(record.id, actor)
        return [text_reply(wording.faq_withdrawn(record.id)),
                self.ticket_card(ticket, asker=incoming.asker, replaces_clicked=True)]

    def _choices(self, asker: Asker) -> tuple[str, ...]:
        """The MOs a ticket can be assigned to from this platform."""
        return tuple(sorted(mo for mo in self.desk.monitoring_officers
                            if platform_of(mo) == asker.platform))

    # --- bookkeeping -------------------------------------------------------------------------
    def reachable_mos(self) -> dict[str, bool]:
        return self.desk.reachable_mos()

    def health(self) -> dict:
        """What the health check reports: "degraded" while the knowledge base has problems."""
        problems = [str(p) for p in self.knowledge.last_problems]
        return {"status": "ok" if not problems else "degraded",
                "passages": len(self.knowledge.answerer.kb.passages),
                # "sqlite" or "postgresql"; the knowledge version answered from
                # (PostgreSQL: its number; SQLite: a hash of the folder's files)
                "store": getattr(self.desk.store, "kind", "unknown"),
                "knowledge_version": self.knowledge.version,
                "knowledge_problems": problems}

    def watch_knowledge(self):
        """Knowledge edits on disk (or new versions in PostgreSQL) reach this process; `stop()`
        the watcher returned."""
        return start_watching(self.knowledge, self.desk.store)

    def _remember(self, incoming: Incoming) -> None:
        """Keep each person's private-chat reference: Teams can only message someone
        proactively (an MO's ticket, say) once it has one."""
        place, principal = incoming.place, incoming.asker.principal
        if not place.is_private or not place.reference or not incoming.asker.user_id:
            return
        with self._refs_lock:
            if self._refs_seen.get(principal) == place.reference:
                return
            self._refs_seen[principal] = place.reference
        try:
            self.refs.save_reference(principal, dict(place.reference))
        except Exception:
            with self._refs_lock:
                self._refs_seen.pop(principal, None)
            log.exception("could not store the conversation reference")
