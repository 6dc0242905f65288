"""A question recorded and acknowledged is answered even when the bot is killed mid-send."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.slack_fake import (BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body, payload, run,
                              sign)

BIN = Path(sys.executable).parent / "protocol-bot"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(tmp_path: Path, fake: FakeSlack, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROTOCOL_BOT_", "SLACK_"))}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=fake.api_url, PROTOCOL_BOT_DB=str(tmp_path / "bot.db"),
               PROTOCOL_BOT_TEAMS="off", PROTOCOL_BOT_DELIVERY_LEASE="2")
    return subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


async def healthy(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(timeout / 0.1)):
            assert server.poll() is None, "serve exited"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("serve did not start")


def test_a_recorded_question_is_answered_after_kill_9_mid_send(tmp_path):
    log = tmp_path / "serve.log"

    async def scenario():
        async with FakeSlack() as fake:
            fake.delays["chat.postMessage"] = 15.0  # the first send hangs: killed mid-send
            port = free_port()
            first = start_serve(tmp_path, fake, port, log)
            try:
                await healthy(port, first)
                body, content_type = event_body(payload("slack_app_mention"))
                async with aiohttp.ClientSession() as session:
                    async with session.post(f"http://127.0.0.1:{port}/slack/events",
                                            data=body.encode(),
                                            headers={"Content-Type": content_type,
                                                     **sign(body)}) as resp:
                        assert resp.status == 200  # acknowledged once recorded
                await fake.wait_for("chat.postMessage", timeout=20)  # the send has started
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            fake.delays.clear()
            second = start_serve(tmp_path, fake, port, log)
            try:
                await healthy(port, second)
                posted = await fake.wait_for("chat.postMessage", timeout=30,
                                             where=lambda c: (c.result or {}).get("ok"))
                assert posted[0].args["thread_ts"] == payload("slack_app_mention")["event"]["ts"]
                assert "party-political" in str(posted[0].args["blocks"])
            finally:
                second.terminate()
                second.wait(10)

    run(scenario)
    assert "Traceback" not in log.read_text()
