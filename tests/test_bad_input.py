"""Bad input, tried as a new user and a careless operator would: every case runs the real
`protocol-bot` command in a subprocess and expects the documented exit status, a message that
names what is wrong, and never a traceback.

Full-disk and read-only faults are injected (CI runs as root, which ignores permissions): a
`sitecustomize` module on PYTHONPATH makes writes under one folder fail as the kernel would.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from protocol_bot.knowledge import MAX_FILE_BYTES
from protocol_bot.models import Asker
from protocol_bot.sqlite_store import SqliteStore

BIN = Path(sys.executable).parent / "protocol-bot"
PROTOCOL_BOT = str(BIN) if BIN.exists() else (shutil.which("protocol-bot") or "protocol-bot")
MOS = "cli:mo,slack:UMO"
SECRET = "Councillor Harrow keeps shouting at the planning officer"  # a sensitive question

FAULTS = textwrap.dedent('''
    """Test-only fault injection: writes under $BADINPUT_FAULT_ROOT fail."""
    import builtins, errno, io, os
    _mode = os.environ.get("BADINPUT_FAULT", "")
    _root = os.path.realpath(os.environ.get("BADINPUT_FAULT_ROOT", "/nonexistent")) + os.sep

    def _under(path):
        try:
            return (os.path.realpath(os.fspath(path)) + os.sep).startswith(_root)
        except TypeError:
            return False

    def _refuse(path):
        if _mode == "readonly":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    if _mode == "readonly":
        _open, _os_open, _mkdir = io.open, os.open, os.mkdir

        def open_(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and _under(file):
                _refuse(file)
            return _open(file, mode, *args, **kwargs)

        def os_open(path, flags, *args, **kwargs):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and _under(path):
                _refuse(path)
            return _os_open(path, flags, *args, **kwargs)

        def mkdir(path, *args, **kwargs):
            if _under(path):
                _refuse(path)
            return _mkdir(path, *args, **kwargs)

        io.open = builtins.open = open_
        os.open, os.mkdir = os_open, mkdir
    elif _mode == "full":
        _fsync = os.fsync

        def fsync(fd):
            if _under(os.readlink(f"/proc/self/fd/{fd}")):
                raise OSError(errno.ENOSPC, "No space left on device")
            return _fsync(fd)

        os.fsync = fsync
''')


def protocol_bot(*argv, env: dict, cwd: Path, timeout: float = 60, **kwargs):
    result = subprocess.run([PROTOCOL_BOT, *map(str, argv)], capture_output=True, text=True,
                            env=env, cwd=cwd, timeout=timeout, **kwargs)
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, stream
    return result


@pytest.fixture
def world(tmp_path, knowledge_copy):
    """A database with ticket MO-0001 (question SECRET), a knowledge copy, and the settings."""
    db = tmp_path / "bot.db"
    store = SqliteStore(db)
    store.open_ticket(asker=Asker("slack", "U1"), question=SECRET, idempotency_key="k1")
    store.close()
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("PROTOCOL_BOT_", "SLACK_", "MICROSOFT_APP", "Microsoft"))}
    env = {**keep, "PROTOCOL_BOT_DB": str(db), "PROTOCOL_BOT_MONITORING_OFFICERS": MOS,
           "PROTOCOL_BOT_KNOWLEDGE": str(knowledge_copy)}
    return {"tmp": tmp_path, "db": db, "knowledge": knowledge_copy, "env": env}


def _file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


# --- one case per line: (setup -> (argv, env overrides)), exit status, what the message says ----

def _answer_from(make):
    def setup(w):
        return ["tickets", "answer", "MO-0001", "--as", "cli:mo", "--text-file", make(w["tmp"])], {}
    return setup


def _with_env(argv, **env):
    return lambda w: (argv, {k: (v(w) if callable(v) else v) for k, v in env.items()})


def _knowledge_with(kind: str):
    def setup(w):
        add_bad_file(w["knowledge"], kind)
        return ["kb", "check"], {}
    return setup


def add_bad_file(knowledge: Path, kind: str) -> str:
    """Put one unreadable 'knowledge file' in the folder; returns its name."""
    name = f"{kind}.yaml"
    path = knowledge / name
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.touch()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "devzero":
        path.symlink_to("/dev/zero")
    elif kind == "outside":
        path.symlink_to("/etc/hostname")
    elif kind == "huge":
        filler = "# " + "x" * 98 + "\n"
        path.write_text(filler * (MAX_FILE_BYTES // len(filler) + 10))
    return name


CASES = [
    # ticket ids: huge, not ASCII digits -> no such ticket
    pytest.param(_with_env(["tickets", "show", "MO-99999999999999999999", "--as", "cli:mo"]), 4,
                 "'MO-99999999999999999999' is not a ticket id", id="huge-ticket-id"),
    pytest.param(_with_env(["tickets", "show", "²", "--as", "cli:mo"]), 4,
                 "'²' is not a ticket id", id="superscript-ticket-id"),
    # --text-file that cannot be the answer
    pytest.param(_answer_from(lambda t: t / "missing.txt"), 2,
                 "--text-file: there is no file", id="text-file-missing"),
    pytest.param(_answer_from(lambda t: t), 2, "is a folder", id="text-file-folder"),
    pytest.param(_answer_from(lambda t: _file(t, "latin1.txt", "Réponse".encode("latin-1"))), 2,
                 "is not UTF-8 text", id="text-file-not-utf8"),
    # settings
    pytest.param(_with_env(["log", "purge"], PROTOCOL_BOT_LOG_RETENTION_DAYS="abc"), 2,
                 "PROTOCOL_BOT_LOG_RETENTION_DAYS: 'abc' is not a whole number",
                 id="retention-abc"),
    pytest.param(_with_env(["log", "purge"], PROTOCOL_BOT_LOG_RETENTION_DAYS="1e400"), 2,
                 "PROTOCOL_BOT_LOG_RETENTION_DAYS: '1e400' is not a whole number",
                 id="retention-1e400"),
    pytest.param(_with_env(["log", "purge"], PROTOCOL_BOT_LOG_RETENTION_DAYS="-1"), 2,
                 "PROTOCOL_BOT_LOG_RETENTION_DAYS: '-1' is negative", id="retention-negative"),
    pytest.param(_with_env(["report", "--as", "cli:mo", "--days", "-5"]), 2,
                 "--days: '-5' is negative", id="report-days-negative"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_MONITORING_OFFICERS="cli:mo;slack:U2"), 2,
                 "PROTOCOL_BOT_MONITORING_OFFICERS: 'cli:mo;slack:U2' contains ';'",
                 id="mo-list-semicolon"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_MONITORING_OFFICERS="cli:mo,,slack:U2"), 2,
                 "PROTOCOL_BOT_MONITORING_OFFICERS: entry 2 is empty", id="mo-list-empty-entry"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_MONITORING_OFFICERS="cli:mo,slak:U2"), 2,
                 "'slak' is not a platform", id="mo-list-unknown-platform"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_DB=lambda w: str(w["tmp"])), 2,
                 "is a folder; give the database file's path", id="db-is-a-folder"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_DB=lambda w: str(_file(w["tmp"], "notes.db", b"hello"))),
                 2, "is not an SQLite database", id="db-not-sqlite"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_DB=lambda w: str(w["tmp"] / "mistyped" / "bot.db")), 2,
                 "PROTOCOL_BOT_DB: no database at", id="db-missing-for-list"),
    pytest.param(_with_env(["report", "--as", "cli:mo"],
                           PROTOCOL_BOT_DB=lambda w: str(w["tmp"] / "other.db")), 2,
                 "PROTOCOL_BOT_DB: no database at", id="db-missing-for-report"),
    pytest.param(_with_env(["tickets", "open", "--asker", "slack:U1", "Q?"],
                           PROTOCOL_BOT_DB=lambda w: str(w["tmp"] / "mistyped" / "bot.db")), 2,
                 "does not exist. Create it first", id="db-folder-missing-for-open"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_DB="mysql://bot@db.example/protocol"), 2,
                 "'mysql://' is not a database protocol-bot can use", id="db-mysql-url"),
    pytest.param(_with_env(["tickets", "list", "--as", "cli:mo"],
                           PROTOCOL_BOT_DB="postgresql://bot:hunter2@127.0.0.1:1/protocol"), 1,
                 "cannot connect to the PostgreSQL database postgresql://bot:***@127.0.0.1:1/"
                 "protocol", id="db-postgresql-unreachable"),
    pytest.param(_with_env(["log", "purge"], PROTOCOL_BOT_LOG_IDENTITY="maybe"), 2,
                 "PROTOCOL_BOT_LOG_IDENTITY: 'maybe' is neither true nor false",
                 id="log-identity-maybe"),
    pytest.param(_with_env(["tickets", "answer", "MO-0001", "--as", "cli:mo", "--text", "x",
                            "--save-faq"], PROTOCOL_BOT_KNOWLEDGE=lambda w: str(w["tmp"] / "nope")),
                 2, "PROTOCOL_BOT_KNOWLEDGE: ", id="save-faq-knowledge-missing"),
    pytest.param(_with_env(["doctor"], PROTOCOL_BOT_MONITORING_OFFICERS="teams:29:mo teams:29:x"),
                 2, "PROTOCOL_BOT_MONITORING_OFFICERS: 'teams:29:mo teams:29:x' contains a space",
                 id="doctor-mo-list-space"),
    # least privilege: ticket and question text for monitoring officers only
    pytest.param(_with_env(["report"]), 3, "say who you are with --as", id="report-without-as"),
    pytest.param(_with_env(["report", "--as", "slack:UNOBODY"]), 3,
                 "slack:UNOBODY is not a monitoring officer", id="report-not-mo"),
    pytest.param(_with_env(["kb", "reload", "--as", "slack:UNOBODY"]), 3,
                 "slack:UNOBODY is not a monitoring officer", id="kb-reload-not-mo"),
    pytest.param(_with_env(["kb", "reload"]), 3, "say who you are with --as",
                 id="kb-reload-without-as"),
    pytest.param(_with_env(["tickets", "show", "MO-0001"]), 3, "say who you are with --as",
                 id="show-without-as"),
    pytest.param(_with_env(["tickets", "show", "MO-0001", "--as", "slack:U1"]), 3,
                 "slack:U1 is not a monitoring officer", id="show-as-asker"),
    # the knowledge folder: only ordinary, bounded files inside it
    pytest.param(_knowledge_with("folder"), 1, "folder.yaml: is a folder", id="kb-folder-yaml"),
    pytest.param(_knowledge_with("empty"), 1, "empty.yaml: is empty", id="kb-empty-file"),
    pytest.param(_knowledge_with("fifo"), 1, "fifo.yaml: is not a regular file", id="kb-fifo"),
    pytest.param(_knowledge_with("devzero"), 1, "devzero.yaml: is a link to /dev/zero, outside",
                 id="kb-symlink-dev-zero"),
    pytest.param(_knowledge_with("outside"), 1, "outside.yaml: is a link to /etc/hostname",
                 id="kb-symlink-outside"),
    pytest.param(_knowledge_with("huge"), 1, "huge.yaml: is too large (5,243,", id="kb-file-too-big"),
]


@pytest.mark.parametrize("setup, status, message", CASES)
def test_bad_input_gets_a_message_and_exit_status(world, setup, status, message):
    argv, env = setup(world)
    result = protocol_bot(*argv, env={**world["env"], **env}, cwd=world["tmp"], timeout=60)
    assert result.returncode == status, (result.stdout, result.stderr)
    assert message in result.stdout + result.stderr
    if status != 0:
        assert SECRET not in result.stdout  # a refused command shows no ticket text


def test_nothing_is_created_by_a_mistyped_database_setting(world):
    tmp = world["tmp"]
    for value, status in (("postgresql://bot@127.0.0.1:1/protocol", 1),
                          (str(tmp / "typo" / "bot.db"), 2)):
        for argv in (["tickets", "list", "--as", "cli:mo"], ["tickets", "open", "--asker",
                                                              "cli:x", "Q?"]):
            result = protocol_bot(*argv, env={**world["env"], "PROTOCOL_BOT_DB": value}, cwd=tmp)
            assert result.returncode == status, result.stderr
    assert not (tmp / "postgresql:").exists() and not (tmp / "typo").exists()


def test_key_reuse_reports_created_false_and_refuses_another_question(world):
    env, tmp = world["env"], world["tmp"]
    first = protocol_bot("tickets", "open", "--asker", "slack:U2", "--key", "K", "--json", "Q?",
                         env=env, cwd=tmp)
    again = protocol_bot("tickets", "open", "--asker", "slack:U2", "--key", "K", "--json", "Q?",
                         env=env, cwd=tmp)
    assert first.returncode == again.returncode == 0
    assert json.loads(first.stdout)["created"] is True
    assert json.loads(again.stdout)["created"] is False
    assert json.loads(again.stdout)["id"] == json.loads(first.stdout)["id"]
    other = protocol_bot("tickets", "open", "--asker", "slack:U2", "--key", "K", "--json",
                         "Another question?", env=env, cwd=tmp)
    assert other.returncode == 5 and "already used for" in other.stderr and other.stdout == ""


@pytest.mark.parametrize("umask, mode", [(0o022, 0o640), (0o002, 0o660), (0o000, 0o660)])
def test_database_is_created_private(world, umask, mode):
    db = world["tmp"] / "fresh.db"
    result = protocol_bot("tickets", "open", "--asker", "slack:U1", "Q?", cwd=world["tmp"],
                          env={**world["env"], "PROTOCOL_BOT_DB": str(db)}, umask=umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(db.stat().st_mode) == mode
    previous = os.umask(0)  # even a careless umask in the next process opens nothing up
    try:
        store = SqliteStore(db)
        store.log_question(question="q", normalised="q", answered=True, refs=(), asker=None)
        for path in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert stat.S_IMODE(path.stat().st_mode) == mode, path
        store.close()
    finally:
        os.umask(previous)


def test_log_purge_leaves_no_purged_text_in_the_files(world):
    db = world["db"]
    bot = SqliteStore(db, clock=lambda: 1_000_000.0)  # a running bot, which logged long ago
    bot.log_question(question=SECRET + " (logged)", normalised="x", answered=False, refs=(),
                     asker=None)
    assert (SECRET + " (logged)").encode() in Path(f"{db}-wal").read_bytes()  # still in the WAL
    try:
        result = protocol_bot("log", "purge", "--json", env=world["env"], cwd=world["tmp"])
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["questions"] == 1
        needle = (SECRET + " (logged)").encode()
        for path in db.parent.glob(db.name + "*"):
            assert needle not in path.read_bytes(), path
    finally:
        bot.close()


def _faults(tmp: Path, mode: str, root: Path) -> dict:
    site = tmp / "faults"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(FAULTS)
    return {"PYTHONPATH": str(site), "BADINPUT_FAULT": mode, "BADINPUT_FAULT_ROOT": str(root)}


@pytest.mark.parametrize("fault, message", [("full", "No space left on device"),
                                            ("readonly", "Permission denied")])
def test_faq_save_that_cannot_be_written_leaves_the_ticket_unanswered(world, fault, message):
    env = {**world["env"], **_faults(world["tmp"], fault, world["knowledge"])}
    result = protocol_bot("tickets", "answer", "MO-0001", "--as", "cli:mo", "--text",
                          "Speak to the monitoring officer privately.", "--save-faq",
                          env=env, cwd=world["tmp"])
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "still unanswered" in result.stderr
    shown = protocol_bot("tickets", "show", "MO-0001", "--as", "cli:mo", "--json",
                         env=world["env"], cwd=world["tmp"])
    assert json.loads(shown.stdout)["status"] == "open"
    faq = world["knowledge"] / "faq" / "monitoring-officer-faq.yaml"
    assert not faq.exists()
    assert not [p for p in world["knowledge"].rglob("*.tmp")]


def test_kb_reload_on_a_read_only_folder_fails_and_records_nothing(world):
    env = {**world["env"], **_faults(world["tmp"], "readonly", world["knowledge"])}
    result = protocol_bot("kb", "reload", "--as", "cli:mo", env=env, cwd=world["tmp"])
    assert result.returncode == 1
    assert "Permission denied" in result.stderr and "Nothing was recorded" in result.stderr
    store = SqliteStore(world["db"])
    assert store.audit_entries("kb.changed") == []


def test_serve_refuses_an_invalid_knowledge_base(world):
    add_bad_file(world["knowledge"], "fifo")
    (world["knowledge"] / "synonyms.yaml").write_text("same: [\n")
    result = protocol_bot("serve", "--port", "0", env=world["env"], cwd=world["tmp"], timeout=60)
    assert result.returncode == 1
    assert "not started" in result.stderr
    assert "fifo.yaml: is not a regular file" in result.stderr
    assert "synonyms.yaml" in result.stderr


def test_serve_refuses_a_bad_setting(world):
    env = {**world["env"], "PROTOCOL_BOT_LOG_RETENTION_DAYS": "0"}
    result = protocol_bot("serve", "--port", "0", env=env, cwd=world["tmp"], timeout=60)
    assert result.returncode == 2
    assert "PROTOCOL_BOT_LOG_RETENTION_DAYS: '0' is out of range" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("kind", ["fifo", "devzero", "huge"])
def test_running_bot_refuses_unreadable_knowledge_and_says_so(world, kind):
    port = _free_port()
    env = {**world["env"], "PROTOCOL_BOT_TEAMS": "off"}
    log = (world["tmp"] / "serve.log").open("w")
    serve = subprocess.Popen([PROTOCOL_BOT, "serve", "--port", str(port)], env=env,
                             cwd=world["tmp"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                before = _healthz(port)
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline, \
                    (world["tmp"] / "serve.log").read_text()
                time.sleep(0.2)
        assert before["status"] == "ok" and before["knowledge_problems"] == []
        name = add_bad_file(world["knowledge"], kind)
        deadline = time.monotonic() + 20
        while True:
            health = _healthz(port)  # answers at once: the watcher never blocks the server
            if health["knowledge_problems"] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert health["status"] == "degraded"
        assert any(name in p for p in health["knowledge_problems"]), health
        assert health["passages"] == before["passages"]  # still the last good knowledge
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        log.close()
    assert "Traceback" not in (world["tmp"] / "serve.log").read_text()


def test_refusals_are_recorded_and_reported_not_taken_for_changes(world):
    env, tmp = world["env"], world["tmp"]
    for argv in (["report", "--as", "slack:UNOBODY"], ["kb", "reload", "--as", "slack:UNOBODY"]):
        assert protocol_bot(*argv, env=env, cwd=tmp).returncode == 3
    report = json.loads(protocol_bot("report", "--as", "cli:mo", "--json", env=env,
                                     cwd=tmp).stdout)
    assert report["refused_attempts"] == {"slack:UNOBODY": 2}
    assert report["recent_knowledge_changes"] == []


def test_a_platform_setting_and_a_half_set_one_are_read_and_said_once_for_every_platform():
    from protocol_bot.config import setting
    from protocol_bot.doctor import half_set

    env = {"NEW": " ", "OLD": " value ", "A": "x", "B": "y"}
    assert (setting(env, "NEW", "OLD"), setting(env, "NONE")) == ("value", "")
    assert half_set(env, ("A", "B"), "C", "why.") == ["A and B are set but C is not: why."]
    assert half_set(env, ("A",), "B", "why.") == [] == half_set(env, ("NONE",), "C", "why.")
