"""The escalation stores: SQLite and PostgreSQL behave alike (every shared test runs on both
through `store_factory`); both survive restarts and concurrent processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from protocol_bot.models import Asker
from protocol_bot.sqlite_store import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from protocol_bot.store import (InvalidTransition, StoreError, TicketNotFound, backoff_seconds,
                                ticket_seq)

REPO = Path(__file__).resolve().parent.parent
ASKER = Asker("slack", "U1", "Cllr Jones")


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store_and_clock(store_factory):
    clock = Clock()
    return store_factory.make(clock=clock), clock


@pytest.fixture
def store(store_and_clock):
    return store_and_clock[0]


def _message(**over):
    return {"platform": "slack", "recipient": "slack:UMO", "reply_to": None,
            "kind": "ticket_opened", "body": {"question": "q"}, **over}


# --- tickets -----------------------------------------------------------------------------------

def test_same_key_twice_gives_one_ticket_and_one_notice(store):
    first, created1 = store.open_ticket(asker=ASKER, question="Can I?", idempotency_key="slack:1",
                                        outbox=[_message()])
    again, created2 = store.open_ticket(asker=ASKER, question="Can I? (again)",
                                        idempotency_key="slack:1", outbox=[_message()])
    assert (created1, created2) == (True, False)
    assert again.id == first.id and again.question == "Can I?"
    assert len(store.list_tickets()) == 1
    assert len(store.undelivered()) == 1  # the redelivered event queued nothing more


def test_ticket_ids_are_sequential_and_hold_everything(store):
    t1, _ = store.open_ticket(asker=ASKER, question="One", idempotency_key="k1",
                              reply_to={"channel": "D1"}, context="ctx", bot_refs=("2.3", "2.4"))
    t2, _ = store.open_ticket(asker=ASKER, question="Two", idempotency_key="k2")
    assert (t1.id, t2.id) == ("MO-0001", "MO-0002")
    got = store.get_ticket("mo-1")
    assert got.asker == ASKER and got.reply_to == {"channel": "D1"} and got.context == "ctx"
    assert got.bot_refs == ("2.3", "2.4") and got.status == "open" and got.answer is None
    assert got.events[0]["event"] == "opened" and got.events[0]["actor"] == "slack:U1"
    assert [t.id for t in store.list_tickets("open")] == ["MO-0001", "MO-0002"]


def test_unknown_ticket(store):
    with pytest.raises(TicketNotFound):
        store.get_ticket("MO-0042")
    with pytest.raises(TicketNotFound):
        store.get_ticket("leaflets")


def test_update_records_event_queues_outbox_and_checks_status(store):
    t, _ = store.open_ticket(asker=ASKER, question="Q", idempotency_key="k")
    done = store.update_ticket(t.id, actor="cli:mo", event="answered", status="answered",
                               answer="No.", outbox=[_message(kind="ticket_answered",
                                                              recipient="slack:U1")],
                               allowed_from=("open",), detail={"faq": True})
    assert done.status == "answered" and done.answer == "No."
    assert done.events[-1] == {"at": done.updated_at, "actor": "cli:mo", "event": "answered",
                               "faq": True}
    [queued] = store.undelivered()
    assert queued.ticket_id == t.id and queued.body["ticket_id"] == t.id
    with pytest.raises(InvalidTransition):
        store.update_ticket(t.id, actor="cli:mo", event="answered", status="answered",
                            answer="Again", allowed_from=("open", "assigned"))
    assert store.get_ticket(t.id).answer == "No."  # the refused change left nothing behind
    assert len(store.undelivered()) == 1


# --- outbox ------------------------------------------------------------------------------------

def test_outbox_backoff_and_delivery(store_and_clock):
    store, clock = store_and_clock
    now = clock.now
    mid = store.enqueue(platform="teams", recipient="teams:29:a", reply_to={"ref": 1},
                        kind="ticket_answered", ticket_id="MO-0001", body={"answer": "x"})
    store.enqueue(platform="slack", recipient="slack:U1", reply_to=None, kind="k",
                  ticket_id=None, body={})
    [msg] = store.due_messages("teams", now)
    assert msg.id == mid and msg.reply_to == {"ref": 1} and msg.attempts == 0
    store.mark_failed(mid, "ConnectionError: down", now)
    assert store.due_messages("teams", now + backoff_seconds(1) - 0.1) == []
    [again] = store.due_messages("teams", now + backoff_seconds(1))
    assert again.attempts == 1 and again.last_error == "ConnectionError: down"
    store.mark_failed(mid, "still down", now + 10)
    assert store.due_messages("teams", now + 10 + backoff_seconds(2) - 0.1) == []
    store.mark_delivered(mid, now + 100)
    assert store.due_messages("teams", now + 10_000) == []
    assert [m.platform for m in store.undelivered()] == ["slack"]


def test_claimed_messages_are_hidden_until_the_lease_ends(store_and_clock):
    store, clock = store_and_clock
    store.enqueue(platform="slack", recipient="slack:U1", reply_to=None, kind="k",
                  ticket_id=None, body={})
    assert len(store.claim_due("slack", clock.now, lease=60)) == 1
    assert store.claim_due("slack", clock.now + 59, lease=60) == []  # another sender sees none
    assert len(store.claim_due("slack", clock.now + 61, lease=60)) == 1  # sender died: retried


def test_a_claim_is_renewed_only_by_its_holder(store_and_clock):
    store, clock = store_and_clock
    store.enqueue(platform="slack", recipient="slack:U1", reply_to=None, kind="k",
                  ticket_id=None, body={})
    [mine] = store.claim_due("slack", clock.now, lease=60)
    assert mine.next_attempt_at == clock.now + 60  # the lease's end: the claim's token
    assert store.renew_claim(mine.id, mine.next_attempt_at, clock.now + 90)
    assert not store.renew_claim(mine.id, mine.next_attempt_at, clock.now + 120)  # stale token
    [theirs] = store.claim_due("slack", clock.now + 91, lease=60)  # after the renewed lease
    assert not store.renew_claim(mine.id, clock.now + 90, clock.now + 200)
    store.mark_delivered(theirs.id, clock.now + 92)
    assert not store.renew_claim(theirs.id, theirs.next_attempt_at, clock.now + 300)


def test_outbox_outcomes_retry_at_postpone_redirect_and_give_up(store_and_clock):
    store, clock = store_and_clock
    now = clock.now
    ids = [store.enqueue(platform="slack", recipient=f"slack:U{i}", reply_to={"channel": "C1"},
                         kind="k", ticket_id=None, body={"n": i}) for i in range(4)]
    store.mark_failed(ids[0], "429", now, retry_at=now + 30)  # the platform's Retry-After
    store.mark_failed(ids[1], "timeout", now, outcome_unknown=True)  # may have arrived
    store.postpone(ids[2], now + 50)  # pacing: no attempt counted
    store.redirect(ids[3], reply_to={"channel": "D9"}, error="not_in_channel", now=now)
    assert [m.id for m in store.due_messages("slack", now)] == [ids[3]]
    [redirected] = store.claim_due("slack", now)
    assert redirected.reply_to == {"channel": "D9"} and redirected.last_error == "not_in_channel"
    by_id = {m.id: m for m in store.undelivered()}
    assert by_id[ids[0]].next_attempt_at == now + 30 and by_id[ids[0]].attempts == 1
    assert by_id[ids[1]].unknown_outcomes == 1 and store.unknown_outcomes() == 1
    assert by_id[ids[2]].attempts == 0 and by_id[ids[2]].next_attempt_at == now + 50
    store.give_up(ids[2], "channel_not_found", now)
    [lost] = store.given_up()
    assert (lost.id, lost.last_error, lost.given_up_at) == (ids[2], "channel_not_found", now)
    assert ids[2] not in [m.id for m in store.undelivered()]
    assert ids[2] not in [m.id for m in store.claim_due("slack", now + 10_000)]
    store.mark_delivered(ids[0], now)
    store.give_up(ids[0], "too late", now)  # a delivered message is not given up
    assert [m.id for m in store.given_up()] == [ids[2]]
    store.mark_failed(99_999, "unknown id", now)  # ignored


def test_inbox_records_once_claims_with_a_lease_and_completes_once(store_and_clock):
    store, clock = store_and_clock
    now = clock.now
    first = store.record_incoming("slack", "slack:event:E1", {"text": "hello"})
    assert first is not None
    assert store.record_incoming("slack", "slack:event:E1", {"text": "hello"}) is None
    assert store.claim_event("slack:event:E1") is False  # the key is claimed as an event too
    second = store.record_incoming("teams", "", {"text": "no key"})  # no key: always recorded
    assert store.pending_incoming() == 2 and store.pending_incoming("slack") == 1
    assert store.claim_incoming("slack", now, lease=60) == [(first, {"text": "hello"})]
    assert store.claim_incoming("slack", now + 59, lease=60) == []  # leased to that worker
    assert store.claim_incoming("slack", now + 61, lease=60) == [(first, {"text": "hello"})]
    reply = _message(kind="answer")
    store.complete_incoming(first, [reply], now + 62)
    store.complete_incoming(first, [reply], now + 63)  # a second worker after the lease
    assert [m.kind for m in store.undelivered("slack")] == ["answer"]  # queued once
    assert store.pending_incoming() == 1
    assert store.claim_incoming("slack", now + 1000) == []
    from protocol_bot.sqlite_store import INBOX_MAX_ATTEMPTS

    for n in range(INBOX_MAX_ATTEMPTS):  # a record that fails every time is left alone
        assert [i for i, _ in store.claim_incoming("teams", now + n * 10, lease=1)] == [second]
    assert store.claim_incoming("teams", now + 1000, lease=1) == []
    assert store.pending_incoming("teams") == 1


def test_backoff_grows_and_is_capped():
    delays = [backoff_seconds(n) for n in range(1, 20)]
    assert delays[:3] == [5.0, 10.0, 20.0]
    assert delays == sorted(delays) and max(delays) == 3600.0


# --- references, handled events, audit, log -------------------------------------------------------

def test_references_and_handled_events(store):
    assert store.get_reference("teams:29:a") is None
    store.save_reference("teams:29:a", {"conversation": {"id": "c1"}})
    store.save_reference("teams:29:a", {"conversation": {"id": "c2"}})
    assert store.get_reference("teams:29:a") == {"conversation": {"id": "c2"}}
    assert store.claim_event("slack:evt1") is True
    assert store.claim_event("slack:evt1") is False


def test_question_log_feedback_and_purge(store_and_clock):
    store, clock = store_and_clock
    old = store.log_question(question="Old?", normalised="old", answered=False, refs=(), asker=None)
    store.log_feedback(log_id=old, question="Old?", normalised="old", refs=("2.3",),
                       helpful=False, asker=None)
    clock.now += 100 * 86400
    new = store.log_question(question="New?", normalised="new", answered=True, refs=("2.3",),
                             asker="slack:U1")
    store.log_feedback(log_id=new, question="New?", normalised="new", refs=("2.3",),
                       helpful=True, asker=None)
    assert [q.helpful for q in store.logged_questions()] == [False, True]
    assert store.logged_question(new) == "New?" and store.logged_question(new + 100) is None
    counts = store.purge_log(clock.now - 90 * 86400)
    assert counts["questions"] == 1 and counts["feedback"] == 1
    assert [q.question for q in store.logged_questions()] == ["New?"]
    assert store.logged_question(old) is None  # purged: a button for it finds nothing
    assert [f.question for f in store.feedback_entries()] == ["New?"]


def test_audit_and_snapshot(store):
    store.record_audit(actor="slack:U9", action="tickets.answer", target="MO-0001",
                       outcome="refused", detail={"reason": "x"})
    store.record_audit(actor="cli:mo", action="kb.changed")
    assert [e.action for e in store.audit_entries()] == ["kb.changed", "tickets.answer"]
    assert store.audit_entries("tickets.answer")[0].detail == {"reason": "x"}
    assert store.swap_snapshot("k", {"a": 1}) is None
    assert store.swap_snapshot("k", {"a": 2}) == {"a": 1}


def test_ticket_seq_reads_what_people_type():
    assert [ticket_seq(s) for s in ("MO-0042", "mo-42", " 42 ")] == [42, 42, 42]


# --- SQLite specifics -----------------------------------------------------------------------------

def test_sqlite_file_is_wal_versioned_and_key_unique(tmp_path):
    path = tmp_path / "bot.db"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    conn.execute("INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, question, "
                 "status, created_at, updated_at) VALUES ('k', 'slack', 'U1', 'q', 'open', '', '')")
    with pytest.raises(sqlite3.IntegrityError):  # the database itself refuses a second ticket
        conn.execute("INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, "
                     "question, status, created_at, updated_at) "
                     "VALUES ('k', 'slack', 'U2', 'q2', 'open', '', '')")


def test_sqlite_migrates_an_older_file_keeping_its_tickets(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, question, "
                 "status, created_at, updated_at) VALUES ('k', 'slack', 'U1', 'Old question', "
                 "'open', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    assert store.get_ticket("MO-0001").question == "Old question"
    assert store.log_question(question="q", normalised="q", answered=True, refs=(), asker=None) == 1
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_sqlite_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer protocol-bot"):
        SqliteStore(path)


def _env(db: Path | str, **extra) -> dict:
    return {**os.environ, "PROTOCOL_BOT_DB": str(db),
            "PROTOCOL_BOT_MONITORING_OFFICERS": "slack:UMO,cli:mo", **extra}


def test_ticket_survives_the_process_that_opened_it(tmp_path, store_factory):
    db = store_factory.setting()
    out = subprocess.run(
        [sys.executable, "-m", "protocol_bot.cli", "tickets", "open", "--asker", "teams:29:abc",
         "--name", "Cllr Patel", "--key", "teams:act-1", "--json", "Who briefs the chair?"],
        capture_output=True, text=True, env=_env(db), cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    store = store_factory.open(db)  # a new process's view: only the database carries it over
    ticket = store.get_ticket(printed["id"])
    assert ticket.question == "Who briefs the chair?"
    assert ticket.asker == Asker("teams", "29:abc", "Cllr Patel")
    assert [m.recipient for m in store.undelivered()] == ["slack:UMO"]
    again, created = store.open_ticket(asker=ticket.asker, question="x",
                                       idempotency_key="teams:act-1")
    assert (again.id, created) == (ticket.id, False)


WORKER = textwrap.dedent("""
    import json, sys, time
    from protocol_bot.cli import main
    name, start_at = sys.argv[1], float(sys.argv[2])
    while time.time() < start_at:
        time.sleep(0.005)
    for i in range(50):
        key = f"shared-{i // 2}" if i % 2 == 0 else f"{name}-{i}"
        status = main(["tickets", "open", "--asker", f"slack:{name}", "--key", key,
                       "--json", f"question {key}"])
        if status != 0:
            sys.exit(f"open {key} exited {status}")
""")


def test_two_processes_opening_at_once_lose_and_duplicate_nothing(tmp_path, store_factory):
    db = store_factory.setting()  # empty: both processes also race to create the tables
    start_at = time.time() + 2.0
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, name, str(start_at)],
                                env=_env(db), cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
               for name in ("A", "B")]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    assert not any("locked" in e for e in errors), errors

    store = store_factory.open(db)
    tickets = store.list_tickets()
    keys = [t.idempotency_key for t in tickets]
    expected = {f"shared-{i}" for i in range(25)} | {f"{n}-{i}" for n in "AB"
                                                     for i in range(1, 50, 2)}
    assert sorted(keys) == sorted(expected)  # every key once: none lost, none doubled
    assert [t.id for t in tickets] == [f"MO-{n:04d}" for n in range(1, 76)]  # no gaps
    for t in tickets:
        assert t.question == f"question {t.idempotency_key}"
    notices = store.undelivered("slack")
    assert sorted(m.ticket_id for m in notices) == sorted(t.id for t in tickets)
