"""The outbox delivery loop: an answer queued while a platform is down arrives once it is back."""

from __future__ import annotations

import asyncio

from adapters.outbox_loop import OutboxWorker, deliver_due
from protocol_bot.delivery import Deliveries
from protocol_bot.desk import Desk
from protocol_bot.pacing import Pacer, Pacing
from protocol_bot.sqlite_store import SqliteStore
from protocol_bot.models import Asker
from protocol_bot.store import backoff_seconds

T0 = 1_800_000_000.0


class FlakyPlatform:
    """A platform that fails while `down` is set and records what it received."""

    def __init__(self):
        self.down = True
        self.received = []
        self.attempts = 0

    async def send(self, message):
        self.attempts += 1
        if self.down:
            raise ConnectionError("platform unavailable (HTTP 503)")
        self.received.append(message)


def _answered_ticket(db, platform="teams"):
    desk = Desk(SqliteStore(db, clock=lambda: T0), None, frozenset({"cli:mo"}))
    asker = Asker(platform, "29:cllr", "Cllr Patel")
    ticket, _ = desk.escalate(asker, "May I attend the officers' away day?",
                              idempotency_key="teams:act-9", reply_to={"conversation": {"id": "c9"}})
    desk.answer(ticket.id, "cli:mo", "Only if invited by the chief executive.")
    desk.store.close()
    return ticket


def test_answer_queued_during_an_outage_is_delivered_after_it_and_a_restart(tmp_path):
    db = tmp_path / "bot.db"
    ticket = _answered_ticket(db)
    platform = FlakyPlatform()

    store = SqliteStore(db)
    assert asyncio.run(deliver_due(Deliveries(store), "teams", platform.send, now=T0)) == 0
    [pending] = store.undelivered("teams")
    assert pending.attempts == 1 and "503" in pending.last_error
    # Not retried before its backoff is up, even though the platform is back.
    platform.down = False
    assert asyncio.run(deliver_due(Deliveries(store), "teams", platform.send, now=T0 + 1)) == 0
    assert platform.attempts == 1
    store.close()

    store = SqliteStore(db)  # the bot restarted meanwhile: the answer is still owed
    assert asyncio.run(deliver_due(Deliveries(store), "teams", platform.send,
                                   now=T0 + backoff_seconds(1) + 1)) == 1
    [message] = platform.received
    assert message.kind == "ticket_answered" and message.recipient == "teams:29:cllr"
    assert message.reply_to == {"conversation": {"id": "c9"}}
    assert message.body["answer"] == "Only if invited by the chief executive."
    assert message.body["ticket_id"] == ticket.id
    assert store.undelivered("teams") == []
    # Delivered once: later passes send nothing again.
    assert asyncio.run(deliver_due(Deliveries(store), "teams", platform.send, now=T0 + 10_000)) == 0
    assert len(platform.received) == 1


def test_repeated_failures_back_off_exponentially(tmp_path):
    db = tmp_path / "bot.db"
    _answered_ticket(db)
    store = SqliteStore(db)
    platform = FlakyPlatform()
    now = T0
    for attempt in range(1, 5):
        assert asyncio.run(deliver_due(Deliveries(store), "teams", platform.send, now=now)) == 0
        [pending] = store.undelivered("teams")
        assert pending.attempts == attempt
        assert pending.next_attempt_at == now + backoff_seconds(attempt)
        now = pending.next_attempt_at
    assert platform.attempts == 4


def test_only_this_platforms_messages_and_a_late_reference_is_used():
    store = SqliteStore(":memory:", clock=lambda: T0)
    store.enqueue(platform="teams", recipient="teams:29:mo", reply_to=None, kind="ticket_opened",
                  ticket_id="MO-0001", body={})
    store.enqueue(platform="slack", recipient="slack:UMO", reply_to=None, kind="ticket_opened",
                  ticket_id="MO-0001", body={})
    # The Teams MO messaged the bot after the ticket was queued: now they can be reached.
    store.save_reference("teams:29:mo", {"conversation": {"id": "dm"}})
    platform = FlakyPlatform()
    platform.down = False
    assert asyncio.run(deliver_due(Deliveries(store), "teams", platform.send, now=T0)) == 1
    assert [m.reply_to for m in platform.received] == [{"conversation": {"id": "dm"}}]
    assert [m.platform for m in store.undelivered()] == ["slack"]


def test_the_worker_delivers_until_stopped():
    store = SqliteStore(":memory:")
    store.enqueue(platform="slack", recipient="slack:U1", reply_to=None, kind="ticket_answered",
                  ticket_id="MO-0001", body={"answer": "a"})
    platform = FlakyPlatform()
    platform.down = False

    async def scenario():
        stop = asyncio.Event()
        worker = OutboxWorker(Deliveries(store), "slack", platform.send, lambda m: "one")
        task = asyncio.create_task(worker.run(stop, interval=0.01))
        for _ in range(200):
            if platform.received:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=2)

    asyncio.run(scenario())
    assert len(platform.received) == 1 and store.undelivered() == []


