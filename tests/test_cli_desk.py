"""The MO's CLI contract: commands, --json output and exit statuses that acceptance checks use."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from protocol_bot.cli import main
from protocol_bot.sqlite_store import SqliteStore

MOS = "cli:mo,slack:UMO"


@pytest.fixture
def env(tmp_path, monkeypatch, knowledge_copy):
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(tmp_path / "bot.db"))
    monkeypatch.setenv("PROTOCOL_BOT_MONITORING_OFFICERS", MOS)
    monkeypatch.setenv("PROTOCOL_BOT_KNOWLEDGE", str(knowledge_copy))
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def run_json(capsys, *argv):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def test_ticket_lifecycle_through_the_cli(env, capsys):
    opened = run_json(capsys, "tickets", "open", "--asker", "slack:U1", "--key", "slack:m1",
                      "--context", "ward newsletter", "Can an officer deliver my leaflets?")
    assert set(opened) == {"id", "status", "asker", "question", "context", "bot_refs", "assignee",
                           "answer", "created_at", "updated_at", "reply_to", "events", "created"}
    assert opened["created"] is True
    assert opened["id"] == "MO-0001" and opened["status"] == "open"
    assert opened["asker"] == {"platform": "slack", "user_id": "U1", "display_name": ""}
    assert opened["context"] == "ward newsletter"

    same = run_json(capsys, "tickets", "open", "--asker", "slack:U1", "--key", "slack:m1",
                    "Can an officer deliver my leaflets?")
    assert same["id"] == "MO-0001" and same["created"] is False
    status, out, err = run(capsys, "tickets", "open", "--asker", "slack:U1", "--key", "slack:m1",
                           "another question")  # the key is taken: refused, nothing shown
    assert status == 5 and "already used for MO-0001" in err and out == ""
    fresh = run_json(capsys, "tickets", "open", "--asker", "slack:U1", "again")  # no key: new
    assert fresh["id"] == "MO-0002"

    listed = run_json(capsys, "tickets", "list", "--as", "cli:mo", "--status", "open")
    assert [t["id"] for t in listed] == ["MO-0001", "MO-0002"]
    assigned = run_json(capsys, "tickets", "assign", "MO-0001", "--to", "slack:UMO", "--as", "cli:mo")
    assert (assigned["status"], assigned["assignee"]) == ("assigned", "slack:UMO")
    answered = run_json(capsys, "tickets", "answer", "MO-0001", "--as", "slack:UMO",
                        "--text", "No: officers must stay politically neutral.")
    assert answered["status"] == "answered"
    assert answered["answer"] == "No: officers must stay politically neutral."
    assert run_json(capsys, "tickets", "close", "MO-0001", "--as", "cli:mo")["status"] == "closed"
    assert run_json(capsys, "tickets", "reopen", "MO-0001", "--as", "cli:mo")["status"] == "open"
    shown = run_json(capsys, "tickets", "show", "MO-0001", "--as", "cli:mo")
    assert [e["event"] for e in shown["events"]] == ["opened", "assigned", "answered", "closed",
                                                     "reopened"]

    store = SqliteStore(env / "bot.db")
    answers = [m for m in store.undelivered("slack") if m.kind == "ticket_answered"]
    assert [m.recipient for m in answers] == ["slack:U1"]


def test_human_output_names_the_ticket(env, capsys):
    status, out, _ = run(capsys, "tickets", "open", "--asker", "teams:29:abc", "--name",
                         "Cllr Patel", "Who chairs the panel?")
    assert status == 0 and "MO-0001" in out and "Cllr Patel" in out


def test_non_mo_is_refused_with_exit_3(env, capsys):
    run_json(capsys, "tickets", "open", "--asker", "slack:U1", "Q?")
    for argv in (["tickets", "list"], ["tickets", "show", "MO-0001"],
                 ["tickets", "answer", "MO-0001", "--text", "x"], ["tickets", "close", "MO-0001"],
                 ["tickets", "assign", "MO-0001", "--to", "slack:U999"],
                 ["tickets", "reopen", "MO-0001"]):
        status, out, err = run(capsys, *argv, "--as", "slack:U999")
        assert status == 3, argv
        assert "Not permitted: slack:U999 is not a monitoring officer" in err
        assert "PROTOCOL_BOT_MONITORING_OFFICERS" in err and out == ""
    assert run_json(capsys, "tickets", "show", "MO-0001", "--as", "cli:mo")["status"] == "open"


def test_non_mo_exit_status_from_a_real_process(env):
    SqliteStore(env / "bot.db").close()
    out = subprocess.run([sys.executable, "-m", "protocol_bot.cli", "tickets", "list", "--as",
                          "slack:U999"], capture_output=True, text=True, env=dict(os.environ),
                         timeout=120)
    assert out.returncode == 3
    assert "Not permitted: slack:U999 is not a monitoring officer" in out.stderr


def test_unknown_ticket_exit_4(env, capsys):
    run_json(capsys, "tickets", "open", "--asker", "slack:U1", "Q?")
    status, _, err = run(capsys, "tickets", "show", "MO-0042", "--as", "cli:mo")
    assert status == 4 and "There is no ticket MO-0042" in err
    status, _, err = run(capsys, "tickets", "answer", "leaflets", "--as", "cli:mo", "--text", "x")
    assert status == 4 and "not a ticket id" in err


def test_refused_change_exit_5(env, capsys):
    run_json(capsys, "tickets", "open", "--asker", "slack:U1", "Q?")
    status, _, err = run(capsys, "tickets", "reopen", "MO-0001", "--as", "cli:mo")
    assert status == 5 and "cannot be reopened" in err
    status, _, err = run(capsys, "tickets", "assign", "MO-0001", "--to", "slack:U5", "--as", "cli:mo")
    assert status == 5 and "not a monitoring officer" in err


def test_bad_principal_is_a_usage_error(env, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["tickets", "list", "--as", "mo"])
    assert exc.value.code == 2
    assert "PLATFORM:USER" in capsys.readouterr().err


def test_log_purge_and_report(env, capsys, monkeypatch):
    monkeypatch.setenv("PROTOCOL_BOT_LOG_RETENTION_DAYS", "30")
    store = SqliteStore(env / "bot.db", clock=lambda: 1_000_000.0)  # long ago
    store.log_question(question="Old?", normalised="old", answered=False, refs=(), asker=None)
    store.close()
    store = SqliteStore(env / "bot.db")
    store.log_question(question="New?", normalised="new", answered=False, refs=(), asker=None)
    store.close()
    report = run_json(capsys, "report", "--as", "cli:mo")
    assert report["questions"]["declined"] == 2
    purged = run_json(capsys, "log", "purge")
    assert purged["deleted"] == 1 and purged["questions"] == 1 and purged["retention_days"] == 30
    status, out, _ = run(capsys, "log", "purge")
    assert status == 0 and "Deleted 0 question-log entries older than 30 days" in out
    status, out, _ = run(capsys, "report", "--as", "cli:mo")
    assert status == 0 and "New?" in out and "Old?" not in out
