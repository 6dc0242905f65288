"""The monitoring officer's desk: escalation tickets, who may act on them, the question log."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

from . import kb_changes
from .faq import FaqEntry, FaqRefused, save_faq_entry
from .models import TICKET_STATUSES, Answer, Asker, Ticket
from .question_log import cited_refs, normalise, retention_cutoff
from .live import LiveKnowledge
from .store import InvalidTransition, Store

log = logging.getLogger(__name__)

# No adapter delivers to these: a CLI user reads tickets with `protocol-bot tickets list`,
# so queuing messages for them would only leave undeliverable rows in the outbox.
UNDELIVERED_PLATFORMS = frozenset({"cli"})


class NotPermitted(PermissionError):
    """Someone who is not a monitoring officer tried to act on tickets or the knowledge base."""


class DeskError(Exception):
    """A request the monitoring officer can put right (wrong status, unknown person...)."""


def platform_of(principal: str) -> str:
    return principal.split(":", 1)[0]


def parse_principal(text: str) -> tuple[str, str]:
    """'teams:29:abc' -> ('teams', '29:abc'); raises ValueError when either half is missing."""
    platform, _, user = text.strip().partition(":")
    if not platform or not user:
        raise ValueError(f"'{text}' should be PLATFORM:USER, for example slack:U123 or cli:mo")
    return platform, user


def asker_dict(asker: Asker) -> dict:
    return {"platform": asker.platform, "user_id": asker.user_id,
            "display_name": asker.display_name}


def ticket_to_dict(ticket: Ticket) -> dict:
    """The ticket as the CLI's --json prints it (and as adapters may render it)."""
    return {"id": ticket.id, "status": ticket.status, "asker": asker_dict(ticket.asker),
            "question": ticket.question, "context": ticket.context,
            "bot_refs": list(ticket.bot_refs), "assignee": ticket.assignee,
            "answer": ticket.answer, "created_at": ticket.created_at,
            "updated_at": ticket.updated_at, "reply_to": ticket.reply_to,
            "events": [dict(e) for e in ticket.events]}


def clause_ref(ref: str) -> str:
    """'mor-protocol-2026#2.3' -> '2.3': FAQ entries relate to refs, not index keys."""
    return ref.rsplit("#", 1)[-1].strip()


