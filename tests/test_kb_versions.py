"""One knowledge base for every instance: versions in PostgreSQL, seeded once, written under a
lock from the latest version, announced with NOTIFY; `kb export`, `kb reload DIR`, `ask`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from protocol_bot.cli import main
from protocol_bot.config import SHIPPED_KNOWLEDGE, Config
from protocol_bot.conversation import Conversation
from protocol_bot.faq import FAQ_FILE
from protocol_bot.kb_changes import knowledge_files
from protocol_bot.desk import DeskError
from protocol_bot.kb_versions import (DatabaseKnowledge, insert_version, knowledge_only,
                                      latest_version, replace_with)
from protocol_bot.knowledge import KnowledgeError
from protocol_bot.models import Asker
from protocol_bot.watcher import start_watching

PROTOCOL_FILE = "member-officer-relations-protocol-2026.yaml"
ASKER = Asker("slack", "U1", "Cllr Jones")
MO = "cli:mo"
PHOTOCOPIER = "Can I use the council photocopier for my ward newsletter on a Sunday?"
BADGES = "Do councillors get a parking badge for the town hall car park?"
REACH = 2.0  # an instance answers from another's change within this many seconds


def _shipped_files() -> dict[str, str]:
    return {p.relative_to(SHIPPED_KNOWLEDGE).as_posix(): p.read_text(encoding="utf-8")
            for p in knowledge_files(SHIPPED_KNOWLEDGE)}


def _faq_kinds(answer) -> list[str]:
    return [c.ref for c in answer.citations if c.kind == "faq"]


def _until(condition, seconds: float = REACH):
    """Poll `condition` until it is true or the deadline passes; returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@pytest.fixture
def instances(pg_factory, tmp_path):
    """Two bot instances (Conversation with its own data directory and listener) on one
    PostgreSQL schema, as two servers behind a load balancer would be."""
    url = pg_factory.setting()
    made, listeners = [], []

    def make(name: str) -> Conversation:
        config = Config.from_env({"PROTOCOL_BOT_DB": url, "PROTOCOL_BOT_DATA":
                                  str(tmp_path / name), "PROTOCOL_BOT_MONITORING_OFFICERS": MO})
        store = pg_factory.open(url)
        conversation = Conversation.build(config, store=store)
        listeners.append(start_watching(conversation.knowledge, store))
        made.append(conversation)
        return conversation

    make.url = url
    make.listeners = listeners
    yield make
    for listener in listeners:
        listener.stop()


def _answer_with_faq(conversation: Conversation, question: str, text: str, key: str) -> str:
    ticket, _ = conversation.desk.escalate(ASKER, question, idempotency_key=key)
    conversation.desk.answer(ticket.id, MO, text, save_faq=True)
    return ticket.id


# --- two instances ----------------------------------------------------------------------------

def test_an_faq_saved_through_one_instance_is_answered_by_the_other_within_2_s(instances):
    a, b = instances("a"), instances("b")
    assert a.knowledge.version == b.knowledge.version == 1  # seeded once, from the folder
    assert a.knowledge.knowledge_dir != b.knowledge.knowledge_dir  # each its own data dir
    assert not _faq_kinds(b.knowledge.ask(PHOTOCOPIER))

    ticket_id = _answer_with_faq(a, PHOTOCOPIER, "No: council equipment is for council "
                                 "business only, whatever the day.", "slack:m1")
    assert _faq_kinds(a.knowledge.ask(PHOTOCOPIER)) == [ticket_id]  # the saver at once
    started = time.monotonic()
    assert _until(lambda: _faq_kinds(b.knowledge.ask(PHOTOCOPIER)) == [ticket_id])
    assert time.monotonic() - started < REACH
    assert b.knowledge.version == a.knowledge.version == 2
    [reply] = b.ask(ASKER, PHOTOCOPIER)
    assert reply.answer.citations[0].ref == ticket_id


