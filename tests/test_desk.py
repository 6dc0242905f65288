"""The desk's rules: who may act, what each change queues, the question log, the report."""

from __future__ import annotations

import pytest

from protocol_bot.desk import Desk, DeskError, NotPermitted, ticket_to_dict
from protocol_bot.models import Answer, Asker, Citation, Escalation
from protocol_bot.report import build_report, render
from protocol_bot.store import TicketNotFound

MOS = frozenset({"slack:UMO", "teams:29:deputy", "cli:mo"})
ASKER = Asker("slack", "U1", "Cllr Jones")
OUTSIDER = "slack:U999"


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def desk(clock, store_factory):
    return Desk(store_factory.make(clock=clock), None, MOS)


def _escalate(desk, key="slack:msg-1", question="Can I ask an officer to deliver my leaflets?"):
    return desk.escalate(ASKER, question, idempotency_key=key, reply_to={"channel": "C1"},
                         context="It's for a ward newsletter", bot_refs=("mor-protocol-2026#2.3",))


def _answer(question="q", answered=True, refs=("2.3",)):
    cites = tuple(Citation("mor-protocol-2026", "Protocol", "2026", r, "h", "t", 1.0)
                  for r in refs)
    return Answer(question, answered, "lead", cites, Escalation(not answered, "reason"))


def test_escalate_notifies_each_mo_in_the_same_commit(desk):
    desk.remember_reference("teams:29:deputy", {"conversation": {"id": "dm-deputy"}})
    ticket, created = _escalate(desk)
    assert created and ticket.id == "MO-0001" and ticket.status == "open"
    notices = {m.recipient: m for m in desk.store.undelivered()}
    assert set(notices) == {"slack:UMO", "teams:29:deputy"}  # the CLI MO reads `tickets list`
    teams = notices["teams:29:deputy"]
    assert teams.platform == "teams" and teams.kind == "ticket_opened"
    assert teams.reply_to == {"conversation": {"id": "dm-deputy"}}
    assert notices["slack:UMO"].reply_to is None  # Slack opens the DM itself
    assert teams.body == {"ticket_id": "MO-0001",
                          "question": "Can I ask an officer to deliver my leaflets?",
                          "context": "It's for a ward newsletter",
                          "asker": {"platform": "slack", "user_id": "U1",
                                    "display_name": "Cllr Jones"},
                          "bot_refs": ["mor-protocol-2026#2.3"], "cited": ["mor-protocol-2026#2.3"],
                          "considered": [["mor-protocol-2026#2.3", "mor-protocol-2026#2.3"]]}


def test_escalating_twice_with_one_key_gives_one_ticket_and_one_set_of_notices(desk):
    first, _ = _escalate(desk)
    again, created = _escalate(desk)
    assert again.id == first.id and not created
    assert len(desk.store.undelivered()) == 2


@pytest.mark.parametrize("call", [
    lambda d, t: d.list_tickets(OUTSIDER),
    lambda d, t: d.show(t, OUTSIDER),
    lambda d, t: d.assign(t, "slack:UMO", OUTSIDER),
    lambda d, t: d.answer(t, OUTSIDER, "Yes, go ahead."),
    lambda d, t: d.close(t, OUTSIDER),
    lambda d, t: d.reopen(t, OUTSIDER),
])
def test_non_mo_is_refused_and_the_attempt_recorded(desk, call, caplog):
    ticket, _ = _escalate(desk)
    with pytest.raises(NotPermitted, match="slack:U999 is not a monitoring officer"):
        call(desk, ticket.id)
    [entry] = desk.store.audit_entries()
    assert (entry.actor, entry.outcome) == (OUTSIDER, "refused")
    assert "slack:U999" in caplog.text
    assert desk.store.get_ticket(ticket.id) == ticket  # nothing changed
    assert len(desk.store.undelivered()) == 2  # and nothing was sent


