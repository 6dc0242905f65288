"""The monitoring officer's desk: escalation tickets, who may act on them, the question log."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

from . import faq as faq_doc
from . import kb_changes
from .faq import FaqEntry, FaqRefused
from .knowledge import KnowledgeError
from .models import TICKET_STATUSES, Answer, Asker, Ticket
from .question_log import cited_refs, normalise, retention_cutoff
from .live import LiveKnowledge
from .store import (EntryNotFound, FaqRecord, InvalidTransition, Store, TaughtQuestion,
                    TicketNotFound)

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


def taught_hints(store) -> dict[str, list[str]]:
    """Taught questions as extra `questions:` hints, by passage key."""
    hints: dict[str, list[str]] = {}
    for taught in store.taught_questions():
        hints.setdefault(taught.passage_key, []).append(taught.question)
    return hints


class Desk:
    """Everything the platforms and the CLI do with tickets, in one place with one set of rules."""

    def __init__(self, store: Store, knowledge: LiveKnowledge | None,
                 monitoring_officers: frozenset[str], *,
                 knowledge_dir: Path | None = None, log_keep_identity: bool = False,
                 log_retention_days: int = 90, database=None):
        self.store = store
        self.knowledge = knowledge  # None in CLI commands that never answer
        self.monitoring_officers = frozenset(monitoring_officers)
        self._knowledge_dir = Path(knowledge_dir) if knowledge_dir else None
        # With PostgreSQL the knowledge lives in the database in versions (kb_versions.py):
        # FAQ saves publish a new version there instead of writing the folder.
        self.database = database if database is not None else getattr(knowledge, "database",
                                                                       None)
        self.log_keep_identity = log_keep_identity
        self.log_retention_days = log_retention_days

    @property
    def knowledge_dir(self) -> Path | None:
        """The knowledge folder: given, else the live knowledge's (with PostgreSQL, the version
        it answers from), else the database's latest version written locally."""
        if self._knowledge_dir is not None:
            return self._knowledge_dir
        if self.knowledge is not None:
            return self.knowledge.knowledge_dir
        if self.database is not None:
            return self.database.folder()[1]
        return None

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
                "cited": self._labels(bot_refs),
                "considered": self._considered(question, bot_refs)}
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
                                    "considered": self._considered(ticket.question,
                                                                   ticket.bot_refs),
                                    "assigned_by": actor}})
        ticket = self._change(ticket_id, actor, "assigned", ("open", "assigned"),
                              "Reopen it first.", event="assigned", status="assigned",
                              assignee=to, outbox=outbox, detail={"to": to})
        log.info("ticket %s assigned", ticket.id)
        return ticket

    def answer(self, ticket_id: str, actor: str, text: str, *, save_faq: bool = False,
               faq_questions: Sequence[str] = (), faq_text: str | None = None) -> Ticket:
        """Record the answer and queue it to the asker; optionally save it as an FAQ entry too.

        The FAQ entry is checked first (a refused entry leaves the ticket unanswered), then
        committed with the answer in one transaction that also checks the ticket's state, and
        only then is the FAQ document written from the store: a refused answer is never
        published. `faq_text` is the public FAQ text (default: the reply, without a leading
        "Correction:").
        """
        self._require_mo(actor, "answer", f"answer ticket {ticket_id}", ticket_id)
        if not text.strip():
            raise DeskError("The answer is empty: write the answer the asker should receive.")
        ticket = self.store.get_ticket(ticket_id)
        if ticket.status not in ("open", "assigned"):
            raise DeskError(f"{ticket.id} is {ticket.status}, so it cannot be answered. "
                            f"Reopen it to send a new answer.")
        entry = None
        if save_faq:
            entry = self._check_faq(ticket, actor, faq_text or faq_doc.public_text(text) or text,
                                    faq_questions)
        outbox = []
        if ticket.asker.platform not in UNDELIVERED_PLATFORMS:
            outbox.append({"platform": ticket.asker.platform, "recipient": ticket.asker.principal,
                           "reply_to": ticket.reply_to, "kind": "ticket_answered",
                           "body": {"question": ticket.question, "answer": text,
                                    "answered_by": actor}})
        ticket = self._change(ticket_id, actor, "answered", ("open", "assigned"),
                              "Reopen it to send a new answer.", event="answered",
                              status="answered", answer=text, outbox=outbox,
                              detail={"faq": True} if save_faq else None,
                              faq_entry=entry and {"question": entry.question,
                                                   "variants": entry.variants,
                                                   "text": entry.answer,
                                                   "related": entry.related, "author": actor})
        log.info("ticket %s answered (%d message(s) queued, faq=%s)", ticket.id, len(outbox),
                 save_faq)
        if save_faq:
            self.store.record_audit(actor=actor, action="kb.faq", target=ticket.id,
                                    detail={"file": str(faq_doc.faq_path(self.knowledge_dir))})
            self._publish(actor)
        return ticket

    def close(self, ticket_id: str, actor: str) -> Ticket:
        self._require_mo(actor, "close", f"close ticket {ticket_id}", ticket_id)
        ticket = self._change(ticket_id, actor, "closed", ("open", "assigned", "answered"), "",
                              event="closed", status="closed")
        log.info("ticket %s closed", ticket.id)
        return ticket

    def reopen(self, ticket_id: str, actor: str) -> Ticket:
        self._require_mo(actor, "reopen", f"reopen ticket {ticket_id}", ticket_id)
        if self.knowledge_dir is not None:
            faq_doc.take_in_earlier(self.knowledge_dir, self.store)
        had_faq = any(r.id == self.store.get_ticket(ticket_id).id
                      for r in self.store.faq_entries())
        ticket = self._change(ticket_id, actor, "reopened", ("answered", "closed"),
                              "Only answered or closed tickets can be reopened.",
                              event="reopened", status="open", withdraw_faq=True,
                              detail={"faq": "withdrawn"} if had_faq else None)
        log.info("ticket %s reopened", ticket.id)
        if had_faq:  # its FAQ answer is withdrawn until the ticket is answered again
            self.store.record_audit(actor=actor, action="kb.faq_withdraw", target=ticket.id,
                                    detail={"reason": "ticket reopened"})
            self._publish(actor)
        return ticket

    # --- FAQ entries ------------------------------------------------------------------------------
    def faq_entries(self, actor: str, include_withdrawn: bool = False) -> list[FaqRecord]:
        self._require_mo(actor, "faq_list", "list the FAQ entries")
        return self.store.faq_entries(include_withdrawn=include_withdrawn)

    def _faq_entry(self, entry_id: str) -> FaqRecord:
        try:
            wanted = self.store.get_ticket(entry_id).id
        except TicketNotFound:
            wanted = entry_id.strip().upper()
        for record in self.store.faq_entries(include_withdrawn=True):
            if record.id == wanted:
                return record
        raise EntryNotFound(f"There is no FAQ entry {entry_id}.")

    def faq_withdraw(self, entry_id: str, actor: str) -> FaqRecord:
        """Take an FAQ answer out of the bot's answers (answering the ticket again with
        --save-faq, or `faq restore`, puts it back)."""
        self._require_mo(actor, "faq_withdraw", f"withdraw FAQ entry {entry_id}", entry_id)
        record = self._faq_entry(entry_id)
        if record.status == "withdrawn":
            raise DeskError(f"FAQ entry {record.id} is already withdrawn.")
        record = self.store.change_faq(record.id, status="withdrawn")
        self.store.record_audit(actor=actor, action="kb.faq_withdraw", target=record.id)
        self._publish(actor)
        return record

    def faq_restore(self, entry_id: str, actor: str) -> FaqRecord:
        self._require_mo(actor, "faq_restore", f"restore FAQ entry {entry_id}", entry_id)
        record = self._faq_entry(entry_id)
        if self.store.get_ticket(record.id).status != "answered":
            raise DeskError(f"{record.id} is not answered, so its FAQ entry cannot be restored: "
                            "answer the ticket again with Save as FAQ.")
        record = self.store.change_faq(record.id, status="live")
        self.store.record_audit(actor=actor, action="kb.faq_restore", target=record.id)
        self._publish(actor)
        return record

    def faq_edit(self, entry_id: str, actor: str, text: str) -> FaqRecord:
        """Change an entry's public FAQ text (the reply the asker got is not changed)."""
        self._require_mo(actor, "faq_edit", f"edit FAQ entry {entry_id}", entry_id)
        if not text.strip():
            raise DeskError("The FAQ text is empty: write the answer everyone should see.")
        record = self._faq_entry(entry_id)
        self._check(FaqEntry(
            ref=record.id, question=record.question, variants=record.variants,
            answer=text.strip(), author=record.author, date=dt.date.today(),
            related=record.related), actor)
        record = self.store.change_faq(record.id, text=text.strip())
        self.store.record_audit(actor=actor, action="kb.faq_edit", target=record.id)
        self._publish(actor)
        return record

    def faq_publish(self, actor: str) -> list[str]:
        """Write the FAQ document from the store again (after a failed write)."""
        self._require_mo(actor, "faq_publish", "publish the FAQ entries")
        return self._publish(actor)

    # --- teaching the bot -------------------------------------------------------------------------
    def _passage_exists(self, key: str) -> bool:
        if self.knowledge is not None:
            return self.knowledge.citation(key) is not None
        kb, _ = kb_changes.validate(self.knowledge_dir) if self.knowledge_dir else (None, [])
        return kb is not None and any(p.key == key for p in kb.passages)

    def teach(self, question: str, passage_key: str, actor: str, *,
              source: str = "cli") -> tuple[TaughtQuestion, bool]:
        """Attach a question people asked to the passage that answers it, as a search hint:
        live at once, audited, reversible (`untaught`)."""
        self._require_mo(actor, "kb_teach", "teach the bot")
        question = " ".join(question.split())
        if not question:
            raise DeskError("There is no question to teach.")
        passage_key = passage_key.strip()
        if "#" not in passage_key and ":" in passage_key:  # DOC_ID:REF, as typed
            passage_key = passage_key.replace(":", "#", 1)
        if not self._passage_exists(passage_key):
            raise DeskError(f"There is no passage {passage_key} in the knowledge base (give it "
                            "as DOCUMENT_ID:REF, e.g. mor-protocol-2026:2.3).")
        taught, created = self.store.teach(question=question, passage_key=passage_key,
                                           actor=actor, source=source)
        if created:
            self.store.record_audit(actor=actor, action="kb.teach", target=passage_key,
                                    detail={"taught": taught.id, "source": source})
            self._apply_hints(actor)
        return taught, created

    def untaught(self, taught_id, actor: str) -> TaughtQuestion:
        self._require_mo(actor, "kb_teach", "undo a taught question")
        if not str(taught_id).strip().isdigit():
            raise EntryNotFound(f"'{taught_id}' is not a taught question's number.")
        taught = self.store.undo_teaching(int(str(taught_id).strip()), actor=actor)
        self.store.record_audit(actor=actor, action="kb.untaught", target=taught.passage_key,
                                detail={"taught": taught.id})
        self._apply_hints(actor)
        return taught

    def taught_questions(self, actor: str, include_undone: bool = False) -> list[TaughtQuestion]:
        self._require_mo(actor, "kb_teach", "list the taught questions")
        return self.store.taught_questions(include_undone=include_undone)

    def taught_hints(self) -> dict[str, list[str]]:
        return taught_hints(self.store)

    def _apply_hints(self, actor: str) -> None:
        """Taught questions are merged into the index when it is built: rebuild it here, and
        ask running bots (other processes) to rebuild theirs."""
        if self.database is not None:  # every instance (this one too) rebuilds on NOTIFY
            if self.knowledge is not None:
                self.database.sync(force=True)
            self.database.announce("hints")
            return
        if self.knowledge is not None:  # its builder gave it the store's hints
            kb_changes.reload_live(self.knowledge, self.store, actor=actor, source="teach")
        if self.knowledge_dir is not None:
            from .watcher import request_reload
            try:
                request_reload(self.knowledge_dir, actor)
            except OSError as exc:
                log.warning("running bots could not be told of a taught question: %s", exc)

    # --- keeping the knowledge current ------------------------------------------------------------
    def _check_faq(self, ticket: Ticket, actor: str, text: str,
                   variants: Sequence[str]) -> FaqEntry:
        if self.knowledge_dir is None:
            raise DeskError("The answer cannot be saved as an FAQ: no knowledge folder is set "
                            "(PROTOCOL_BOT_KNOWLEDGE).")
        earlier = next((r.variants for r in self.store.faq_entries(include_withdrawn=True)
                        if r.id == ticket.id), ())
        entry = FaqEntry(ref=ticket.id, question=ticket.question,
                         variants=tuple(dict.fromkeys([*earlier, *variants])),
                         answer=text.strip(), author=actor, date=dt.date.today(),
                         related=tuple(dict.fromkeys(r for r in ticket.bot_refs if r)))
        self._check(entry, actor)
        return entry

    def _check(self, entry: FaqEntry, actor: str) -> None:
        try:
            faq_doc.check_entry(self.knowledge_dir, self.store, entry)
        except FaqRefused as exc:
            self.store.record_audit(actor=actor, action="kb.faq", target=entry.ref,
                                    outcome="refused",
                                    detail={"problems": [str(p) for p in exc.problems[:50]]})
            raise DeskError(str(exc)) from None

    def _publish(self, actor: str) -> list[str]:
        """Write the FAQ document from the store (after the commit) and answer from it."""
        if self.knowledge_dir is None:
            return []
        try:
            if self.database is not None:  # a new knowledge version, from the latest one
                notes, _ = self.database.write(
                    actor, "FAQ answers", lambda folder: faq_doc.publish(folder, self.store))
            else:
                notes = faq_doc.publish(self.knowledge_dir, self.store)
        except KnowledgeError as exc:  # the new version would not load (checked again there)
            exc = FaqRefused(list(exc.problems))
            self.store.record_audit(actor=actor, action="kb.faq_publish", outcome="refused",
                                    detail={"problems": [str(p) for p in exc.problems[:50]]})
            raise DeskError("The change is saved, but the FAQ answers were not published "
                            "because the knowledge base would have problems:\n"
                            + "\n".join(f"  {p}" for p in exc.problems)
                            + "\nFix them, then run `protocol-bot faq publish --as ...`.") from None
        except FaqRefused as exc:
            self.store.record_audit(actor=actor, action="kb.faq_publish", outcome="refused",
                                    detail={"problems": [str(p) for p in exc.problems[:50]]})
            raise DeskError("The change is saved, but the FAQ file was not rewritten because "
                            "the knowledge base would have problems:\n"
                            + "\n".join(f"  {p}" for p in exc.problems)
                            + "\nFix them, then run `protocol-bot faq publish --as ...`.") from None
        except faq_doc.FaqWriteError as exc:
            raise faq_doc.FaqNotPublished(
                f"The change is saved, but the FAQ file could not be written: {exc}. Free some "
                "space or fix the folder's permissions, then run `protocol-bot faq publish "
                "--as ...`.") from None
        if notes:
            self.store.record_audit(actor=actor, action="kb.faq_hand_edit",
                                    target=str(faq_doc.faq_path(self.knowledge_dir)),
                                    detail={"notes": notes})
            log.warning("FAQ file: %d hand edit(s) taken in", len(notes))
        if self.database is None:  # the database's write has already reloaded this process
            self._apply_knowledge(actor)
        return notes

    def _apply_knowledge(self, actor: str) -> None:
        """Swap the live index now (no restart); in a CLI process, just record the change —
        running bots pick the file up through their watcher."""
        if self.knowledge is not None:
            problems, _ = kb_changes.reload_live(self.knowledge, self.store, actor=actor,
                                                 source="save-faq")
            if problems:  # validated a moment ago, so only a concurrent bad edit gets here
                raise DeskError("The FAQ entry was saved, but the knowledge "
                                "base now has problems, so the bot is still answering from the "
                                "previous version:\n" + "\n".join(f"  {p}" for p in problems))
            return
        kb, problems = kb_changes.validate(self.knowledge_dir)
        if kb is not None:
            kb_changes.record_state(self.store, self.knowledge_dir, kb, actor=actor,
                                    source="save-faq")

    def _considered(self, question: str, refs: Sequence[str]) -> list[list[str]]:
        """The passages the bot considered, [key, label], for "This answers it" buttons."""
        if self.knowledge is None:
            return [[r, r] for r in refs if "#" in r]
        return [list(pair) for pair in self.knowledge.considered(question, refs)]

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
