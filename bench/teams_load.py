"""Load check: N concurrent Teams messages to POST /api/messages of a real `protocol-bot serve`,
with a local fake Bot Connector service recording the replies.

    .venv/bin/python bench/teams_load.py             # 200 messages, then 20 redelivered
    .venv/bin/python bench/teams_load.py -n 500 --redeliver 0 --latency 0 --throttle 0

Starts the fake connector (tests/test_teams_support.py) and `protocol-bot serve` in local mode
(SQLite store in a temporary folder, shipped knowledge), posts the messages at once (each one's
serviceUrl is the fake), and prints p50/p99 of the HTTP response and of the reply's arrival at
the connector, and how many replies were lost or doubled. Redelivered messages (Teams retries
one it thinks was missed) must not be answered twice. The fake connector says no as Teams
does: it takes `--latency` seconds (0.5) to answer each send and throttles some (429 with
Retry-After, then a 500). A script, not a test; exits 1 when a reply was lost or doubled, or
any reply took longer than Teams' 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from load_support import QUESTIONS, percentile, wait_healthy  # noqa: E402
from tests.test_teams_support import FakeConnector, free_port, payload  # noqa: E402

BASES = ("message_personal", "message_groupchat_mention", "message_channel_mention")




def activity(i: int, service_url: str) -> dict:
    base = BASES[i % len(BASES)]
    data = copy.deepcopy(payload(base))
    question = QUESTIONS[i % len(QUESTIONS)]
    data["text"] = question if base == "message_personal" else f"<at>Test Bot</at> {question}"
    data["id"] = f"load-{i:05d}"
    data["from"] = {"id": f"29:user-{i % 40}", "name": f"Councillor {i % 40}"}
    # 40 people's personal chats, 10 group chats, 5 channels (threads share their channel)
    conversation = dict(data["conversation"])
    if base == "message_personal":
        conversation["id"] = f"a:personal-{i % 40}"
    elif base == "message_groupchat_mention":
        conversation["id"] = f"19:group-{i % 10}@thread.v2"
    else:
        conversation["id"] = f"19:channel-{i % 5}@thread.tacv2;messageid={i}"
    data["conversation"] = conversation
    data["serviceUrl"] = service_url
    return data




async def main(n: int, redeliver: int, settle: float, sequential: int, latency: float,
               throttle: int) -> int:
    connector = await FakeConnector().start()
    connector.latency = latency
    connector.statuses = [429] * throttle + [500] * (throttle // 2)
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="teams-load-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MICROSOFT_APP", "MicrosoftApp", "SLACK_"))}
    env.update(PROTOCOL_BOT_DB=str(tmp / "bot.db"), PROTOCOL_BOT_MONITORING_OFFICERS="cli:mo")
    log = open(tmp / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "protocol_bot.cli", "serve", "--host",
                               "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=tmp)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", server, "teams")
        url = f"http://127.0.0.1:{port}/api/messages"
        activities = [activity(i, connector.url) for i in range(n)]
        sent_at: dict[str, float] = {}
        http_ms: list[float] = []
        statuses: collections.Counter = collections.Counter()
        limits = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=limits) as session:

            async def post(data: dict) -> None:
                start = time.monotonic()
                sent_at.setdefault(data["id"], start)
                async with session.post(url, json=data) as response:
                    await response.read()
                    statuses[response.status] += 1
                http_ms.append((time.monotonic() - start) * 1000)

            began = time.monotonic()
            await asyncio.gather(*(post(a) for a in activities))
            wall = time.monotonic() - began
            # Teams redelivers a message it thinks the bot missed: answered once all the same.
            await asyncio.gather(*(post(a) for a in activities[:redeliver]))
            # And one at a time, for the latency of a message that does not queue behind 199.
            single_ms = []
            for i in range(sequential):
                one = activity(n + i, connector.url)
                start = time.monotonic()
                async with session.post(url, json=one) as response:
                    await response.read()
                while not any(r.get("replyToId") == one["id"] for r in connector.received):
                    if time.monotonic() - start > settle:
                        break
                    await asyncio.sleep(0.005)
                single_ms.append((time.monotonic() - start) * 1000)
        deadline = time.monotonic() + settle
        while len(connector.received) < n + sequential and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # anything doubled arrives too
        replies = collections.Counter(r.get("replyToId") for r in connector.received)
        singles = [activity(n + i, "")["id"] for i in range(sequential)]
        reply_ms = []
        for r in connector.received:
            if r.get("replyToId") in sent_at and r.get("replyToId") not in singles:
                reply_ms.append((r["_at"] - sent_at[r["replyToId"]]) * 1000)
        lost = [a["id"] for a in activities if replies.get(a["id"], 0) == 0]
        lost += [i for i in singles if replies.get(i, 0) == 0]
        doubled = [k for k, c in replies.items() if c > 1]
        with_card = sum(1 for r in connector.received if r.get("attachments"))
        print(f"{n} concurrent Teams messages (personal, group chat, channel mentions) "
              f"+ {redeliver} redelivered, to protocol-bot serve on loopback; the connector "
              f"takes {latency:.1f} s a send and refused {len(connector.refused)} "
              f"(429 with Retry-After, 500)")
        print(f"  HTTP statuses: {dict(statuses)}; all {n} posted in {wall:.2f}s")
        print(f"  HTTP response  p50 {percentile(http_ms, 50):7.1f} ms   "
              f"p99 {percentile(http_ms, 99):7.1f} ms")
        print(f"  reply arrived  p50 {percentile(reply_ms, 50):7.1f} ms   "
              f"p99 {percentile(reply_ms, 99):7.1f} ms")
        late = sum(ms > 15000 for ms in reply_ms)
        print(f"  reply arrived  max {max(reply_ms or [0]):7.1f} ms   over Teams' 15 s: {late}")
        print(f"  one at a time ({sequential}), reply arrived: p50 "
              f"{percentile(single_ms, 50):.1f} ms   p99 {percentile(single_ms, 99):.1f} ms")
        print(f"  replies: {len(connector.received)} ({with_card} with a card); "
              f"lost {len(lost)}, doubled {len(doubled)}")
        if lost or doubled or late:
            print(f"  lost: {lost[:10]} doubled: {doubled[:10]}")
            return 1
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        await connector.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="concurrent messages (default 200)")
    parser.add_argument("--redeliver", type=int, default=20,
                        help="of those, how many to post a second time (default 20)")
    parser.add_argument("--sequential", type=int, default=20,
                        help="then this many one at a time (default 20)")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds to wait for the last replies (default 60)")
    parser.add_argument("--latency", type=float, default=0.5,
                        help="seconds the fake connector takes per send (default 0.5)")
    parser.add_argument("--throttle", type=int, default=10,
                        help="sends answered 429 (then half as many 500) (default 10)")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.n, args.redeliver, args.settle, args.sequential,
                              args.latency, args.throttle)))