def test_the_asker_is_not_an_mo_either(desk):
    ticket, _ = _escalate(desk)
    with pytest.raises(NotPermitted):
        desk.answer(ticket.id, ASKER.principal, "I'll answer myself")


def test_answer_reaches_the_asker_through_the_outbox(desk):
    ticket, _ = _escalate(desk)
    done = desk.answer(ticket.id, "slack:UMO", "No: officers must stay politically neutral.")
    assert done.status == "answered" and done.answer.startswith("No:")
    [msg] = [m for m in desk.store.undelivered() if m.kind == "ticket_answered"]
    assert (msg.platform, msg.recipient, msg.reply_to) == ("slack", "slack:U1", {"channel": "C1"})
    assert msg.body == {"ticket_id": "MO-0001", "question": ticket.question,
                        "answer": "No: officers must stay politically neutral.",
                        "answered_by": "slack:UMO"}


def test_assign_to_a_deputy_tells_them(desk):
    ticket, _ = _escalate(desk)
    done = desk.assign(ticket.id, "teams:29:deputy", "cli:mo")
    assert (done.status, done.assignee) == ("assigned", "teams:29:deputy")
    assert done.events[-1]["to"] == "teams:29:deputy"
    [msg] = [m for m in desk.store.undelivered() if m.kind == "ticket_assigned"]
    assert msg.recipient == "teams:29:deputy" and msg.body["assigned_by"] == "cli:mo"


def test_assign_only_to_someone_who_can_answer(desk):
    ticket, _ = _escalate(desk)
    with pytest.raises(DeskError, match="slack:U5 is not a monitoring officer"):
        desk.assign(ticket.id, "slack:U5", "cli:mo")
    assert desk.store.get_ticket(ticket.id).status == "open"


def test_status_rules_and_reopen(desk):
    ticket, _ = _escalate(desk)
    with pytest.raises(DeskError, match="Only answered or closed"):
        desk.reopen(ticket.id, "cli:mo")
    desk.answer(ticket.id, "cli:mo", "Answer one")
    with pytest.raises(DeskError, match="is answered, so it cannot be answered"):
        desk.answer(ticket.id, "cli:mo", "Answer two")
    with pytest.raises(DeskError, match="cannot be assigned"):
        desk.assign(ticket.id, "slack:UMO", "cli:mo")
    assert desk.close(ticket.id, "cli:mo").status == "closed"
    with pytest.raises(DeskError):
        desk.close(ticket.id, "cli:mo")
    assert desk.reopen(ticket.id, "cli:mo").status == "open"
    final = desk.answer(ticket.id, "cli:mo", "Answer two")
    assert [e["event"] for e in final.events] == ["opened", "answered", "closed", "reopened",
                                                  "answered"]
    assert len([m for m in desk.store.undelivered() if m.kind == "ticket_answered"]) == 2


def test_empty_answer_and_unknown_ticket(desk):
    ticket, _ = _escalate(desk)
    with pytest.raises(DeskError, match="empty"):
        desk.answer(ticket.id, "cli:mo", "   ")
    with pytest.raises(TicketNotFound):
        desk.show("MO-0099", "cli:mo")


def test_list_and_json_shape(desk):
    _escalate(desk, key="a")
    second, _ = _escalate(desk, key="b", question="Second?")
    desk.close(second.id, "cli:mo")
    assert [t.id for t in desk.list_tickets("cli:mo")] == ["MO-0001", "MO-0002"]
    assert [t.id for t in desk.list_tickets("cli:mo", "closed")] == ["MO-0002"]
    with pytest.raises(DeskError, match="not a ticket status"):
        desk.list_tickets("cli:mo", "pending")
    data = ticket_to_dict(desk.show("MO-0002", "cli:mo"))
    assert set(data) == {"id", "status", "asker", "question", "context", "bot_refs", "assignee",
                         "answer", "created_at", "updated_at", "reply_to", "events"}


