"""Load check: two `protocol-bot serve` instances on one PostgreSQL database, one killed mid-run.

    .venv/bin/python bench/two_instances.py                  # PostgreSQL, two instances, one SIGKILLed
    .venv/bin/python bench/two_instances.py --store sqlite   # one SQLite instance, for comparison

Starts the fake Slack Web API (tests/slack_fake.py; one per instance, so each post is known to
come from the instance that made it) and `protocol-bot serve` processes pointed at it, on a fresh
PostgreSQL schema (created in the database PROTOCOL_BOT_PG_URL names, default
postgresql://postgres@127.0.0.1:5432/test, and dropped afterwards) or a temporary SQLite file.
It sends N signed @mentions at a steady rate over several channels, each to one instance and
half of them twice (the second copy, `X-Slack-Retry-Num: 1`, to the other instance); a send
that fails because its instance is dead is redelivered to the other, as Slack retries. Some
answers are escalated: the "Ask the monitoring officer" form is submitted to both instances at
once (one ticket each), and the monitoring officer's answers are given through the instances
concurrently. One instance is killed with SIGKILL part-way through.

It prints answers per second, p50/p99 time from a mention's first send to its answer being
posted, duplicates (a thread answered twice: allowed only when the first copy came from the
killed instance, which died before it could record the send as done; counted apart) and losses
(must be 0: a mention never answered, a ticket not opened once, an MO answer or notice never
delivered). Exits non-zero on a loss, an unexplained duplicate or a server error. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from load_support import QUESTIONS, free_port, percentile, wait_healthy  # noqa: E402
from tests.slack_fake import (BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_body,  # noqa: E402
                              find_button, interaction_body, payload, sign)

from adapters.slack import render  # noqa: E402

PG_URL = os.environ.get("PROTOCOL_BOT_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MO_USER = "U0MO00001"
ANSWER_MARK = "Monitoring officer's answer"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class Instance:
    def __init__(self, index: int, fake: FakeSlack, port: int, process: subprocess.Popen,
                 log_path: Path):
        self.index, self.fake, self.port, self.process = index, fake, port, process
        self.log_path = log_path
        self.alive = True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def mention(i: int, channels: int) -> dict:
    data = payload("slack_app_mention")
    ts = f"{1767300000 + i}.{i:06d}"
    data["event"].update(channel=f"C0LOAD{i % channels:04d}", ts=ts, event_ts=ts,
                         text=f"<@U0BOT0001> {QUESTIONS[i % len(QUESTIONS)]}",
                         client_msg_id=f"load-{i}")
    data["event_id"] = f"Ev0LOAD{i:06d}"
    return data


class Run:
    """One run: the instances, what was sent, and the retries a dead instance caused."""

    def __init__(self, instances: list[Instance], session: aiohttp.ClientSession):
        self.instances = instances
        self.session = session
        self.failed_sends = 0  # sends to a dead (or dying) instance, redelivered to another
        self.non_200 = 0
        # What the fakes were asked, indexed as it arrives (scanning every call on each look
        # would starve the fakes, which share this event loop).
        self._seen = [0] * len(instances)
        self.posts: list[tuple[int, object]] = []  # (instance, successful chat.postMessage)
        self.answers: dict[str, list] = {}  # thread -> the bot's answer posts
        self.mo_answers: dict[str, list] = {}  # thread -> the MO's answer posts
        self.notices: dict[str, int] = {}  # ticket -> MO notices (DMs)
        self.views: dict[str, dict] = {}  # trigger_id -> the view opened

    def other(self, instance: Instance) -> Instance:
        live = [x for x in self.instances if x.alive and x is not instance]
        return live[0] if live else instance

    async def post(self, instance: Instance, path: str, body: str, content_type: str,
                   headers: dict | None = None) -> tuple[int, str, Instance]:
        """POST, and on a dead instance redeliver to another (Slack retries an event that
        was not acknowledged; a person clicks again)."""
        for attempt in range(4):
            target = instance if instance.alive or attempt == 3 else self.other(instance)
            all_headers = {"Content-Type": content_type, **sign(body), **(headers or {})}
            if attempt:
                all_headers.update({"X-Slack-Retry-Num": str(attempt),
                                    "X-Slack-Retry-Reason": "http_error"})
            try:
                async with self.session.post(target.url(path), data=body.encode(),
                                             headers=all_headers, timeout=TIMEOUT) as resp:
                    text = await resp.text()
                    if resp.status != 200:
                        self.non_200 += 1
                    return resp.status, text, target
            except (aiohttp.ClientError, asyncio.TimeoutError):
                self.failed_sends += 1
                if target.process.poll() is not None:
                    target.alive = False  # as a load balancer marks it down
                instance = self.other(target)
                await asyncio.sleep(0.2)
        return 0, "", instance


    def refresh(self) -> None:
        for x in self.instances:
            calls = x.fake.calls
            new, self._seen[x.index] = calls[self._seen[x.index]:], len(calls)
            for call in new:
                if not (call.result or {}).get("ok"):
                    continue
                if call.method == "views.open":
                    self.views[call.args.get("trigger_id")] = call.args["view"]
                if call.method != "chat.postMessage":
                    continue
                self.posts.append((x.index, call))
                text, thread = call.args.get("text", ""), call.args.get("thread_ts")
                if ANSWER_MARK in text:
                    self.mo_answers.setdefault(thread, []).append((call.at, x.index))
                elif call.args.get("channel", "").startswith("D"):
                    ticket = text.split(":", 1)[0]
                    self.notices[ticket] = self.notices.get(ticket, 0) + 1
                else:
                    self.answers.setdefault(thread, []).append((call.at, x.index, call))

    async def view_opened(self, trigger_id: str, timeout: float = 10.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.refresh()
            if trigger_id in self.views:
                return self.views[trigger_id]
            await asyncio.sleep(0.05)
        return None


def _click(name: str, fake: FakeSlack, action_id: str, value: str, trigger: str, *,
           channel: str, message_ts: str, thread_ts: str | None, blocks=None) -> dict:
    data = copy.deepcopy(payload(name))
    data["response_url"] = fake.response_url(action_id)
    data["trigger_id"] = trigger
    data["actions"][0].update(action_id=action_id, value=value)
    data["container"].update(channel_id=channel, message_ts=message_ts)
    data["channel"]["id"] = channel
    message = {"ts": message_ts, **({"thread_ts": thread_ts} if thread_ts else {})}
    if blocks is not None:
        message["blocks"] = blocks
    data["message"].update(message)
    if thread_ts:
        data["container"]["thread_ts"] = thread_ts
    return data


def _submission(name: str, view: dict, values: dict | None = None) -> dict:
    data = copy.deepcopy(payload(name))
    data["view"].update(private_metadata=view["private_metadata"],
                        callback_id=view["callback_id"], blocks=view["blocks"])
    if values is not None:
        data["view"]["state"]["values"] = values
    return data


async def escalate_and_answer(run: Run, i: int, data: dict, tickets: dict, errors: list) -> None:
    """Ask the MO about mention i's answer: the form sent to every instance at once (one
    ticket), then the MO answers through one instance."""
    ts, channel = data["event"]["ts"], data["event"]["channel"]
    while ts not in run.answers:  # wait for the bot's answer in the thread
        await asyncio.sleep(0.05)
        run.refresh()
    _, index, answer = run.answers[ts][0]
    fake = run.instances[index].fake
    value = find_button(answer.args["blocks"], render.ESCALATE)["value"]
    trigger = f"trig-esc-{i}"
    click = _click("slack_block_actions_escalate", fake, render.ESCALATE, value, trigger,
                   channel=channel, message_ts=answer.result["ts"], thread_ts=ts,
                   blocks=answer.args["blocks"])
    target = run.instances[i % len(run.instances)]
    await run.post(target, "/slack/events", *interaction_body(click))
    view = await run.view_opened(trigger)
    if view is None:
        errors.append(f"mention {i}: the escalation form never opened")
        return
    body = interaction_body(_submission("slack_view_submission_escalate", view))
    opened = await asyncio.gather(*(run.post(x, "/slack/events", *body)
                                    for x in run.instances))  # concurrent opens
    ids = set()
    for status, text, _ in opened:
        shown = json.dumps(json.loads(text)) if text.startswith("{") else text
        ids.update(word.strip("*.,") for word in shown.split() if word.strip("*.,")
                   .startswith("MO-"))
    if len(ids) != 1:
        errors.append(f"mention {i}: the form gave tickets {sorted(ids)}")
        return
    ticket = ids.pop()
    tickets[ticket] = ts
    trigger = f"trig-ans-{i}"
    click = _click("slack_block_actions_ticket_answer", fake, render.TICKET_ANSWER, ticket,
                   trigger, channel=f"D{MO_USER[1:]}", message_ts=f"{1767400000 + i}.000001",
                   thread_ts=None)
    mo_target = run.instances[(i + 1) % len(run.instances)]
    await run.post(mo_target, "/slack/events", *interaction_body(click))
    view = await run.view_opened(trigger)
    if view is None:
        errors.append(f"{ticket}: the answer form never opened")
        return
    values = {"answer": {"value": {"type": "plain_text_input",
                                   "value": f"{ANSWER_MARK} for {ticket}: no."}}}
    await run.post(mo_target, "/slack/events",
                   *interaction_body(_submission("slack_view_submission_ticket_answer", view,
                                                 values)))


async def main(args) -> int:
    store_kind = args.store
    count = 2 if store_kind == "postgresql" else 1
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    tmp = tempfile.TemporaryDirectory(prefix="protocol-bot-bench-")
    if store_kind == "postgresql":
        import psycopg

        from tests.pg_support import schema_url

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        db = schema_url(schema, PG_URL)
    else:
        db = str(Path(tmp.name) / "bench.db")
    fakes = [await FakeSlack().start() for _ in range(count)]
    for n, fake in enumerate(fakes):
        fake._ts = itertools.count(1 + n * 500_000)  # distinct message ts per fake
        if args.rate_limit:
            fake.rate_limit(per_second=1.0, burst=3)
    instances: list[Instance] = []
    try:
        for n, fake in enumerate(fakes):
            port = free_port()
            env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN,
                   "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
                   "PROTOCOL_BOT_DB": db, "PROTOCOL_BOT_DATA": str(Path(tmp.name) / f"data-{n}"),
                   "PROTOCOL_BOT_MONITORING_OFFICERS": f"slack:{MO_USER}",
                   "PROTOCOL_BOT_TEAMS": "off", "PROTOCOL_BOT_DELIVERY_LEASE": str(args.lease)}
            env.pop("PROTOCOL_BOT_KNOWLEDGE", None)
            log_path = Path(tmp.name) / f"serve-{n}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "protocol_bot.cli", "serve", "--port", str(port)],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"))
            instances.append(Instance(n, fake, port, process, log_path))
        for x in instances:
            await wait_healthy(x.url("/healthz"), x.process, "slack", timeout=60)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            run = Run(instances, session)
            figures = await drive(run, args)
    finally:
        for x in instances:
            if x.process.poll() is None:
                x.process.send_signal(signal.SIGTERM)
        for x in instances:
            try:
                x.process.wait(15)
            except subprocess.TimeoutExpired:
                x.process.kill()
        for fake in fakes:
            await fake.close()
        errors_logged = []
        for x in instances:
            errors_logged += [line for line in x.log_path.read_text(errors="replace")
                              .splitlines() if line.startswith(("ERROR", "CRITICAL"))]
        if store_kind == "postgresql":  # also when the run failed
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        tmp.cleanup()
    return report(args, figures, errors_logged)


async def drive(run: Run, args) -> dict:
    n, instances = args.n, run.instances
    mentions = [mention(i, args.channels) for i in range(n)]
    sent_at: dict[str, float] = {}
    escalated = set(range(0, n, max(1, n // args.tickets)))
    tickets: dict[str, str] = {}
    errors: list[str] = []
    killed: Instance | None = None
    kill_time = None

    async def send(i: int, data: dict) -> None:
        body = event_body(data)
        first = instances[i % len(instances)]
        sent_at[data["event"]["ts"]] = time.monotonic()
        sends = [run.post(first, "/slack/events", *body)]
        if i % 2 == 0:  # half delivered twice: the second copy to the other instance
            sends.append(run.post(run.other(first), "/slack/events", *body,
                                  {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason":
                                   "http_timeout"}))
        await asyncio.gather(*sends)

    began = time.monotonic()
    tasks = []
    flows = []
    for i, data in enumerate(mentions):
        due = began + i / args.rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if (len(instances) > 1 and killed is None and i >= int(n * args.kill_at)
                and args.kill_at < 1):
            killed = instances[1]  # sends keep going to it until one fails
            killed.process.send_signal(signal.SIGKILL)
            kill_time = time.monotonic()
        tasks.append(asyncio.create_task(send(i, data)))
        if i in escalated:
            flows.append(asyncio.create_task(escalate_and_answer(run, i, data, tickets, errors)))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + args.settle
    ticket_flows = asyncio.gather(*flows)
    while time.monotonic() < deadline:
        run.refresh()
        if (len(run.answers.keys() & sent_at.keys()) >= n and ticket_flows.done()
                and len(run.mo_answers) >= len(tickets)
                and len(run.notices.keys() & tickets.keys()) >= len(tickets)):
            break
        await asyncio.sleep(0.1)
    if not ticket_flows.done():
        ticket_flows.cancel()
        errors.append("ticket flows unfinished at the deadline")
    await asyncio.sleep(1.0)  # anything doubled would arrive now
    run.refresh()
    wall = time.monotonic() - began
    return {"sent_at": sent_at, "tickets": tickets, "errors": errors,
            "killed": killed.index if killed else None, "kill_time": kill_time, "wall": wall,
            "answers": run.answers, "mo_answers": run.mo_answers, "notices": run.notices,
            "failed_sends": run.failed_sends, "non_200": run.non_200, "escalated": len(escalated),
            "instances": len(instances)}


def report(args, f: dict, errors_logged: list[str]) -> int:
    answers = {ts: [(at, index) for at, index, _ in posts] for ts, posts in f["answers"].items()}
    mo_answers, cards = f["mo_answers"], f["notices"]
    latency, lost, dup_killed, dup_other = [], 0, 0, 0

    def duplicates(posts: list[tuple[float, int]]) -> tuple[int, int]:
        if len(posts) < 2:
            return 0, 0
        first_from_killed = sorted(posts)[0][1] == f["killed"]
        extra = len(posts) - 1
        return (extra, 0) if first_from_killed else (0, extra)

    for ts, started in f["sent_at"].items():
        posts = answers.get(ts, [])
        if not posts:
            lost += 1
            continue
        latency.append((min(at for at, _ in posts) - started) * 1000)
        k, o = duplicates(posts)
        dup_killed += k
        dup_other += o
    mo_lost = sum(1 for ts in f["tickets"].values() if ts not in mo_answers)
    for ts in f["tickets"].values():
        k, o = duplicates(mo_answers.get(ts, []))
        dup_killed += k
        dup_other += o
    cards_lost = sum(1 for t in f["tickets"] if not cards.get(t))
    cards_doubled = sum(max(0, cards.get(t, 0) - 1) for t in f["tickets"])
    tickets_lost = f["escalated"] - len(f["tickets"])
    firsts = sorted(min(at for at, _ in answers[ts]) for ts in f["sent_at"] if ts in answers)
    began = min(f["sent_at"].values())
    span = (firsts[-1] - began) if firsts else float("nan")
    # Answers another instance took over after the killed one's lease ran out are counted
    # apart: they measure the lease (PROTOCOL_BOT_DELIVERY_LEASE), not the bots' pace.
    late = {ts for ts in f["sent_at"] if ts in answers and min(at for at, _ in answers[ts])
            - f["sent_at"][ts] > args.lease * 0.8}
    prompt = sorted(min(at for at, _ in answers[ts]) for ts in f["sent_at"]
                    if ts in answers and ts not in late)
    prompt_rate = len(prompt) / (prompt[-1] - began) if prompt else float("nan")
    n = len(f["sent_at"])
    where = ("two instances on one PostgreSQL database" if f["instances"] == 2
             else f"one instance on {args.store}")
    print(f"{n} signed mentions at {args.rate:g}/s over {args.channels} channels to {where} "
          f"(fake Slack{', rate-limited' if args.rate_limit else ''}); half delivered twice"
          f"{' (once to each instance)' if f['instances'] == 2 else ''}; {f['escalated']} "
          "escalated (form sent to every instance at once) and answered by the MO")
    if f["killed"] is not None:
        print(f"instance {f['killed']} killed with SIGKILL after {args.kill_at:.0%} of the "
              f"mentions; {f['failed_sends']} sends failed and were redelivered to the other")
    print(f"answers: {n - lost} of {n} in {span:.2f} s; {prompt_rate:.1f} answers/s"
          + (f" (not counting the {len(late)} taken over after the killed instance's "
             f"{args.lease} s lease)" if late else "")
          + f"; time to answer p50 {percentile(latency, 50):.0f} ms, p99 "
          f"{percentile(latency, 99):.0f} ms, max {max(latency or [0]):.0f} ms")
    print(f"tickets: {len(f['tickets'])} of {f['escalated']} opened once each; MO answers "
          f"delivered {len(f['tickets']) - mo_lost}; MO notices {len(f['tickets']) - cards_lost}"
          f" (doubled {cards_doubled})")
    lost_total = lost + mo_lost + cards_lost + tickets_lost
    print(f"losses: {lost_total}; duplicates: {dup_killed} from sends in flight on the killed "
          f"instance, {dup_other} otherwise; non-200 responses {f['non_200']}; wall "
          f"{f['wall']:.1f} s")
    for error in f["errors"][:5]:
        print(f"problem: {error}")
    if errors_logged:
        print(f"servers logged {len(errors_logged)} error(s), e.g. {errors_logged[0]}")
    bad = lost_total or dup_other or f["errors"] or errors_logged
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("-n", type=int, default=300, help="mentions (default 300)")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="mentions sent per second (default 30)")
    parser.add_argument("--channels", type=int, default=30, help="channels (default 30)")
    parser.add_argument("--tickets", type=int, default=20,
                        help="mentions escalated to the MO (default 20)")
    parser.add_argument("--kill-at", type=float, default=0.4,
                        help="kill the second instance after this share of the mentions "
                             "(default 0.4; 1 = never)")
    parser.add_argument("--lease", type=int, default=30,
                        help="PROTOCOL_BOT_DELIVERY_LEASE for the instances (default 30 s)")
    parser.add_argument("--settle", type=float, default=120.0,
                        help="seconds to wait for every answer after the last send")
    parser.add_argument("--rate-limit", action="store_true",
                        help="the fake Slack rate-limits 1/s per channel (burst 3)")
    sys.exit(asyncio.run(main(parser.parse_args())))
