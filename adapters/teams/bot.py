"""What the Teams bot does with each activity: plain dicts in, plain dicts out, no SDK.

`TeamsLogic.handle(activity)` takes one incoming Bot Framework activity (JSON dict) and returns
the activities to send back into the same conversation (and thread). Replies marked with
`REPLACE` update the card that was clicked instead of posting a new message.
`TeamsLogic.render_outbox(message)` turns a queued outbox message (a ticket for the MO, the MO's
answer for the asker) into the activity to deliver proactively.

It is synchronous on purpose: the knowledge index and the desk's SQLite store are synchronous,
so `bf` runs it in a worker thread and the event loop stays free.
"""

from __future__ import annotations

import logging
import threading

from protocol_bot.core import BotCore
from protocol_bot.models import KINDS
from protocol_bot.store import OutboxMessage, TicketNotFound

from . import activities as act
from . import cards

log = logging.getLogger(__name__)

REPLACE = "_replace"  # reply key: update the clicked card (activity id = replyToId)

HELP_WORDS = frozenset({"help", "hi", "hello", "hey", "start", "?", "menu", "commands"})
TICKETS_WORDS = frozenset({"tickets", "open tickets", "my tickets"})
WHOAMI_WORDS = frozenset({"whoami", "who am i", "my id"})
REFUSED = ("Only the monitoring officer or a deputy can assign, answer or close tickets. If you "
           "should be one, ask for your Teams user id ({principal}) to be added to "
           "PROTOCOL_BOT_MONITORING_OFFICERS.")
NO_DESK = ("I can't pass questions to the monitoring officer right now (the escalation desk is "
           "not available). Please contact them directly.")
WAITING = ("open", "assigned")
MAX_LISTED = 10


