"""Keeping the knowledge current: save-as-FAQ, `kb reload`, the watcher, broken edits refused."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from protocol_bot.cli import main
from protocol_bot.desk import Desk, DeskError
from protocol_bot.faq import FAQ_FILE
from protocol_bot.live import LiveKnowledge
from protocol_bot.sqlite_store import SqliteStore
from protocol_bot.models import Asker
from protocol_bot.watcher import KnowledgeWatcher, request_reload

PROTOCOL_FILE = "member-officer-relations-protocol-2026.yaml"
LEAFLETS = "Can I ask an officer to deliver my leaflets?"
ANSWERED = "Who determines council policy?"  # answered from the shipped protocol
ASKER = Asker("slack", "U1", "Cllr Jones")
BROKEN_PASSAGE = """
  - ref: "9.9"
    heading: A clause someone forgot to finish
    type: clause
"""


@pytest.fixture
def live(knowledge_copy):
    return LiveKnowledge(knowledge_copy)


@pytest.fixture
def desk(live):
    return Desk(SqliteStore(":memory:"), live, frozenset({"slack:UMO"}))


def _cites(answer) -> list[tuple[str, str, str]]:
    return [(c.document_id, c.ref, c.kind) for c in answer.citations]


def _leaflet_ticket(desk):
    ticket, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="slack:m1",
                              bot_refs=("mor-protocol-2026#2.3",))
    return ticket


def test_save_as_faq_changes_the_next_answer(desk, live, knowledge_copy):
    assert not any(kind == "faq" for _, _, kind in _cites(live.ask(LEAFLETS)))
    ticket = _leaflet_ticket(desk)
    answer = ("No. Officers must not deliver leaflets or any other political material for "
              "councillors, even in their own time if asked by you.")
    done = desk.answer(ticket.id, "slack:UMO", answer, save_faq=True,
                       faq_questions=["Will officers hand out my ward leaflets?"])
    assert done.status == "answered" and done.events[-1]["faq"] is True

    # The running index answered from the new entry at once: no restart, no watcher.
    after = live.ask(LEAFLETS)
    assert after.answered
    assert ("mo-faq", ticket.id, "faq") in _cites(after)
    assert ("mo-faq", ticket.id, "faq") in _cites(live.ask("Will officers hand out my ward leaflets?"))

    entry = yaml.safe_load((knowledge_copy / FAQ_FILE).read_text())
    assert entry["document"]["id"] == "mo-faq" and entry["document"]["kind"] == "faq"
    [passage] = entry["passages"]
    assert passage["ref"] == ticket.id and passage["heading"] == LEAFLETS
    assert passage["type"] == "faq" and passage["text"] == answer
    assert passage["questions"] == [LEAFLETS, "Will officers hand out my ward leaflets?"]
    assert passage["author"] == "slack:UMO" and passage["related"] == ["mor-protocol-2026#2.3"]
    changes = desk.store.audit_entries("kb.changed")
    assert changes and changes[0].actor == "slack:UMO"


def test_saving_a_ticket_again_replaces_its_entry(desk, knowledge_copy):
    ticket = _leaflet_ticket(desk)
    desk.answer(ticket.id, "slack:UMO", "First answer.", save_faq=True)
    desk.reopen(ticket.id, "slack:UMO")
    desk.answer(ticket.id, "slack:UMO", "Corrected answer.", save_faq=True)
    passages = yaml.safe_load((knowledge_copy / FAQ_FILE).read_text())["passages"]
    assert [(p["ref"], p["text"]) for p in passages] == [(ticket.id, "Corrected answer.")]


def test_faq_refused_while_the_knowledge_on_disk_is_broken(desk, live, knowledge_copy):
    ticket = _leaflet_ticket(desk)
    with open(knowledge_copy / PROTOCOL_FILE, "a") as handle:
        handle.write(BROKEN_PASSAGE)
    with pytest.raises(DeskError, match="has no text"):
        desk.answer(ticket.id, "slack:UMO", "No.", save_faq=True)
    # Nothing half-done: no FAQ file, the ticket still open, nothing sent to the asker.
    assert not (knowledge_copy / FAQ_FILE).exists()
    assert desk.store.get_ticket(ticket.id).status == "open"
    assert not [m for m in desk.store.undelivered() if m.kind == "ticket_answered"]
    assert desk.store.audit_entries("kb.faq")[0].outcome == "refused"


def test_broken_edit_is_refused_and_answers_continue_from_the_old_index(live, knowledge_copy):
    before = live.ask(ANSWERED)
    assert before.answered
    passages = len(live.answerer.kb.passages)
    with open(knowledge_copy / PROTOCOL_FILE, "a") as handle:
        handle.write(BROKEN_PASSAGE)

    problems = live.reload()
    assert problems and any("has no text" in str(p) for p in problems)
    assert any(PROTOCOL_FILE in str(p) for p in problems)
    assert len(live.answerer.kb.passages) == passages
    assert _cites(live.ask(ANSWERED)) == _cites(before)


def _run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture
def cli_env(tmp_path, monkeypatch, knowledge_copy):
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(tmp_path / "bot.db"))
    monkeypatch.setenv("PROTOCOL_BOT_MONITORING_OFFICERS", "cli:mo")
    monkeypatch.setenv("PROTOCOL_BOT_KNOWLEDGE", str(knowledge_copy))
    return tmp_path


def test_kb_reload_cli_refuses_broken_and_reports_changes(cli_env, knowledge_copy, capsys):
    SqliteStore(cli_env / "bot.db").close()  # the bot has run: `kb reload` creates no database
    status, out, _ = _run(capsys, "kb", "reload", "--as", "cli:mo")
    assert status == 0 and "valid" in out
    signal = knowledge_copy / ".reload-requested"
    assert json.loads(signal.read_text())["by"] == "cli:mo"  # running bots were told

    protocol = knowledge_copy / PROTOCOL_FILE
    good = protocol.read_text()
    protocol.write_text(good + BROKEN_PASSAGE)
    signal.unlink()
    status, out, err = _run(capsys, "kb", "reload", "--as", "cli:mo")
    assert status == 1 and "has no text" in err and PROTOCOL_FILE in err
    assert not signal.exists()  # a refused edit is not offered to running bots

    protocol.write_text(good.replace("essential ingredient", "essential part", 1))
    status, out, _ = _run(capsys, "kb", "reload", "--as", "cli:mo", "--json")
    result = json.loads(out)
    assert status == 0 and result["ok"] is True
    assert result["changes"]["files_changed"] == [PROTOCOL_FILE]
    assert len(result["changes"]["passages_changed"]) == 1
    assert result["changes"]["passages_changed"][0].startswith("mor-protocol-2026#")

    store = SqliteStore(cli_env / "bot.db")
    refused = store.audit_entries("kb.reload")[0]
    assert refused.outcome == "refused" and refused.actor == "cli:mo"
    [changed, first] = store.audit_entries("kb.changed")
    assert changed.actor == "cli:mo" and changed.target == PROTOCOL_FILE and first.detail["first"]


def test_cli_answer_with_save_faq(cli_env, knowledge_copy, capsys):
    status, out, _ = _run(capsys, "tickets", "open", "--asker", "slack:U1", "--json", LEAFLETS)
    ticket_id = json.loads(out)["id"]
    status, out, err = _run(capsys, "tickets", "answer", ticket_id, "--as", "cli:mo", "--text",
                            "No, officers may not deliver them.", "--save-faq",
                            "--question", "Can officers post my leaflets?", "--json")
    assert status == 0, err
    assert json.loads(out)["status"] == "answered"
    saved = yaml.safe_load((knowledge_copy / FAQ_FILE).read_text())["passages"][0]
    assert saved["ref"] == ticket_id and saved["questions"][1] == "Can officers post my leaflets?"
    # A bot started now answers from it.
    assert ("mo-faq", ticket_id, "faq") in _cites(LiveKnowledge(knowledge_copy).ask(LEAFLETS))


def test_watcher_picks_up_edits_and_refuses_broken_ones(live, knowledge_copy):
    store = SqliteStore(":memory:")
    watcher = KnowledgeWatcher(live, store, interval=0.05)
    assert watcher.check_once() is False  # nothing changed yet
    count = len(live.answerer.kb.passages)

    protocol = knowledge_copy / PROTOCOL_FILE
    good = protocol.read_text()
    protocol.write_text(good + BROKEN_PASSAGE.replace("type: clause", "type: clause\n    text: New."))
    assert watcher.check_once() is True
    assert len(live.answerer.kb.passages) == count + 1
    [change] = store.audit_entries("kb.changed")
    assert change.detail["first"] or change.detail["passages_added"] == ["mor-protocol-2026#9.9"]

    protocol.write_text(good + BROKEN_PASSAGE)
    assert watcher.check_once() is True
    assert len(live.answerer.kb.passages) == count + 1  # the last good index is kept
    assert store.audit_entries("kb.reload")[0].outcome == "refused"

    protocol.write_text(good)
    request_reload(knowledge_copy, "cli:deputy")
    assert watcher.check_once() is True
    assert len(live.answerer.kb.passages) == count
    latest = store.audit_entries("kb.changed")[0]
    assert latest.actor == "cli:deputy"
    assert latest.detail["passages_removed"] == ["mor-protocol-2026#9.9"]


def test_watcher_thread_reloads_without_being_asked(live, knowledge_copy):
    watcher = KnowledgeWatcher(live, None, interval=0.05).start()
    try:
        count = len(live.answerer.kb.passages)
        protocol = knowledge_copy / PROTOCOL_FILE
        protocol.write_text(protocol.read_text()
                            + BROKEN_PASSAGE.replace("type: clause", "type: clause\n    text: New."))
        deadline = time.monotonic() + 10
        while len(live.answerer.kb.passages) == count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(live.answerer.kb.passages) == count + 1
    finally:
        watcher.stop()