class Desk:
    """Everything the platforms and the CLI do with tickets, in one place with one set of rules."""

    def __init__(self, store: Store, knowledge: LiveKnowledge | None,
                 monitoring_officers: frozenset[str], *,
                 knowledge_dir: Path | None = None, log_keep_identity: bool = False,
                 log_retention_days: int = 90):
        self.store = store
        self.knowledge = knowledge  # None in CLI commands that never answer
        self.monitoring_officers = frozenset(monitoring_officers)
        self.knowledge_dir = Path(knowledge_dir) if knowledge_dir else (
            knowledge.knowledge_dir if knowledge is not None else None)
        self.log_keep_identity = log_keep_identity
        self.log_retention_days = log_retention_days

    # --- who may act ------------------------------------------------------------------------------
    def is_mo(self, principal: str) -> bool:
        return principal.strip() in self.monitoring_officers

    def _require_mo(self, actor: str, action: str, what: str, ticket_id: str = "") -> None:
        """Refuse anyone not configured as an MO, and keep a record that they tried."""
        if self.is_mo(actor):
            return
        log.warning("refused: %s is not a monitoring officer (tried to %s)", actor, what)
        self.store.record_audit(actor=actor, action=f"tickets.{action}", target=ticket_id,
                                outcome="refused", detail={"reason": "not a monitoring officer"})
        configured = ("" if self.monitoring_officers
                      else " No monitoring officers are configured yet.")
        raise NotPermitted(
            f"Not permitted: {actor} is not a monitoring officer (set "
            f"PROTOCOL_BOT_MONITORING_OFFICERS), so cannot {what}.{configured}")

    # --- tickets ----------------------------------------------------------------------------------
    def escalate(self, asker: Asker, question: str, *, idempotency_key: str,
                 reply_to: dict | None = None, context: str = "",
                 bot_refs: Sequence[str] = ()) -> tuple[Ticket, bool]:
        """Open (or find) the asker's ticket; it is committed, with the MOs' notices, on return."""
        if not question.strip():
            raise DeskError("There is no question to send to the monitoring officer.")
        if not idempotency_key:
            raise DeskError("An escalation needs an idempotency key (platform + message id).")
        body = {"ticket_id": None, "question": question, "context": context,
                "asker": asker_dict(asker), "bot_refs": list(bot_refs),
                "cited": self._labels(bot_refs)}
        outbox = [{"platform": platform_of(mo), "recipient": mo,
                   "reply_to": self.store.get_reference(mo), "kind": "ticket_opened",
                   "body": body}
                  for mo in sorted(self.monitoring_officers)
                  if platform_of(mo) not in UNDELIVERED_PLATFORMS]
        ticket, created = self.store.open_ticket(
            asker=asker, question=question, idempotency_key=idempotency_key, reply_to=reply_to,
            context=context, bot_refs=tuple(bot_refs), outbox=outbox)
        log.info("ticket %s %s (%d notice(s) queued)", ticket.id,
                 "opened" if created else "already open for this key", len(outbox) if created else 0)
        if created and not outbox:
            log.warning("ticket %s opened but no monitoring officer can be notified: set "
                        "PROTOCOL_BOT_MONITORING_OFFICERS", ticket.id)
        return ticket, created

    def list_tickets(self, actor: str, status: str | None = None) -> list[Ticket]:
        self._require_mo(actor, "list", "list tickets")
        if status is not None and status not in TICKET_STATUSES:
            raise DeskError(f"'{status}' is not a ticket status; use one of "
                            f"{', '.join(TICKET_STATUSES)}.")
        return self.store.list_tickets(status)

    def show(self, ticket_id: str, actor: str) -> Ticket:
        self._require_mo(actor, "show", f"see ticket {ticket_id}", ticket_id)
        return self.store.get_ticket(ticket_id)

    def _change(self, ticket_id: str, actor: str, verb: str, allowed_from: Sequence[str],
                hint: str, **changes) -> Ticket:
        try:
            return self.store.update_ticket(ticket_id, actor=actor, allowed_from=allowed_from,
                                            **changes)
        except InvalidTransition as exc:
            raise DeskError(f"{exc.ticket_id} is {exc.status}, so it cannot be {verb}. {hint}"
                            .strip()) from None

    def assign(self, ticket_id: str, to: str, actor: str) -> Ticket:
        self._require_mo(actor, "assign", f"assign ticket {ticket_id}", ticket_id)
        to = to.strip()
        if not self.is_mo(to):
            raise DeskError(f"{to} is not a monitoring officer or deputy, so cannot be given "
                            f"{ticket_id}. Add them to PROTOCOL_BOT_MONITORING_OFFICERS first.")
        ticket = self.store.get_ticket(ticket_id)
        outbox = []
        if to != actor and platform_of(to) not in UNDELIVERED_PLATFORMS:
            outbox.append({"platform": platform_of(to), "recipient": to,
                           "reply_to": self.store.get_reference(to), "kind": "ticket_assigned",
                           "body": {"question": ticket.question, "context": ticket.context,
                                    "asker": asker_dict(ticket.asker),
                                    "bot_refs": list(ticket.bot_refs),
                                    "cited": self._labels(ticket.bot_refs),
                                    "assigned_by": actor}})
        ticket = self._change(ticket_id, actor, "assigned", ("open", "assigned"),
                              "Reopen it first.", event="assigned", status="assigned",
                              assignee=to, outbox=outbox, detail={"to": to})
        log.info("ticket %s assigned", ticket.id)
        return ticket

    def answer(self, ticket_id: str, actor: str, text: str, *, save_faq: bool = False,
               faq_questions: Sequence[str] = ()) -> Ticket:
        """Record the answer and queue it to the asker; optionally save it as an FAQ entry too.

        The FAQ entry is written (and validated) before the answer is recorded, so a refused
        entry leaves the ticket unanswered and the MO can simply try again.
        """
        self._require_mo(actor, "answer", f"answer ticket {ticket_id}", ticket_id)
        if not text.strip():
            raise DeskError("The answer is empty: write the answer the asker should receive.")
        ticket = self.store.get_ticket(ticket_id)
        if ticket.status not in ("open", "assigned"):
            raise DeskError(f"{ticket.id} is {ticket.status}, so it cannot be answered. "
                            f"Reopen it to send a new answer.")
        if save_faq:
            self._save_faq(ticket, actor, text, faq_questions)
        outbox = []
        if ticket.asker.platform not in UNDELIVERED_PLATFORMS:
            outbox.append({"platform": ticket.asker.platform, "recipient": ticket.asker.principal,
                           "reply_to": ticket.reply_to, "kind": "ticket_answered",
                           "body": {"question": ticket.question, "answer": text,
                                    "answered_by": actor}})
        ticket = self._change(ticket_id, actor, "answered", ("open", "assigned"),
                              "Reopen it to send a new answer.", event="answered",
                              status="answered", answer=text, outbox=outbox,
                              detail={"faq": True} if save_faq else None)
        log.info("ticket %s answered (%d message(s) queued, faq=%s)", ticket.id, len(outbox),
                 save_faq)
        if save_faq:
            self._apply_knowledge(actor)
        return ticket

    def close(self, ticket_id: str, actor: str) -> Ticket:
        self._require_mo(actor, "close", f"close ticket {ticket_id}", ticket_id)
        ticket = self._change(ticket_id, actor, "closed", ("open", "assigned", "answered"), "",
                              event="closed", status="closed")
        log.info("ticket %s closed", ticket.id)
        return ticket

    def reopen(self, ticket_id: str, actor: str) -> Ticket:
        self._require_mo(actor, "reopen", f"reopen ticket {ticket_id}", ticket_id)
        ticket = self._change(ticket_id, actor, "reopened", ("answered", "closed"),
                              "Only answered or closed tickets can be reopened.",
                              event="reopened", status="open")
        log.info("ticket %s reopened", ticket.id)
        return ticket

    # --- keeping the knowledge current ------------------------------------------------------------
    def _save_faq(self, ticket: Ticket, actor: str, text: str, variants: Sequence[str]) -> None:
        if self.knowledge_dir is None:
            raise DeskError("The answer cannot be saved as an FAQ: no knowledge folder is set "
                            "(PROTOCOL_BOT_KNOWLEDGE).")
        entry = FaqEntry(ref=ticket.id, question=ticket.question, variants=tuple(variants),
                         answer=text, author=actor, date=dt.date.today(),
                         related=tuple(dict.fromkeys(clause_ref(r) for r in ticket.bot_refs)))
        try:
            path = save_faq_entry(self.knowledge_dir, entry)
        except FaqRefused as exc:
            self.store.record_audit(actor=actor, action="kb.faq", target=ticket.id,
                                    outcome="refused",
                                    detail={"problems": [str(p) for p in exc.problems[:50]]})
            raise DeskError(str(exc)) from None
        self.store.record_audit(actor=actor, action="kb.faq", target=ticket.id,
                                detail={"file": str(path)})

    def _apply_knowledge(self, actor: str) -> None:
        """Swap the live index now (no restart); in a CLI process, just record the change —
        running bots pick the file up through their watcher."""
        if self.knowledge is not None:
            problems, _ = kb_changes.reload_live(self.knowledge, self.store, actor=actor,
                                                 source="save-faq")
            if problems:  # validated a moment ago, so only a concurrent bad edit gets here
                raise DeskError("The FAQ entry was saved and the answer sent, but the knowledge "
                                "base now has problems, so the bot is still answering from the "
                                "previous version:\n" + "\n".join(f"  {p}" for p in problems))
            return
        kb, problems = kb_changes.validate(self.knowledge_dir)
        if kb is not None:
            kb_changes.record_state(self.store, self.knowledge_dir, kb, actor=actor,
                                    source="save-faq")

    def _labels(self, refs: Sequence[str]) -> list[str]:
        """What the bot cited, as the MO reads it; refs stay as they are without knowledge."""
        return self.knowledge.labels(refs) if self.knowledge is not None else list(refs)

    # --- the question log -----------------------------------------------------------------------
    def _identity(self, asker: Asker | None) -> str | None:
        return asker.principal if (asker is not None and self.log_keep_identity) else None

    def record_question(self, asker: Asker | None, answer: Answer) -> int:
        log_id = self.store.log_question(
            question=answer.question, normalised=normalise(answer.question),
            answered=answer.answered, refs=cited_refs(answer), asker=self._identity(asker))
        log.info("question %d logged (answered=%s, %d citation(s))", log_id, answer.answered,
                 len(answer.citations))
        return log_id

    def feedback(self, log_id: int | None, asker: Asker | None, question: str,
                 refs: Sequence[str], helpful: bool) -> None:
        # Platforms hand ids back from button payloads, sometimes as text.
        log_id = int(log_id) if str(log_id).isdigit() else None
        feedback_id = self.store.log_feedback(
            log_id=log_id, question=question, normalised=normalise(question), refs=tuple(refs),
            helpful=helpful, asker=self._identity(asker))
        log.info("feedback %d on question %s: %s", feedback_id, log_id,
                 "helpful" if helpful else "not helpful")

    def purge_log(self, now: float | None = None) -> dict[str, int]:
        """Delete what is older than the retention period; returns how many of each."""
        cutoff = retention_cutoff(self.store.now() if now is None else now,
                                  self.log_retention_days)
        counts = self.store.purge_log(cutoff)
        log.info("question log purged: %s", counts)
        return counts

    def notify_mos(self, text: str) -> None:
        """A plain notice for every monitoring officer a platform can deliver to."""
        for mo in sorted(self.monitoring_officers):
            if platform_of(mo) not in UNDELIVERED_PLATFORMS:
                self.store.enqueue(platform=platform_of(mo), recipient=mo,
                                   reply_to=self.store.get_reference(mo), kind="notice",
                                   ticket_id=None, body={"text": text})

    # --- reaching people --------------------------------------------------------------------------
    def remember_reference(self, principal: str, reference: dict) -> None:
        self.store.save_reference(principal, reference)

    def reachable_mos(self) -> dict[str, bool]:
        """Teams can only message someone proactively once it holds their conversation
        reference; Slack opens a DM itself; the CLI reads tickets itself."""
        return {mo: platform_of(mo) != "teams" or self.store.get_reference(mo) is not None
                for mo in sorted(self.monitoring_officers)}