def test_faq_answers_saved_at_once_on_two_instances_both_survive(instances):
    a, b = instances("a"), instances("b")
    tickets = {}
    for name, conversation, question in (("a", a, PHOTOCOPIER), ("b", b, BADGES)):
        tickets[name], _ = conversation.desk.escalate(ASKER, question,
                                                      idempotency_key=f"slack:{name}")
    barrier = threading.Barrier(2)
    errors = []

    def save(conversation, ticket, text):
        try:
            barrier.wait()
            conversation.desk.answer(ticket.id, MO, text, save_faq=True)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(a, tickets["a"], "No: council business "
                                                   "only.")),
               threading.Thread(target=save, args=(b, tickets["b"], "No: councillors park "
                                                   "as visitors do."))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    database = a.knowledge.database
    version, files = database.files()
    # After the seed, one version per save, or one for both when the second writer found its
    # entry already published by the first (each composes from every entry committed).
    assert version in (2, 3)
    refs = [p["ref"] for p in yaml.safe_load(files[FAQ_FILE.as_posix()])["passages"]]
    assert sorted(refs) == sorted([tickets["a"].id, tickets["b"].id])
    for conversation in (a, b):  # both instances answer both, from the latest version
        assert _until(lambda: conversation.knowledge.version == version)
        assert _faq_kinds(conversation.knowledge.ask(PHOTOCOPIER)) == [tickets["a"].id]
        assert _faq_kinds(conversation.knowledge.ask(BADGES)) == [tickets["b"].id]


def test_a_broken_version_is_refused_and_the_other_keeps_answering(instances):
    a, b = instances("a"), instances("b")
    database = a.knowledge.database
    before = b.knowledge.ask("Who determines council policy?")
    assert before.answered
    _, files = database.files()
    broken = dict(files)
    broken[PROTOCOL_FILE] = ""  # an editor crash emptied the protocol
    with database.store.transaction() as conn:  # as a newer release's or a hand's insert
        bad = insert_version(conn, broken, actor="someone", reason="broken", now=time.time())
    assert _until(lambda: b.knowledge.last_problems)
    assert any(PROTOCOL_FILE in str(p) and "empty" in str(p) for p in b.knowledge.last_problems)
    assert b.knowledge.version == 1  # still the last good version
    after = b.knowledge.ask("Who determines council policy?")
    assert [c.ref for c in after.citations] == [c.ref for c in before.citations]
    refusals = b.desk.store.audit_entries("kb.reload")
    assert refusals and refusals[0].outcome == "refused"
    assert f"knowledge version {bad}" in refusals[0].detail["source"]

    # The writer never publishes such a version: refused, naming the file, nothing added.
    def empty_protocol(folder: Path) -> None:
        (folder / PROTOCOL_FILE).write_text("", encoding="utf-8")

    with pytest.raises(KnowledgeError, match=PROTOCOL_FILE):
        database.write(MO, "test", empty_protocol)
    assert database.current() == bad

    # An FAQ save builds on the latest version, so it is refused until that is put right
    # (the answer itself is kept with its ticket)...
    with pytest.raises(DeskError, match=PROTOCOL_FILE):
        _answer_with_faq(a, PHOTOCOPIER, "No: council business only.", "slack:m2")
    # ... by publishing a good folder (`kb reload DIR`): taken up, the problems are gone.
    database.write(MO, "fixed", replace_with(SHIPPED_KNOWLEDGE))
    assert _until(lambda: b.knowledge.version == bad + 1)
    assert b.knowledge.last_problems == []
    a.desk.faq_publish(MO)
    assert _until(lambda: len(_faq_kinds(b.knowledge.ask(PHOTOCOPIER))) == 1)
    assert b.knowledge.version == bad + 2


def test_a_question_taught_through_one_instance_reaches_the_other(instances):
    a, b = instances("a"), instances("b")
    question = "Is there a rule about councillors and officers going for a pint?"
    key = "mor-protocol-2026#2.3"
    assert not any(f"{c.document_id}#{c.ref}" == key for c in b.knowledge.ask(question).citations[:1])
    a.desk.teach(question, key, MO)
    assert _until(lambda: any(question in p.questions for p in b.knowledge.answerer.kb.passages
                              if p.key == key))
    assert b.knowledge.version == 1  # taught questions are not a knowledge version


