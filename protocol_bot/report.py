"""`protocol-bot report`: what the monitoring officer could improve, from log and tickets."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from .desk import Desk
from .models import TICKET_STATUSES
from .question_log import DAY_SECONDS, normalise
from .sqlite_store import iso

TOP = 10


def _age_days(stamp: str, now: float) -> float:
    created = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return max(0.0, (now - created.timestamp()) / DAY_SECONDS)


def build_report(desk: Desk, now: float | None = None, days: int | None = None) -> dict:
    store = desk.store
    now = store.now() if now is None else now
    since = now - days * DAY_SECONDS if days else 0.0
    questions = store.logged_questions(since)
    feedback = store.feedback_entries(since)
    tickets = store.list_tickets()

    # Declined and escalated questions, grouped so rewordings of one question count together.
    groups: dict[str, dict] = defaultdict(lambda: {"question": "", "declined": 0, "escalated": 0})
    for q in questions:
        if not q.answered:
            group = groups[q.normalised]
            group["declined"] += 1
            group["question"] = q.question
    for t in tickets:
        created = dt.datetime.strptime(t.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.timezone.utc).timestamp()
        if created >= since:
            group = groups[normalise(t.question)]
            group["escalated"] += 1
            group["question"] = t.question
    unresolved = sorted(groups.values(), key=lambda g: (-(g["declined"] + g["escalated"]),
                                                         g["question"]))[:TOP]

    not_helpful: Counter[str] = Counter()
    helpful: Counter[str] = Counter()
    for f in feedback:
        for ref in f.refs or ("(no passage)",):
            (helpful if f.helpful else not_helpful)[ref] += 1
    passages = [{"ref": ref, "not_helpful": n, "helpful": helpful[ref]}
                for ref, n in sorted(not_helpful.items(), key=lambda kv: (-kv[1], kv[0]))][:TOP]

    by_status = []
    for status in TICKET_STATUSES:
        of_status = [t for t in tickets if t.status == status]
        ages = [_age_days(t.created_at, now) for t in of_status]
        by_status.append({"status": status, "count": len(of_status),
                          "oldest_days": round(max(ages), 1) if ages else None})
    waiting = [{"id": t.id, "status": t.status, "assignee": t.assignee,
                "age_days": round(_age_days(t.created_at, now), 1)}
               for t in tickets if t.status in ("open", "assigned")]

    undelivered: dict[str, dict] = {}
    for m in store.undelivered():
        entry = undelivered.setdefault(m.platform, {"platform": m.platform, "count": 0,
                                                    "max_attempts": 0, "last_error": None})
        entry["count"] += 1
        entry["max_attempts"] = max(entry["max_attempts"], m.attempts)
        entry["last_error"] = m.last_error or entry["last_error"]

    def not_an_mo(e) -> bool:  # someone who is not an MO tried (tickets, report, kb reload)
        return e.outcome == "refused" and (e.action.startswith("tickets.") or
                                           e.detail.get("reason") == "not a monitoring officer")

    refusals = [e for e in store.audit_entries(limit=1000) if not_an_mo(e) and e.at >= since]
    changes = [{"at": iso(e.at), "by": e.actor, "action": e.action, "outcome": e.outcome,
                "files": e.target} for e in store.audit_entries(limit=200)
               if e.action in ("kb.changed", "kb.reload") and not not_an_mo(e)][:5]

    return {
        "generated_at": iso(now),
        "period_days": days,
        "retention_days": desk.log_retention_days,
        "questions": {"logged": len(questions),
                      "answered": sum(q.answered for q in questions),
                      "declined": sum(not q.answered for q in questions),
                      "helpful": sum(f.helpful for f in feedback),
                      "not_helpful": sum(not f.helpful for f in feedback)},
        "most_declined_or_escalated": unresolved,
        "passages_not_helpful": passages,
        "tickets_by_status": by_status,
        "tickets_waiting": waiting,
        "undelivered_messages": list(undelivered.values()),
        "undeliverable_messages": [
            {"id": m.id, "platform": m.platform, "recipient": m.recipient, "kind": m.kind,
             "ticket_id": m.ticket_id, "error": m.last_error} for m in store.given_up()],
        "possible_duplicates": store.unknown_outcomes(),
        "unanswered_recorded": store.pending_incoming(),
        "monitoring_officers_reachable": desk.reachable_mos(),
        "refused_attempts": dict(Counter(e.actor for e in refusals)),
        "recent_knowledge_changes": changes,
    }


def render(report: dict) -> str:
    q = report["questions"]
    period = f"last {report['period_days']} days" if report["period_days"] else (
        f"the question log keeps {report['retention_days']} days")
    lines = [f"protocol-bot report, {report['generated_at']} ({period})", "",
             f"Questions: {q['logged']} asked, {q['answered']} answered, {q['declined']} declined; "
             f"feedback {q['helpful']} helpful, {q['not_helpful']} not helpful.", "",
             "Questions declined or escalated most:"]
    lines += [f"  {g['declined'] + g['escalated']:>3}  {g['question']}  "
              f"(declined {g['declined']}, escalated {g['escalated']})"
              for g in report["most_declined_or_escalated"]] or ["  none"]
    lines += ["", "Passages marked not helpful:"]
    lines += [f"  {p['not_helpful']:>3}  {p['ref']}  (helpful {p['helpful']})"
              for p in report["passages_not_helpful"]] or ["  none"]
    lines += ["", "Tickets by status:"]
    lines += [f"  {s['status']:<9}{s['count']:>4}" + (f"  oldest {s['oldest_days']} days"
                                                     if s["oldest_days"] is not None else "")
              for s in report["tickets_by_status"]]
    if report["tickets_waiting"]:
        lines += ["", "Waiting for an answer:"]
        lines += [f"  {t['id']}  {t['status']:<9} {t['age_days']:>6} days"
                  + (f"  with {t['assignee']}" if t["assignee"] else "")
                  for t in report["tickets_waiting"]]
    if report["undelivered_messages"]:
        lines += ["", "Messages not yet delivered:"]
        lines += [f"  {u['platform']}: {u['count']} (up to {u['max_attempts']} failed attempts"
                  + (f"; last error: {u['last_error']}" if u["last_error"] else "") + ")"
                  for u in report["undelivered_messages"]]
    if report["undeliverable_messages"]:
        lines += ["", "Messages that could not be delivered at all (the platform refused them):"]
        lines += [f"  {u['platform']} message {u['id']} ({u['kind']}"
                  + (f", {u['ticket_id']}" if u["ticket_id"] else "") + f") to {u['recipient']}: "
                  f"{u['error']}" for u in report["undeliverable_messages"]]
    if report["possible_duplicates"]:
        lines += ["", f"Sends whose outcome was unknown (a timeout or a crash mid-send), so the "
                      f"person may have seen them twice: {report['possible_duplicates']}"]
    if report["unanswered_recorded"]:
        lines += ["", f"Questions recorded but not answered yet: {report['unanswered_recorded']}"]
    unreachable = [mo for mo, ok in report["monitoring_officers_reachable"].items() if not ok]
    if unreachable:
        lines += ["", "Monitoring officers the bot cannot message yet (they should send the bot "
                      "a message in Teams once): " + ", ".join(unreachable)]
    if report["refused_attempts"]:
        lines += ["", "Refused attempts by people who are not monitoring officers: "
                  + ", ".join(f"{a} ({n})" for a, n in report["refused_attempts"].items())]
    if report["recent_knowledge_changes"]:
        lines += ["", "Recent knowledge changes:"]
        lines += [f"  {c['at']}  {c['by']}  {'changed' if c['outcome'] == 'ok' else c['outcome']}"
                  f"  {c['files']}" for c in report["recent_knowledge_changes"]]
    return "\n".join(lines) + "\n"