def test_the_core_decides_what_a_refusal_means():
    from protocol_bot.delivery import Refused, RetryLater, Undeliverable
    from protocol_bot.report import build_report

    store = SqliteStore(":memory:", clock=lambda: T0)
    desk = Desk(store, None, frozenset({"slack:UMO"}))
    deliveries = Deliveries(store, notify=desk.notify_mos)

    def queued(kind="reply", reply_to=None):
        store.enqueue(platform="slack", recipient="slack:UCLLR", kind=kind, ticket_id=None,
                      reply_to=reply_to or {"channel": "C1", "thread_ts": "1.1"}, body={})
        return [m for m in deliveries.claim("slack", T0 + 1000) if m.recipient == "slack:UCLLR"][-1]

    # Rate limited: due again at Retry-After, the outcome known (no duplicate counted).
    limited = queued()
    deliveries.failed(limited, RetryLater("429", retry_after=7), T0)
    [again] = [m for m in store.undelivered() if m.id == limited.id]
    assert again.next_attempt_at == T0 + 7 and again.attempts == 1
    # A timeout: retried, and counted as a possible duplicate.
    deliveries.failed(again, RetryLater("timeout", outcome_unknown=True), T0)
    assert store.unknown_outcomes() == 1
    # A channel that refuses the bot: the asker's DM instead, and the MO is told.
    refused = queued()
    deliveries.failed(refused, Refused("not_in_channel", {"user": "UCLLR"}), T0)
    [moved] = [m for m in store.undelivered() if m.id == refused.id]
    assert moved.reply_to == {"user": "UCLLR"} and moved.next_attempt_at == T0
    [notice] = [m for m in store.undelivered() if m.kind == "notice"]
    assert notice.recipient == "slack:UMO" and "privately" in notice.body["text"]
    # Nowhere to go: given up, never sent, and listed in the report.
    hopeless = queued()
    deliveries.failed(hopeless, Undeliverable("msg_too_long"), T0)
    assert hopeless.id not in [m.id for m in store.undelivered()]
    report = build_report(desk, now=T0)
    assert [u["id"] for u in report["undeliverable_messages"]] == [hopeless.id]
    assert report["possible_duplicates"] == 1


def test_a_message_whose_lease_ran_out_in_the_queue_is_sent_by_its_new_claimant_only(tmp_path):
    """A busy sender that held a claimed message past its lease must not send it: the next
    claim (another instance, or this worker's next pass) owns it now."""
    ticket = _answered_ticket(tmp_path / "bot.db")
    store = SqliteStore(tmp_path / "bot.db")
    deliveries = Deliveries(store, lease=30)
    [first] = deliveries.claim("teams", T0)
    assert first.ticket_id == ticket.id and first.next_attempt_at == T0 + 30
    assert deliveries.claim("teams", T0 + 10) == []  # hidden while leased
    assert deliveries.still_ours(first, T0 + 5, needed=16) is first  # time enough: no write
    [second] = deliveries.claim("teams", T0 + 31)  # the lease ran out: claimed again
    assert deliveries.still_ours(first, T0 + 31, needed=16) is None  # the old claim is void
    renewed = deliveries.still_ours(second, T0 + 50, needed=16)  # running short: renewed
    assert renewed is not None and renewed.next_attempt_at == T0 + 80
    assert deliveries.claim("teams", T0 + 61) == []
    deliveries.delivered(renewed, T0 + 51)
    assert deliveries.still_ours(renewed, T0 + 90, needed=16) is None  # delivered: never again


def test_a_platforms_no_is_classified_once_for_every_platform():
    from protocol_bot.delivery import (PERMANENT, REFUSED, RETRY, TIMEOUT, Refused, RetryLater,
                                       Undeliverable, http_kind, refusal)

    assert [http_kind(s) for s in (429, 412, 503, 403, 404, 400)] == [
        RETRY, RETRY, RETRY, REFUSED, REFUSED, PERMANENT]
    limited = refusal(RETRY, "429", retry_after="7")
    assert isinstance(limited, RetryLater) and limited.retry_after == 7.0
    assert refusal(TIMEOUT, "slow").outcome_unknown
    assert isinstance(refusal(REFUSED, "gone", fallback={"user": "U1"}), Refused)
    assert isinstance(refusal(PERMANENT, "too long"), Undeliverable)


def test_a_destination_is_paced_and_waits_out_a_retry_after():
    now = [T0]
    pacer = Pacer(Pacing(interval=2.0), clock=lambda: now[0])
    assert pacer.wait("channel:C1") <= 0  # never sent to: at once
    pacer.sent("channel:C1")
    assert pacer.wait("channel:C1") == 2.0 and pacer.wait("channel:C2") <= 0
    pacer.sent("channel:C1", retry_after=30.0)  # "not now": the platform's pause, not the pace
    now[0] += 10
    assert pacer.not_before("channel:C1") == T0 + 30.0 and pacer.wait("channel:C1") == 20.0
