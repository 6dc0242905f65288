"""What only PostgreSQL does: several instances (processes) on one database, and its schema
migrations. The behaviour both stores share is tested on both in test_store.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from protocol_bot.config import Config
from protocol_bot.models import Asker
from protocol_bot.pg_store import SCHEMA_VERSION as PG_SCHEMA_VERSION
from protocol_bot.store import StoreError
from protocol_bot.stores import open_store

REPO = Path(__file__).resolve().parent.parent
ASKER = Asker("slack", "U1", "Cllr Jones")


def _connect(url):
    import psycopg

    return psycopg.connect(url, autocommit=True)


# --- choosing the store -----------------------------------------------------------------------

def test_protocol_bot_db_chooses_the_store(tmp_path, pg_factory):
    from protocol_bot.pg_store import PgStore
    from protocol_bot.sqlite_store import SqliteStore

    url = pg_factory.setting()
    for prefix in ("postgresql://", "postgres://"):
        config = Config.from_env({"PROTOCOL_BOT_DB": url.replace("postgresql://", prefix)})
        assert config.db_url and config.db_path == Path("protocol-bot.db")
        store = open_store(config)
        assert isinstance(store, PgStore)
        store.close()
    store = open_store(Config.from_env({"PROTOCOL_BOT_DB": str(tmp_path / "x.db")}))
    assert isinstance(store, SqliteStore)
    store.close()


def test_an_unreachable_server_is_a_store_error_naming_it_without_the_password():
    from protocol_bot.pg_store import CONNECT_TIMEOUT_SECONDS, PgStore

    started = time.monotonic()
    with pytest.raises(StoreError, match=r"postgresql://bot:\*\*\*@127.0.0.1:1/x") as info:
        PgStore("postgresql://bot:secret@127.0.0.1:1/x")
    assert "secret" not in str(info.value)
    assert time.monotonic() - started < CONNECT_TIMEOUT_SECONDS + 5


def test_a_database_this_user_may_not_write_is_a_store_error(pg_factory):
    url = pg_factory.setting()
    pg_factory.open(url).close()  # the tables exist
    read_only = url + "%20-cdefault_transaction_read_only%3Don"
    with pytest.raises(StoreError, match="read-only transaction"):
        store = pg_factory.open(read_only)
        store.open_ticket(asker=ASKER, question="Q", idempotency_key="k")


def test_ask_reads_taught_questions_from_the_server_without_writing(pg_factory):
    from protocol_bot.pg_store import read_taught_hints

    url = pg_factory.setting()
    assert read_taught_hints(url) == {}  # no tables yet: nothing, and nothing created
    with _connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = "
                            "current_schema()").fetchone()[0] == 0
    store = pg_factory.open(url)
    store.teach(question="Can I use council paper?", passage_key="d#1", actor="cli:mo",
                source="cli")
    undone, _ = store.teach(question="Old wording", passage_key="d#1", actor="cli:mo",
                            source="cli")
    store.undo_teaching(undone.id, actor="cli:mo")
    assert read_taught_hints(url) == {"d#1": ["Can I use council paper?"]}
    assert read_taught_hints("postgresql://bot@127.0.0.1:1/x") == {}


# --- migrations -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", range(0, PG_SCHEMA_VERSION))
def test_every_earlier_schema_is_upgraded_keeping_its_data(pg_factory, version):
    from protocol_bot.pg_store import MIGRATIONS, SCHEMA_VERSION

    url = pg_factory.setting()
    with _connect(url) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (%s)", (version,))
        for step in MIGRATIONS[:version]:
            for statement in step:
                conn.execute(statement)
        if version >= 1:
            conn.execute("INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, "
                         "question, status, created_at, updated_at) VALUES ('k', 'slack', 'U1', "
                         "'Old question', 'open', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
    store = pg_factory.open(url)
    assert store.schema_version() == SCHEMA_VERSION
    if version >= 1:
        assert store.get_ticket("MO-0001").question == "Old question"
    ticket, _ = store.open_ticket(asker=ASKER, question="New", idempotency_key="new")
    assert ticket.id == ("MO-0002" if version >= 1 else "MO-0001")
    assert store.log_question(question="q", normalised="q", answered=True, refs=(),
                              asker=None) == 1


def test_a_newer_schema_is_refused(pg_factory):
    from protocol_bot.pg_store import SCHEMA_VERSION

    url = pg_factory.setting()
    with _connect(url) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer protocol-bot"):
        pg_factory.open(url)


def test_a_database_from_the_unreleased_pg_branch_is_refused(pg_factory):
    url = pg_factory.setting()
    with _connect(url) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (5)")
        conn.execute("CREATE TABLE knowledge_versions (version BIGSERIAL PRIMARY KEY)")
    with pytest.raises(StoreError, match="development build"):
        pg_factory.open(url)


def test_the_database_itself_refuses_a_second_ticket_for_a_key(pg_factory):
    import psycopg

    url = pg_factory.setting()
    pg_factory.open(url)
    with _connect(url) as conn:
        insert = ("INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, question, "
                  "status, created_at, updated_at) VALUES ('k', 'slack', %s, 'q', 'open', '', '')")
        conn.execute(insert, ("U1",))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, ("U2",))


# --- several processes ------------------------------------------------------------------------

CONSUMER = textwrap.dedent("""
    import json, sys, time
    from protocol_bot.pg_store import PgStore
    url, start_at, lease, hold = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    store = PgStore(url)
    while time.time() < start_at:
        time.sleep(0.005)
    got = []
    idle_since = time.time()
    while time.time() - idle_since < 1.0:
        batch = store.claim_due("slack", time.time(), limit=5, lease=lease)
        if not batch:
            time.sleep(0.02)
            continue
        idle_since = time.time()
        for message in batch:
            got.append(message.id)
            print(json.dumps(message.id), flush=True)
            if hold == "die":  # claimed, never marked: killed before it could send
                time.sleep(3600)
            store.mark_delivered(message.id, time.time())
    store.close()