def test_question_log_keeps_identity_only_when_configured(clock, store_factory):
    anonymous = Desk(store_factory.make(clock=clock), None, MOS)
    log_id = anonymous.record_question(ASKER, _answer("Can I?", refs=("2.3", "3.1")))
    anonymous.feedback(log_id, ASKER, "Can I?", ["2.3"], helpful=False)
    [q] = anonymous.store.logged_questions()
    # what was cited, with its document: a bare "2.3" is ambiguous across documents
    assert (q.question, q.answered, q.refs, q.asker, q.helpful) == (
        "Can I?", True, ("mor-protocol-2026#2.3", "mor-protocol-2026#3.1"), None, False)
    assert anonymous.store.feedback_entries()[0].asker is None
    identified = Desk(store_factory.make(clock=clock), None, MOS, log_keep_identity=True)
    identified.record_question(ASKER, _answer())
    assert identified.store.logged_questions()[0].asker == "slack:U1"


def test_question_text_is_not_logged_at_info(desk, caplog):
    caplog.set_level("DEBUG")
    log_id = desk.record_question(ASKER, _answer("My secret grievance about Mr Smith"))
    desk.feedback(log_id, ASKER, "My secret grievance about Mr Smith", ["2.3"], helpful=True)
    desk.escalate(ASKER, "My secret grievance about Mr Smith", idempotency_key="k")
    assert "grievance" not in caplog.text and caplog.text  # ids and counts only


def test_purge_keeps_the_retention_period(clock, store_factory):
    desk = Desk(store_factory.make(clock=clock), None, MOS, log_retention_days=30)
    desk.record_question(None, _answer("old"))
    clock.now += 31 * 86400
    desk.record_question(None, _answer("recent"))
    assert desk.purge_log()["questions"] == 1
    assert [q.question for q in desk.store.logged_questions()] == ["recent"]


def test_reachable_mos(desk):
    assert desk.reachable_mos() == {"cli:mo": True, "slack:UMO": True, "teams:29:deputy": False}
    desk.remember_reference("teams:29:deputy", {"conversation": {"id": "x"}})
    assert desk.reachable_mos()["teams:29:deputy"] is True


def test_report_shows_what_to_improve(desk, clock):
    for text in ("Can I canvass officers?", "can I canvass officers", "Who pays for lunch?"):
        desk.record_question(None, _answer(text, answered=False, refs=()))
    desk.escalate(ASKER, "Can I canvass OFFICERS?!", idempotency_key="e1")
    log_id = desk.record_question(None, _answer("Gifts?", refs=("4.1",)))
    desk.feedback(log_id, None, "Gifts?", ["4.1"], helpful=False)
    desk.feedback(None, None, "Gifts again?", ["4.1"], helpful=False)
    desk.feedback(None, None, "Roles?", ["2.2"], helpful=True)
    clock.now += 3 * 86400
    report = build_report(desk)
    top = report["most_declined_or_escalated"][0]
    assert (top["declined"], top["escalated"]) == (2, 1)
    # an old bare ref, with no knowledge base to resolve it, says so rather than guess
    assert report["passages_not_helpful"] == [{"ref": "4.1", "not_helpful": 2, "helpful": 0,
                                               "label": "ref 4.1 (document not recorded)"}]
    by_status = {s["status"]: s for s in report["tickets_by_status"]}
    assert by_status["open"]["count"] == 1 and by_status["open"]["oldest_days"] == 3.0
    assert report["tickets_waiting"][0]["id"] == "MO-0001"
    assert report["monitoring_officers_reachable"]["teams:29:deputy"] is False
    text = render(report)
    assert "canvass" in text and "4.1" in text and "teams:29:deputy" in text


def test_feedback_accepts_the_log_id_as_text_from_a_button(desk):
    log_id = desk.record_question(None, _answer("Gifts?", refs=("4.1",)))
    desk.feedback(str(log_id), None, "Gifts?", ["4.1"], helpful=False)
    assert desk.store.logged_questions()[0].helpful is False
