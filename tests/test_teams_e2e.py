"""End to end, as a Teams user: `protocol-bot serve`, the Microsoft 365 Agents Playground pointed
at it, and its web UI driven in headless Debian chromium (Playwright, e2e/driver.mjs).

Needs: Debian's chromium (/usr/bin/chromium) and `npm ci --prefix e2e` (the playground and
playwright-core). Without them the test is skipped, unless PROTOCOL_BOT_E2E=required (CI), when
it fails instead. Screenshots go to the test's tmp dir, or to PROTOCOL_BOT_E2E_ARTIFACTS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from protocol_bot.config import SHIPPED_KNOWLEDGE
from protocol_bot.sqlite_store import SqliteStore
from tests.test_teams_support import free_port

REPO = Path(__file__).resolve().parent.parent
E2E = REPO / "e2e"
PLAYGROUND = E2E / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
PLAYWRIGHT = E2E / "node_modules" / "playwright-core" / "package.json"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
NODE = shutil.which("node")
REQUIRED = os.environ.get("PROTOCOL_BOT_E2E", "").lower() == "required"

PLAYGROUND_USER = "teams:user-id-0"  # the playground's signed-in user ("Alex Wilber")
QUESTION = "Can I ask an officer to help with party political work?"
MO_ANSWER = "No. Clause 2.3: officers must not be asked to do party-political work."


def missing() -> list[str]:
    out = []
    if not Path(CHROMIUM).exists():
        out.append(f"chromium ({CHROMIUM}; apt-get install chromium)")
    if not NODE:
        out.append("node")
    if not PLAYGROUND.exists() or not PLAYWRIGHT.exists():
        out.append("e2e/node_modules (npm ci --prefix e2e)")
    return out


_missing = missing()
if _missing and not REQUIRED:
    pytestmark = pytest.mark.skip(reason="end-to-end Teams test needs " + ", ".join(_missing)
                                  + " (set PROTOCOL_BOT_E2E=required to fail instead)")


class Driver:
    """e2e/driver.mjs: one JSON command per line, one JSON result per line."""

    def __init__(self, workdir: Path):
        env = dict(os.environ, CHROMIUM=CHROMIUM, PROFILE_DIR=str(workdir / "chromium-profile"))
        self.proc = subprocess.Popen([NODE, str(E2E / "driver.mjs")], cwd=E2E, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(workdir / "driver.log", "w"), text=True)

    def __call__(self, cmd: str, **args) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the browser driver stopped during {cmd}")
        result = json.loads(line)
        if not result.get("ok"):
            raise AssertionError(f"{cmd} {args} failed: {result.get('error')}")
        return result

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self("close")
        except Exception:
            pass
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} never came up; exit {proc.returncode}:\n"
                                 + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout:.0f}s:\n" + log.read_text()[-3000:])


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def stack(tmp_path):
    """protocol-bot serve + the playground pointed at it, on free loopback ports."""
    if _missing:  # only reached when PROTOCOL_BOT_E2E=required
        pytest.fail("end-to-end Teams test required but missing: " + ", ".join(_missing))
    knowledge = tmp_path / "knowledge"  # a copy: nothing here may write to the repo
    shutil.copytree(SHIPPED_KNOWLEDGE, knowledge)
    bot_port, pg_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MICROSOFT_APP", "MicrosoftApp", "SLACK_"))}
    env.update(PROTOCOL_BOT_DB=str(tmp_path / "bot.db"), PROTOCOL_BOT_KNOWLEDGE=str(knowledge),
               PROTOCOL_BOT_MONITORING_OFFICERS=f"cli:mo,{PLAYGROUND_USER}",
               PROTOCOL_BOT_TEAMS_OUTBOX_INTERVAL="0.3", PYTHONUNBUFFERED="1")
    serve_log = tmp_path / "serve.log"
    serve = subprocess.Popen([sys.executable, "-m", "protocol_bot.cli", "serve", "--host",
                              "127.0.0.1", "--port", str(bot_port)], cwd=tmp_path, env=env,
                             stdout=open(serve_log, "w"), stderr=subprocess.STDOUT)
    playground = driver = None
    pg_log = tmp_path / "playground.log"
    try:
        wait_http(f"http://127.0.0.1:{bot_port}/healthz", serve, serve_log)
        pg_env = dict(env, TEAMSAPPTESTER_BROWSER="none",
                      M365_AGENTS_PLAYGROUND_LOGFILE=str(tmp_path / "playground-events.log"))
        playground = subprocess.Popen(
            [NODE, str(PLAYGROUND), "start", "-c", "msteams", "-e",
             f"http://127.0.0.1:{bot_port}/api/messages", "-p", str(pg_port),
             "--disable-telemetry"], cwd=tmp_path, env=pg_env, stdout=open(pg_log, "w"),
            stderr=subprocess.STDOUT)
        wait_http(f"http://127.0.0.1:{pg_port}/", playground, pg_log)
        driver = Driver(tmp_path)
        yield {"driver": driver, "env": env, "db": tmp_path / "bot.db", "tmp": tmp_path,
               "playground": f"http://127.0.0.1:{pg_port}/", "serve_log": serve_log}
    finally:
        if driver:
            driver.close()
        stop(playground)
        stop(serve)


def shot(stack, name: str) -> None:
    where = Path(os.environ.get("PROTOCOL_BOT_E2E_ARTIFACTS") or stack["tmp"])
    where.mkdir(parents=True, exist_ok=True)
    stack["driver"]("screenshot", path=str(where / f"teams-e2e-{name}.png"))


def test_ask_escalate_and_get_the_mo_answer_in_the_playground(stack):
    drive = stack["driver"]
    try:
        drive("open", url=stack["playground"])
        # installing the bot greets with the welcome card and its example questions
        drive("waitText", text="pass your question to the monitoring officer")

        drive("send", text=QUESTION)
        drive("waitText", text="Member/Officer Relations Protocol (2026), clause 2.3")
        drive("waitText", text="must not ask them to undertake work of a party-political nature")
        shot(stack, "1-answer")
        if drive("count", text="Show more")["count"]:  # a long passage: the toggle works
            before = drive("count", text="Show less")["count"]
            drive("click", name="Show more")
            assert drive("count", text="Show less")["count"] == before + 1

        drive("click", name="Ask the monitoring officer")
        drive("waitText", text="Anything the monitoring officer should know")
        drive("fill", label="Anything the monitoring officer should know",
              value="It is about the chairman's request at Tuesday's committee.")
        drive("click", name="Send question")
        drive("waitText", text="Sent to the monitoring officer as ticket")
        drive("waitText", text="Sent as ticket MO-0001")

        store = SqliteStore(stack["db"])
        [ticket] = store.list_tickets()
        assert ticket.id == "MO-0001" and ticket.status == "open"
        assert ticket.question == QUESTION
        assert ticket.asker.principal == PLAYGROUND_USER
        assert ticket.asker.display_name == "Alex Wilber"
        assert "chairman's request" in ticket.context
        assert "mor-protocol-2026#2.3" in ticket.bot_refs

        # the playground user is also a (Teams) MO here: their private ticket card arrives
        drive("waitText", text="MO-0001: a question for the monitoring officer")
        shot(stack, "2-ticket")

        answered = subprocess.run(
            [sys.executable, "-m", "protocol_bot.cli", "tickets", "answer", "MO-0001", "--as",
             "cli:mo", "--text", MO_ANSWER], env=stack["env"], cwd=stack["tmp"],
            capture_output=True, text=True, timeout=60)
        assert answered.returncode == 0, answered.stdout + answered.stderr
        drive("waitText", text="The monitoring officer answered your question (MO-0001)")
        drive("waitText", text=MO_ANSWER)
        shot(stack, "3-answered")
        assert SqliteStore(stack["db"]).get_ticket("MO-0001").status == "answered"
        assert all(m.kind != "ticket_answered" for m in store.undelivered("teams"))
    except Exception:
        try:
            shot(stack, "failure")
        except Exception:
            pass
        print(stack["serve_log"].read_text()[-5000:])
        raise


def test_channel_mention_is_answered_in_the_thread(stack):
    drive = stack["driver"]
    drive("open", url=stack["playground"])
    drive("chat", name="General")
    drive("post", text=QUESTION, mention="Test Bot")
    try:
        drive("waitText", text="Member/Officer Relations Protocol (2026), clause 2.3")
        # the welcome card posted when the bot joined the team: its examples ask themselves
        drive("clickText", text="Can I contact an officer directly")
        drive("waitText", text="You asked: \u201cCan I contact an officer directly")
    finally:
        shot(stack, "4-channel")
    log = stack["serve_log"].read_text()
    assert log.count("teams question answered=") >= 2
