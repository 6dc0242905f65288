"""Load check: N concurrent signed @mentions against `protocol-bot serve` on loopback, Slack faked.

    .venv/bin/python bench/slack_load.py            # 200 mentions in one channel, each redelivered
    .venv/bin/python bench/slack_load.py -n 500 --no-retries --no-rate-limit --fail 0

Starts the fake Slack Web API (tests/slack_fake.py) and a real `protocol-bot serve` process
(SQLite store in a temporary folder, shipped knowledge) pointed at it with SLACK_API_URL, fires
the mentions at once, and prints p50/p99 time to Slack's ack (the HTTP response) and to the
answer's chat.postMessage, and how many answers were lost or doubled. The fake says no as
Slack does: one message a second per channel after a burst of 3 (429 with Retry-After), and
a share of chat.postMessage calls answered with HTTP 500. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from load_support import QUESTIONS, free_port, percentile, wait_healthy  # noqa: E402
from tests.slack_fake import (BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body,  # noqa: E402
                              payload, sign)


def mention(i: int, channels: int = 1) -> dict:
    data = payload("slack_app_mention")
    if channels > 1:
        data["event"]["channel"] = f"C0LOAD{i % channels:04d}"
    ts = f"{1767300000 + i}.{i:06d}"
    data["event"].update(ts=ts, event_ts=ts, text=f"<@U0BOT0001> {QUESTIONS[i % len(QUESTIONS)]}",
                         client_msg_id=f"load-{i}")
    data["event_id"] = f"Ev0LOAD{i:06d}"
    return data




async def fire(session, url: str, data: dict, headers: dict | None = None) -> tuple[float, float, int]:
    body, content_type = event_body(data)
    all_headers = {"Content-Type": content_type, **sign(body), **(headers or {})}
    started = time.monotonic()
    async with session.post(url, data=body.encode(), headers=all_headers) as resp:
        await resp.read()
        return started, time.monotonic(), resp.status


async def main(n: int, retries: bool, settle: float, rate_limit: bool, fail: int,
               channels: int) -> int:
    async with FakeSlack() as fake:
        if rate_limit:
            fake.rate_limit(per_second=1.0, burst=3)
        if fail:
            fake.fail_http("chat.postMessage", 500, times=fail)
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                   "SLACK_API_URL": fake.api_url, "PROTOCOL_BOT_DB": str(Path(tmp) / "bench.db"),
                   "PROTOCOL_BOT_MONITORING_OFFICERS": "slack:U0MO00001",
                   "PROTOCOL_BOT_TEAMS": "off"}
            server_log = open(Path(tmp) / "serve.log", "w+b")
            server = subprocess.Popen(
                [sys.executable, "-m", "protocol_bot.cli", "serve", "--port", str(port)],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=server_log)
            try:
                await wait_healthy(f"http://127.0.0.1:{port}/healthz", server, "slack")
                url = f"http://127.0.0.1:{port}/slack/events"
                mentions = [mention(i, channels) for i in range(n)]
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    began = time.monotonic()
                    results = await asyncio.gather(*(fire(session, url, m) for m in mentions))
                    if retries:  # Slack redelivers each one, as if our acks had been lost
                        retried = await asyncio.gather(*(fire(
                            session, url, m, {"X-Slack-Retry-Num": "1",
                                              "X-Slack-Retry-Reason": "http_timeout"})
                            for m in mentions))
                    else:
                        retried = []
                    # Wait until every mention has its answer (or `settle` seconds pass).
                    deadline = time.monotonic() + settle
                    while time.monotonic() < deadline:
                        if len({c.args.get("thread_ts") for c in fake.of("chat.postMessage")
                                if (c.result or {}).get("ok")}) >= n:
                            break
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(0.5)  # anything doubled would arrive now
                    wall = time.monotonic() - began
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()
                server_log.seek(0)
                server_errors = [line for line in server_log.read().decode(errors="replace")
                                 .splitlines() if line.startswith(("ERROR", "CRITICAL"))]
                server_log.close()

        posts: dict[str, list[float]] = {}
        for call in fake.of("chat.postMessage"):
            if not (call.result or {}).get("ok"):
                continue  # refused (429, 500): the bot must try again
            posts.setdefault(call.args.get("thread_ts"), []).append(call.at)
        ack_ms, answer_ms, lost, doubled = [], [], 0, 0
        for m, (started, acked, status) in zip(mentions, results):
            ack_ms.append((acked - started) * 1000)
            answered = posts.get(m["event"]["ts"], [])
            if not answered:
                lost += 1
                continue
            doubled += len(answered) > 1
            answer_ms.append((answered[0] - started) * 1000)
        bad = sum(status != 200 for _, _, status in results + retried)
        over_3s = sum(ms > 3000 for ms in ack_ms)

        where = "one channel" if channels == 1 else f"{channels} channels"
        print(f"{n} concurrent signed mentions in {where} to protocol-bot serve on loopback "
              f"(fake Slack), "
              f"{'each then redelivered once (X-Slack-Retry-Num: 1)' if retries else 'no retries'}"
              f"; fake Slack {'rate-limits 1/s per channel (burst 3)' if rate_limit else 'never rate-limits'}"
              f", {fail} HTTP 500s")
        print(f"Slack said no: {fake.rate_limited} rate limits (429), {fail} server errors (500)")
        print(f"time to ack:           p50 {percentile(ack_ms, 50):7.1f} ms   "
              f"p99 {percentile(ack_ms, 99):7.1f} ms   max {max(ack_ms):7.1f} ms   over 3 s: {over_3s}")
        print(f"time to answer posted: p50 {percentile(answer_ms, 50):7.1f} ms   "
              f"p99 {percentile(answer_ms, 99):7.1f} ms   max {max(answer_ms or [0]):7.1f} ms")
        print(f"answers: {n - lost} of {n}; lost {lost}; doubled {doubled}; "
              f"non-200 responses {bad}; wall {wall:.2f} s")
        if server_errors:
            print(f"server logged {len(server_errors)} error(s), e.g. {server_errors[0]}")
        return 0 if not (lost or doubled or bad or server_errors) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="concurrent mentions (default 200)")
    parser.add_argument("--no-retries", dest="retries", action="store_false",
                        help="do not redeliver each mention")
    parser.add_argument("--settle", type=float, default=600.0,
                        help="seconds to wait for every answer (default 600)")
    parser.add_argument("--no-rate-limit", dest="rate_limit", action="store_false",
                        help="the fake Slack never rate-limits")
    parser.add_argument("--fail", type=int, default=10,
                        help="chat.postMessage calls answered HTTP 500 (default 10)")
    parser.add_argument("--channels", type=int, default=1,
                        help="spread the mentions over this many channels (default 1)")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.n, args.retries, args.settle, args.rate_limit, args.fail,
                              args.channels)))