def test_an_empty_database_is_seeded_once_when_several_start_at_once(pg_factory, tmp_path):
    url = pg_factory.setting()
    stores = [pg_factory.open(url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    versions, errors = [], []

    def start(i, store):
        try:
            database = DatabaseKnowledge(store, tmp_path / f"data-{i}", SHIPPED_KNOWLEDGE)
            barrier.wait()
            versions.append(database.current())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i, s)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and versions == [1, 1, 1, 1]
    with stores[0].transaction() as conn:
        assert conn.execute("SELECT count(*) AS n FROM knowledge_versions").fetchone()["n"] == 1
        assert latest_version(conn) == 1
    _, files = DatabaseKnowledge(stores[0], tmp_path / "x", SHIPPED_KNOWLEDGE).files()
    assert knowledge_only(files) == _shipped_files()


def test_a_broken_knowledge_folder_is_never_seeded(pg_factory, tmp_path, knowledge_copy):
    (knowledge_copy / PROTOCOL_FILE).write_text("", encoding="utf-8")
    store = pg_factory.make()
    with pytest.raises(KnowledgeError, match=PROTOCOL_FILE):
        DatabaseKnowledge(store, tmp_path / "data", knowledge_copy).current()
    with store.transaction() as conn:
        assert latest_version(conn) is None


def test_an_upgraded_schema_5_database_keeps_its_tickets_and_is_seeded(pg_factory, tmp_path):
    import psycopg

    from protocol_bot.pg_store import MIGRATIONS

    url = pg_factory.setting()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (5)")
        for step in MIGRATIONS[:5]:
            for statement in step:
                conn.execute(statement)
        conn.execute("INSERT INTO tickets (idempotency_key, asker_platform, asker_user_id, "
                     "question, status, created_at, updated_at) VALUES ('k', 'slack', 'U1', "
                     "'Old question', 'open', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
    store = pg_factory.open(url)
    assert store.schema_version() == 6
    assert store.get_ticket("MO-0001").question == "Old question"
    assert DatabaseKnowledge(store, tmp_path / "d", SHIPPED_KNOWLEDGE).current() == 1


def test_healthz_reports_the_store_and_the_knowledge_version(instances):
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from adapters.server import CONVERSATION, PLATFORMS, healthz

    a = instances("a")
    app = web.Application()
    app[CONVERSATION], app[PLATFORMS] = a, []
    response = asyncio.run(healthz(make_mocked_request("GET", "/healthz", app=app)))
    health = json.loads(response.body)
    assert health["store"] == "postgresql" and health["knowledge_version"] == 1


def test_healthz_on_sqlite_reports_a_content_hash(tmp_path, knowledge_copy):
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from adapters.server import CONVERSATION, PLATFORMS, healthz

    conversation = Conversation.build(Config.from_env({
        "PROTOCOL_BOT_DB": str(tmp_path / "bot.db"), "PROTOCOL_BOT_KNOWLEDGE": str(knowledge_copy)}))
    app = web.Application()
    app[CONVERSATION], app[PLATFORMS] = conversation, []
    health = json.loads(asyncio.run(healthz(make_mocked_request("GET", "/healthz",
                                                                app=app))).body)
    assert health["store"] == "sqlite" and health["knowledge_version"].startswith("sha-")
    conversation.desk.store.close()


# --- the command line on a PostgreSQL database ------------------------------------------------

@pytest.fixture
def pg_env(pg_factory, tmp_path, monkeypatch):
    url = pg_factory.setting()
    monkeypatch.setenv("PROTOCOL_BOT_DB", url)
    monkeypatch.setenv("PROTOCOL_BOT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PROTOCOL_BOT_MONITORING_OFFICERS", MO)
    monkeypatch.delenv("PROTOCOL_BOT_KNOWLEDGE", raising=False)
    monkeypatch.chdir(tmp_path)
    return url


def _database(url: str, tmp_path: Path, pg_factory) -> DatabaseKnowledge:
    return DatabaseKnowledge(pg_factory.open(url), tmp_path / "check", SHIPPED_KNOWLEDGE)


def test_kb_export_and_kb_reload_round_trip(pg_env, pg_factory, tmp_path, capsys):
    exported = tmp_path / "exported"
    assert main(["kb", "export", str(exported)]) == 0
    assert {p.relative_to(exported).as_posix(): p.read_text(encoding="utf-8")
            for p in knowledge_files(exported)} == _shipped_files()
    assert "knowledge version 1" in capsys.readouterr().out

    # The same files again: valid, nothing new published.
    assert main(["kb", "reload", str(exported), "--as", MO, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["published"] is False

    # An edit (a search hint added) becomes version 2, and exports as edited.
    path = exported / "synonyms.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    assert main(["kb", "reload", str(exported), "--as", MO, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 2
    again = tmp_path / "again"
    assert main(["kb", "export", str(again)]) == 0
    assert path.read_text(encoding="utf-8") == (again / "synonyms.yaml").read_text(
        encoding="utf-8")
    assert main(["kb", "export", str(tmp_path / "v1"), "--version", "1"]) == 0
    assert "# reviewed" not in (tmp_path / "v1" / "synonyms.yaml").read_text(encoding="utf-8")

    # No folder: the latest version is checked and every instance told to reload.
    assert main(["kb", "reload", "--as", MO]) == 0
    assert "Knowledge version 2 (the latest) is valid" in capsys.readouterr().out
    # Only a monitoring officer may publish (exit 3).
    assert main(["kb", "reload", str(exported), "--as", "cli:someone"]) == 3
    capsys.readouterr()

    # A broken folder is refused with file and reason; nothing published.
    (exported / PROTOCOL_FILE).write_text("", encoding="utf-8")
    assert main(["kb", "reload", str(exported), "--as", MO]) == 1
    err = capsys.readouterr().err
    assert PROTOCOL_FILE in err and "Nothing was published" in err
    assert _database(pg_env, tmp_path, pg_factory).current() == 2
    # Exporting over files is refused (exit 2); so is a version that does not exist.
    assert main(["kb", "export", str(exported)]) == 2
    assert main(["kb", "export", str(tmp_path / "none"), "--version", "99"]) == 2


def test_kb_export_on_sqlite_writes_the_knowledge_folder(tmp_path, monkeypatch, knowledge_copy):
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(tmp_path / "bot.db"))
    monkeypatch.setenv("PROTOCOL_BOT_KNOWLEDGE", str(knowledge_copy))
    out = tmp_path / "out"
    assert main(["kb", "export", str(out)]) == 0
    assert sorted(p.name for p in knowledge_files(out)) == sorted(
        p.name for p in knowledge_files(knowledge_copy))
    assert main(["kb", "export", str(tmp_path / "o2"), "--version", "1"]) == 2


def test_cli_ask_on_a_postgresql_database_answers_from_the_database_version(
        pg_env, pg_factory, tmp_path, capsys):
    database = _database(pg_env, tmp_path, pg_factory)
    ticket, _ = database.store.open_ticket(asker=ASKER, question=PHOTOCOPIER,
                                           idempotency_key="k")
    from protocol_bot.desk import Desk

    desk = Desk(database.store, None, frozenset({MO}), database=database)
    desk.answer(ticket.id, MO, "No: council equipment is for council business only.",
                save_faq=True)
    assert database.current() == 2
    assert main(["ask", "--json", PHOTOCOPIER]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"][0]["ref"] == ticket.id
    assert answer["citations"][0]["kind"] == "faq"
    # `kb check` reads the database's version too.
    assert main(["kb", "check"]) == 0
    assert "v2" in capsys.readouterr().out


def test_tickets_answer_save_faq_from_the_cli_publishes_a_version(pg_env, pg_factory, tmp_path,
                                                                 capsys):
    assert main(["tickets", "open", "--asker", "slack:U1", "--json", BADGES]) == 0
    ticket_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["tickets", "answer", ticket_id, "--as", MO, "--text", "No parking badges.",
                 "--save-faq"]) == 0
    _, files = _database(pg_env, tmp_path, pg_factory).files()
    assert ticket_id in files[FAQ_FILE.as_posix()]
    assert main(["kb", "teach", BADGES, "--ref", "mor-protocol-2026:2.3", "--as", MO]) == 0


def test_kb_import_publish_adds_a_version_from_the_latest_one(pg_env, pg_factory, tmp_path,
                                                              capsys, shipped_kb):
    from tests.test_import import write_2027_protocol

    database = _database(pg_env, tmp_path, pg_factory)
    path = write_2027_protocol(tmp_path / "protocol-2027.docx", shipped_kb)
    # --knowledge names a folder, not the database: refused with PostgreSQL (exit 2).
    assert main(["kb", "import", str(path), "--knowledge", str(SHIPPED_KNOWLEDGE), "--replaces",
                 "mor-protocol-2026", "--publish", "--as", MO]) == 2
    capsys.readouterr()
    assert main(["kb", "import", str(path), "--replaces", "mor-protocol-2026", "--publish",
                 "--as", MO, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["published"] is True
    version, files = database.files()
    assert version == 2 and "member-officer-relations-protocol-2027.yaml" in files
    assert "superseded_by: mor-protocol-2027" in files[PROTOCOL_FILE]
    assert main(["ask", "--json", "Which version of the protocol is current?"]) == 0
    assert "2027" in json.loads(capsys.readouterr().out)["citations"][0]["edition"]
    [entry] = database.store.audit_entries("kb.import")
    assert entry.actor == MO and entry.detail["version"] == 2


def _insert_broken(database: DatabaseKnowledge) -> int:
    _, files = database.files()
    broken = {**files, PROTOCOL_FILE: ""}
    with database.store.transaction() as conn:
        return insert_version(conn, broken, actor="someone", reason="broken", now=time.time())


def test_an_instance_started_while_the_latest_version_is_broken_answers_from_the_one_before(
        instances):
    a = instances("a")
    bad = _insert_broken(a.knowledge.database)
    b = instances("b")  # starts now: refuses the latest, answers from the last good one
    assert b.knowledge.version == bad - 1
    assert any(PROTOCOL_FILE in str(p) for p in b.knowledge.last_problems)
    assert b.knowledge.ask("Who determines council policy?").answered
    # Rebuilt for a taught question, it still says the latest version is refused.
    a.desk.teach("Who sets the council's policies?", "mor-protocol-2026#2.3", MO)
    assert _until(lambda: any("Who sets the council's policies?" in p.questions
                              for p in b.knowledge.answerer.kb.passages))
    assert b.knowledge.last_problems and b.knowledge.version == bad - 1


def test_a_version_published_while_the_listener_was_disconnected_is_taken_up(instances):
    import psycopg

    a, b = instances("a"), instances("b")
    assert _until(lambda: all(x.backend_pid for x in instances.listeners))
    with psycopg.connect(instances.url, autocommit=True) as conn:
        # Both listeners lose their connection (a database restart, a network drop) ...
        for listener in instances.listeners:
            conn.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,))
    # ... and a version is published meanwhile: found by reconnecting or by polling.
    ticket_id = _answer_with_faq(a, PHOTOCOPIER, "No: council business only.", "slack:m9")
    assert _until(lambda: _faq_kinds(b.knowledge.ask(PHOTOCOPIER)) == [ticket_id], 10)


def test_an_faq_file_edited_after_export_is_taken_into_the_database(pg_env, tmp_path, capsys):
    assert main(["tickets", "open", "--asker", "slack:U1", "--json", BADGES]) == 0
    ticket_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["tickets", "answer", ticket_id, "--as", MO, "--text", "No parking badges.",
                 "--save-faq"]) == 0
    exported = tmp_path / "exported"
    assert main(["kb", "export", str(exported)]) == 0
    faq_file = exported / FAQ_FILE
    faq_file.write_text(faq_file.read_text(encoding="utf-8").replace(
        "No parking badges.", "No, councillors use the visitors' spaces."), encoding="utf-8")
    assert main(["kb", "reload", str(exported), "--as", MO]) == 0
    capsys.readouterr()
    assert main(["faq", "publish", "--as", MO]) == 0
    assert "hand edit of the FAQ file taken in" in capsys.readouterr().out
    assert main(["faq", "list", "--as", MO, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["text"] == "No, councillors use the visitors' spaces."


def test_two_commands_started_at_once_on_an_empty_database_seed_it_once(pg_factory, tmp_path):
    import os
    import subprocess
    import sys

    url = pg_factory.setting()
    env = {**os.environ, "PROTOCOL_BOT_DB": url, "PROTOCOL_BOT_DATA": str(tmp_path / "data")}
    env.pop("PROTOCOL_BOT_KNOWLEDGE", None)
    runs = [subprocess.Popen([sys.executable, "-m", "protocol_bot.cli", "kb", "export",
                              str(tmp_path / f"out-{i}")], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("knowledge version 1 " in out for out, _ in outputs)
    store = pg_factory.open(url)
    with store.transaction() as conn:
        assert conn.execute("SELECT count(*) AS n FROM knowledge_versions").fetchone()["n"] == 1