class TeamsLogic:
    def __init__(self, core: BotCore):
        self.core = core
        self._refs_lock = threading.Lock()
        self._refs_seen: dict[str, dict] = {}

    @property
    def desk(self):
        return self.core.desk

    # --- entry point ------------------------------------------------------------------------------
    def handle(self, activity: dict) -> list[dict]:
        kind = activity.get("type")
        self._remember(activity)
        if kind in ("conversationUpdate", "installationUpdate"):
            return [cards.welcome_message()] if act.bot_was_added(activity) else []
        if kind != "message":
            return []
        if not self._first_delivery(activity):
            log.info("activity %s already handled: redelivery ignored", activity.get("id"))
            return []
        data = act.submitted(activity)
        if data is not None and data.get(cards.VERB):
            return self.on_submit(activity, data)
        question = act.question_text(activity)
        if not question or question.lower().strip(" .!") in HELP_WORDS:
            return [cards.welcome_message()]
        if question.lower().strip(" .!") in TICKETS_WORDS:
            return self.list_tickets(activity)
        if question.lower().strip(" .!?") in WHOAMI_WORDS:
            principal = act.principal_of(activity)
            role = (" You are configured as a monitoring officer." if self.desk is not None
                    and self.desk.is_mo(principal) else "")
            return [cards.text_message(
                f"Your Teams id for protocol-bot is **{principal}**. A monitoring officer or "
                f"deputy is added with PROTOCOL_BOT_MONITORING_OFFICERS={principal}.{role}")]
        return [self.answer(activity, question)]

    # --- asking -----------------------------------------------------------------------------------
    def answer(self, activity: dict, question: str, *, echo: bool = False) -> dict:
        asker = act.asker_of(activity)
        answer = self.core.knowledge.ask(question)
        log_id = None
        if self.desk is not None:
            try:
                log_id = self.desk.record_question(asker, answer)
            except Exception:  # the log is for improving answers; never withhold an answer
                log.exception("question log write failed")
        key = self.question_key(activity)
        log.info("teams question answered=%s citations=%d", answer.answered,
                 len(answer.citations))
        return cards.answer_message(answer, key=key, log_id=log_id, echo_question=echo)

    @staticmethod
    def question_key(activity: dict) -> str:
        """The idempotency key of a question: platform + conversation + message id."""
        conversation = (activity.get("conversation") or {}).get("id") or ""
        return f"teams:{conversation}:{activity.get('id') or ''}"

    # --- buttons ----------------------------------------------------------------------------------
    def on_submit(self, activity: dict, data: dict) -> list[dict]:
        verb = data.get(cards.VERB)
        if verb == cards.ASK:
            question = str(data.get("question") or "").strip()
            if not question:
                return [cards.welcome_message()]
            return [self.answer(activity, question, echo=True)]
        if verb == cards.FEEDBACK:
            return self.feedback(activity, data)
        if verb == cards.ESCALATE:
            question = str(data.get("question") or "").strip()
            if not question:
                return [cards.text_message("I couldn't tell which question to send. Please ask "
                                           "it again.")]
            return [cards.escalate_form(question, key=str(data.get(cards.KEY_FIELD) or ""),
                                        refs=_str_list(data.get("refs")), log_id=data.get("log"))]
        if verb == cards.CONFIRM:
            return self.escalate(activity, data)
        if verb in cards.MO_VERBS:
            return self.mo_action(activity, verb, data)
        log.warning("unknown card action %r", verb)
        return [cards.text_message("Sorry, I don't know that button. Type **help** to start "
                                   "again.")]

    def feedback(self, activity: dict, data: dict) -> list[dict]:
        helpful = bool(data.get("helpful"))
        if self.desk is not None:
            # One vote per person per answer: a double click is not two votes.
            voter = f"teams:feedback:{data.get(cards.KEY_FIELD)}:{act.principal_of(activity)}"
            if self.desk.store.claim_event(voter):
                self.desk.feedback(data.get("log"), act.asker_of(activity),
                                   str(data.get("question") or ""), _str_list(data.get("refs")),
                                   helpful)
        if helpful:
            return [cards.text_message("Thanks: glad that helped.")]
        return [cards.text_message("Thanks for telling me. If you still need an answer, press "
                                   f"\u201c{cards.ASK_MO}\u201d and the monitoring officer "
                                   "will reply here.")]

    def escalate(self, activity: dict, data: dict) -> list[dict]:
        if self.desk is None:
            return [cards.text_message(NO_DESK)]
        question = str(data.get("question") or "").strip()
        if not question:
            return [cards.text_message("I couldn't tell which question to send. Please ask it "
                                       "again.")]
        # The key comes from the answer card (the question's activity), so pressing Confirm
        # twice, or escalating the same answer from two forms, opens one ticket.
        key = (str(data.get(cards.KEY_FIELD) or "")
               or f"teams:{activity.get('replyToId') or activity.get('id')}")
        asker = act.asker_of(activity)
        ticket, created = self.desk.escalate(
            asker, question, idempotency_key=key, reply_to=act.reference_of(activity),
            context=str(data.get(cards.CONTEXT_INPUT) or "").strip(),
            bot_refs=_str_list(data.get("refs")))
        replies = [cards.text_message(cards.ticket_opened_text(ticket.id, created,
                                                               ticket.status))]
        if activity.get("replyToId"):  # the form: show it was sent, and drop its button
            done = cards.message(cards.card([
                cards.text(cards.ASK_MO, weight="Bolder", size="Medium"),
                cards.quote(question),
                cards.text(f"Sent as ticket {ticket.id}.", color="Good"),
            ], fallback=f"Sent as ticket {ticket.id}."), f"Sent as ticket {ticket.id}.")
            done["id"] = activity["replyToId"]
            done[REPLACE] = True
            replies.append(done)
        return replies

    # --- the monitoring officer -------------------------------------------------------------------
    def mo_action(self, activity: dict, verb: str, data: dict) -> list[dict]:
        from protocol_bot.desk import DeskError, NotPermitted

        if self.desk is None:
            return [cards.text_message(NO_DESK)]
        actor = act.principal_of(activity)
        ticket_id = str(data.get("ticket") or "")
        try:
            if verb == cards.MO_ASSIGN:
                to = str(data.get(cards.ASSIGNEE_INPUT) or actor)
                ticket = self.desk.assign(ticket_id, to, actor)
                said = f"{ticket.id} is assigned to {ticket.assignee}."
            elif verb == cards.MO_ANSWER:
                text = str(data.get(cards.ANSWER_INPUT) or "").strip()
                save_faq = str(data.get(cards.FAQ_TOGGLE) or "").lower() == "true"
                ticket = self.desk.answer(ticket_id, actor, text, save_faq=save_faq)
                who = ticket.asker.display_name or ticket.asker.principal
                said = f"{ticket.id} answered: your answer is on its way to {who}."
                if save_faq:
                    said += " It is saved as an FAQ, so the bot now answers this question itself."
            else:
                ticket = self.desk.close(ticket_id, actor)
                said = f"{ticket.id} is closed."
        except NotPermitted:
            return [cards.text_message(REFUSED.format(principal=actor))]
        except (DeskError, TicketNotFound) as exc:
            return [cards.text_message(str(exc).strip("'\""))]
        replies = [cards.text_message(said)]
        if activity.get("replyToId"):
            updated = self._ticket_message(ticket, actor)
            updated["id"] = activity["replyToId"]
            updated[REPLACE] = True
            replies.append(updated)
        return replies

    def list_tickets(self, activity: dict) -> list[dict]:
        from protocol_bot.desk import NotPermitted

        actor = act.principal_of(activity)
        if self.desk is None:
            return [cards.text_message(NO_DESK)]
        if not act.is_personal(activity):
            return [cards.text_message("Tickets are private: ask me for them in a personal chat "
                                       "with the bot.")]
        try:
            tickets = self.desk.list_tickets(actor)
        except NotPermitted:
            return [cards.text_message(REFUSED.format(principal=actor))]
        waiting = [t for t in tickets if t.status in WAITING]
        if not waiting:
            return [cards.text_message("No tickets are waiting for an answer.")]
        shown = waiting[-MAX_LISTED:]
        replies = [cards.text_message(
            f"{len(waiting)} ticket(s) waiting" + (f"; the latest {len(shown)} below."
                                                   if len(waiting) > len(shown) else ":"))]
        replies += [self._ticket_message(t, actor) for t in shown]
        return replies

    def _ticket_message(self, ticket, actor: str | None = None,
                        headline: str | None = None) -> dict:
        from protocol_bot.desk import asker_dict

        if ticket.status in WAITING:
            return cards.mo_ticket_message(
                ticket.id, question=ticket.question, asker=asker_dict(ticket.asker),
                context=ticket.context, bot_refs=self.ref_labels(ticket.bot_refs),
                status=ticket.status,
                assignee=ticket.assignee, monitoring_officers=self._mos(), actor=actor,
                headline=headline or f"Ticket {ticket.id}")
        content = cards.card([
            cards.text(f"Ticket {ticket.id}: {ticket.status}", weight="Bolder", size="Medium"),
            cards.quote(ticket.question),
            *([cards.text("Answer:", weight="Bolder"), cards.text(ticket.answer)]
              if ticket.answer else []),
        ], fallback=f"Ticket {ticket.id}: {ticket.status}")
        return cards.message(content, f"Ticket {ticket.id}: {ticket.status}")

    def ref_labels(self, refs) -> list[str]:
        """'2.3' -> 'Member/Officer Relations Protocol (2026), clause 2.3': what the bot cited,
        as the MO reads it. A ref found in several documents names the most authoritative."""
        try:
            kb = self.core.knowledge.answerer.kb
        except AttributeError:
            return list(refs)
        order = {kind: i for i, kind in enumerate(KINDS)}
        labels = []
        for ref in refs:
            found = [(order.get(kb.documents[p.document_id].kind, 9), p)
                     for p in kb.passages if p.ref == ref and p.document_id in kb.documents]
            if not found:
                labels.append(ref)
                continue
            _, passage = min(found, key=lambda item: item[0])
            doc = kb.documents[passage.document_id]
            where = f"clause {ref}" if passage.type == "clause" else ref
            labels.append(f"{doc.title} ({doc.edition}), {where}")
        return labels

    def _mos(self) -> list[str]:
        mos = (getattr(self.desk, "monitoring_officers", None)
               or self.core.config.monitoring_officers)
        return sorted(m for m in mos if m.startswith("teams:"))

    # --- proactive messages (the outbox) ----------------------------------------------------------
    def render_outbox(self, message: OutboxMessage) -> dict:
        body = message.body or {}
        ticket_id = message.ticket_id or body.get("ticket_id") or ""
        if message.kind == "ticket_answered":
            return cards.ticket_answered_message(body, ticket_id)
        if message.kind in ("ticket_opened", "ticket_assigned"):
            if message.kind == "ticket_assigned":
                by = body.get("assigned_by") or "a monitoring officer"
                headline = f"{ticket_id} was assigned to you by {by}"
            else:
                headline = f"New question for the monitoring officer: {ticket_id}"
            return cards.mo_ticket_message(
                ticket_id, question=str(body.get("question") or ""),
                asker=body.get("asker") or {}, context=str(body.get("context") or ""),
                bot_refs=self.ref_labels(_str_list(body.get("bot_refs"))),
                status="assigned" if message.kind == "ticket_assigned" else "open",
                assignee=message.recipient if message.kind == "ticket_assigned" else None,
                monitoring_officers=self._mos(), actor=message.recipient, headline=headline)
        # Anything else the desk queues: say it plainly rather than drop it.
        summary = body.get("text") or f"{ticket_id}: {message.kind.replace('_', ' ')}"
        return cards.text_message(str(summary))

    # --- bookkeeping ------------------------------------------------------------------------------
    def _remember(self, activity: dict) -> None:
        """Keep each person's personal-chat reference: Teams can only message someone
        proactively (an MO's ticket, say) once it has one."""
        if self.desk is None or not act.is_personal(activity):
            return
        principal = act.principal_of(activity)
        if principal == "teams:" or not activity.get("serviceUrl"):
            return
        reference = act.reference_of(activity)
        reference.pop("activityId", None)  # the chat, not one message in it
        with self._refs_lock:
            previous = self._refs_seen.get(principal)
            if previous == reference:
                return
            self._refs_seen[principal] = reference
        try:
            self.desk.remember_reference(principal, reference)
        except Exception:
            with self._refs_lock:
                self._refs_seen.pop(principal, None)
            log.exception("could not store the conversation reference for %s", principal)
            return
        if previous is None and self.desk.is_mo(principal):
            log.info("monitoring officer %s can now be reached in Teams", principal)

    def _first_delivery(self, activity: dict) -> bool:
        if self.desk is None or not activity.get("id"):
            return True
        return self.desk.store.claim_event(act.event_key(activity))


def _str_list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]