""")


def _consumer(url: str, start_at: float, lease: float = 30.0, hold: str = "no"):
    return subprocess.Popen([sys.executable, "-c", CONSUMER, url, str(start_at), str(lease), hold],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_senders_claim_disjoint_messages_and_deliver_each_once(pg_factory):
    url = pg_factory.setting()
    store = pg_factory.open(url)
    ids = [store.enqueue(platform="slack", recipient=f"slack:U{i}", reply_to=None, kind="k",
                         ticket_id=None, body={"n": i}) for i in range(200)]
    start_at = time.time() + 1.5
    workers = [_consumer(url, start_at) for _ in range(2)]
    outs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [o[1] for o in outs]
    claimed = [[json.loads(line) for line in out.split()] for out, _ in outs]
    assert not set(claimed[0]) & set(claimed[1])  # SKIP LOCKED: never the same message twice
    assert sorted(claimed[0] + claimed[1]) == ids  # and none left behind
    assert claimed[0] and claimed[1]  # both really took part
    assert store.undelivered() == []


def test_a_killed_sender_s_messages_are_delivered_by_another_after_the_lease(pg_factory):
    url = pg_factory.setting()
    store = pg_factory.open(url)
    mid = store.enqueue(platform="slack", recipient="slack:U1", reply_to=None, kind="k",
                        ticket_id=None, body={})
    dying = _consumer(url, time.time(), lease=2.0, hold="die")
    assert json.loads(dying.stdout.readline()) == mid  # claimed ...
    os.kill(dying.pid, signal.SIGKILL)  # ... and the instance dies mid-send
    dying.wait(timeout=30)
    assert store.claim_due("slack", time.time(), lease=2.0) == []  # hidden during the lease
    time.sleep(2.2)
    survivor = _consumer(url, time.time(), lease=2.0)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err
    assert [json.loads(line) for line in out.split()] == [mid]
    assert store.undelivered() == []


def test_one_event_claimed_by_many_threads_and_processes_acts_once(pg_factory):
    from concurrent.futures import ThreadPoolExecutor

    url = pg_factory.setting()
    stores = [pg_factory.open(url), pg_factory.open(url)]  # two instances' pools
    keys = [f"slack:event:E{i}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda job: stores[job[0]].claim_event(job[1]),
                                [(n % 2, key) for key in keys for n in range(4)]))
    assert sum(results) == len(keys)


def test_concurrent_changes_to_one_ticket_let_exactly_one_through(pg_factory):
    from concurrent.futures import ThreadPoolExecutor

    from protocol_bot.store import InvalidTransition

    url = pg_factory.setting()
    stores = [pg_factory.open(url), pg_factory.open(url)]
    ticket, _ = stores[0].open_ticket(asker=ASKER, question="Q", idempotency_key="k")

    def answer(n):
        try:
            stores[n % 2].update_ticket(ticket.id, actor=f"mo{n}", event="answered",
                                        status="answered", answer=f"A{n}",
                                        allowed_from=("open", "assigned"),
                                        outbox=[{"platform": "slack", "recipient": "slack:U1",
                                                 "reply_to": None, "kind": "ticket_answered",
                                                 "body": {"n": n}}])
            return True
        except InvalidTransition:
            return False

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(answer, range(16)))
    assert outcomes.count(True) == 1
    assert len(stores[0].undelivered()) == 1  # one answer owed, not sixteen


def test_bursts_recorded_at_once_by_two_instances_record_each_key_once(pg_factory):
    from concurrent.futures import ThreadPoolExecutor

    url = pg_factory.setting()
    stores = [pg_factory.open(url), pg_factory.open(url)]
    keys = [f"slack:event:E{i}" for i in range(30)]
    bursts = [[(k, {"key": k}) for k in (keys if n % 2 else keys[::-1])] for n in range(8)]
    with ThreadPoolExecutor(8) as pool:  # opposite orders: no deadlock, each key once
        results = list(pool.map(lambda n: stores[n % 2].record_many("slack", bursts[n]),
                                range(8)))
    assert sum(i is not None for ids in results for i in ids) == len(keys)
    assert stores[0].pending_incoming() == len(keys)
    # Within one burst: the first of two equal keys is recorded, in order; no key, always.
    ids = stores[1].record_many("slack", [("k2", {"n": 1}), ("k1", {"n": 2}), ("k2", {"n": 3}),
                                          ("", {"n": 4}), ("", {"n": 5})])
    assert [i is not None for i in ids] == [True, True, False, True, True]
    assert ids[0] < ids[1] < ids[3] < ids[4]


def test_an_incoming_payload_is_recorded_once_and_answered_once_across_instances(pg_factory):
    from concurrent.futures import ThreadPoolExecutor

    url = pg_factory.setting()
    stores = [pg_factory.open(url), pg_factory.open(url)]
    keys = [f"slack:event:E{i}" for i in range(20)]
    with ThreadPoolExecutor(8) as pool:  # every event delivered four times, to both instances
        ids = list(pool.map(lambda job: stores[job[0]].record_incoming("slack", job[1],
                                                                       {"key": job[1]}),
                            [(n % 2, key) for key in keys for n in range(4)]))
    recorded = [i for i in ids if i is not None]
    assert len(recorded) == len(keys) and stores[0].pending_incoming("slack") == len(keys)
    with ThreadPoolExecutor(4) as pool:  # both instances' workers claim at once: disjoint
        batches = list(pool.map(lambda n: stores[n % 2].claim_incoming("slack", time.time(),
                                                                       limit=3),
                                range(20)))
    claimed = [record_id for batch in batches for record_id, _ in batch]
    assert sorted(claimed) == sorted(recorded)  # each record to exactly one worker
    reply = {"platform": "slack", "recipient": "slack:U1", "reply_to": None, "kind": "answer",
             "body": {}}
    first = claimed[0]
    stores[0].complete_incoming(first, [reply], time.time())
    stores[1].complete_incoming(first, [reply], time.time())  # a late second worker
    assert len(stores[0].undelivered()) == 1  # answered once
    assert stores[1].pending_incoming() == len(keys) - 1
