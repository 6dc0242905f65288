"""`protocol-bot report`: what the monitoring officer could improve, from log and tickets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from .desk import Desk
from .models import TICKET_STATUSES
from .question_log import DAY_SECONDS, normalise
from .sql_store import iso

log = logging.getLogger(__name__)

TOP = 25  # rows per list in the printed report (--json and --csv have them all)
# Two questions are rewordings of one another when they share this much of their meaning:
# the Jaccard similarity of their analysed terms (stemmed, synonyms folded, stopwords out).
SAME_QUESTION = 0.5
# An answer is "low confidence" when its first citation covers less than this share of the
# question's idf-weighted words (the bot declines under 0.25).
LOW_COVERAGE = 0.4
MAX_SCORED = 2000  # at most this many recent answers are re-scored for confidence


def _stamp(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc).timestamp()


def _age_days(stamp: str, now: float) -> float:
    return max(0.0, (now - _stamp(stamp)) / DAY_SECONDS)


def _week(ts: float) -> str:
    year, week, _ = dt.datetime.fromtimestamp(ts, dt.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


class Knowledge:
    """What the report needs from the knowledge base: labels with document and edition, which
    documents are superseded, and the analyzer that groups rewordings. Works (with plainer
    output) when the knowledge folder cannot be loaded."""

    def __init__(self, desk: Desk):
        self.answerer = None
        if desk.knowledge is not None:
            self.answerer = desk.knowledge.answerer
        elif desk.knowledge_dir is not None:
            from .answering import Answerer
            from .kb_changes import validate

            kb, _ = validate(desk.knowledge_dir)
            if kb is not None:
                from .live import with_hints
                self.answerer = Answerer(with_hints(kb, desk.taught_hints()))
        kb = self.answerer.kb if self.answerer is not None else None
        self._passages = {p.key: p for p in kb.passages} if kb else {}
        self._by_ref: dict[str, list[str]] = defaultdict(list)
        for key in self._passages:
            self._by_ref[key.rsplit("#", 1)[1]].append(key)
        self._docs = kb.documents if kb else {}
        from .editions import is_protocol_lineage, successors

        self._successor = successors(kb) if kb else {}
        self._replaced = {d for d in self._successor
                          if is_protocol_lineage(kb, d, self._successor)}
        self._positions = {p.key: i for i, p in enumerate(kb.passages)} if kb else {}

    def key_of(self, ref: str) -> str:
        """A logged ref as a passage key; old log rows hold a bare ref ('4.1'), which is only
        resolved when exactly one passage has it."""
        if "#" in ref:
            return ref
        keys = self._by_ref.get(ref, [])
        return keys[0] if len(keys) == 1 else ref

    def label(self, ref: str) -> str:
        key = self.key_of(ref)
        passage = self._passages.get(key)
        if passage is None:
            if "#" not in key:
                return f"ref {key} (document not recorded)"
            doc_id, _, bare = key.rpartition("#")
            return f"{doc_id}, {bare} (no longer in the knowledge base)"
        doc = self._docs.get(passage.document_id)
        where = f"clause {passage.ref}" if passage.type == "clause" else passage.ref
        edition = doc.edition if doc else "?"
        newer = self.replaced_by(key)
        if newer:  # as citations say it: a protocol is replaced, guidance superseded
            word = "replaced" if passage.document_id in self._replaced else "superseded"
            edition += f", {word} by {newer}"
        return f"{doc.title if doc else passage.document_id} ({edition}), {where}"

    def replaced_by(self, ref: str) -> str | None:
        key = self.key_of(ref)
        doc_id = key.rpartition("#")[0]
        newer = self._successor.get(doc_id)
        if not newer:
            return None
        return self._docs[newer].edition if newer in self._docs else newer

    def terms(self, question: str) -> frozenset[str]:
        if self.answerer is not None:
            try:
                return frozenset(self.answerer.analyzer.terms(question))
            except Exception:
                log.exception("could not analyse a logged question")
        return frozenset(w for w in normalise(question).split() if len(w) > 2)

    def coverage(self, question: str, ref: str) -> float | None:
        """How much of the question the cited passage covers (None when it cannot be said)."""
        position = self._positions.get(self.key_of(ref))
        if self.answerer is None or position is None:
            return None
        try:
            # Words the knowledge base has never seen ("biscuits") count as not covered: they
            # are the surest sign that the cited passage does not answer the question.
            return self.answerer.coverage(self.answerer.analyzer.terms(question), position)
        except Exception:
            return None


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else float(a == b)


def group_questions(questions: Sequence[str], terms: Callable[[str], frozenset[str]],
                    threshold: float = SAME_QUESTION) -> list[list[int]]:
    """Rewordings grouped, as indices in first-asked order. Each question joins the group whose
    first question it is most similar to (Jaccard similarity of their analysed terms, at least
    `threshold`), or starts a group: comparing with the group's first question, not with any
    member, keeps a chain of small changes from drifting into another question.

    Prefix filtering keeps this near linear: with each question's terms ordered rarest first,
    two sets with Jaccard >= t must share one of the first |A| - ceil(t|A|) + 1 terms of each,
    so only those are indexed and looked up (common words such as "officer" rarely are)."""
    sets = [terms(q) for q in questions]
    frequency = Counter(t for words in set(sets) for t in words)

    def prefix(words: frozenset[str]) -> list[str]:
        ordered = sorted(words, key=lambda t: (frequency[t], t))
        return ordered[:len(ordered) - math.ceil(threshold * len(ordered)) + 1]

    groups: list[list[int]] = []
    group_of: dict[frozenset[str], int] = {}  # the same meaning: the same group at once
    leaders: dict[str, list[int]] = defaultdict(list)  # prefix term -> groups whose leader has it
    for i, words in enumerate(sets):
        if words in group_of:
            groups[group_of[words]].append(i)
            continue
        scored = [(similarity(words, sets[groups[g][0]]), -g)
                  for g in {g for t in prefix(words) for g in leaders[t]}]
        best = max(scored, default=(0.0, 0))
        if best[0] >= threshold and words:
            group = -best[1]
        else:
            group = len(groups)
            groups.append([])
            for t in prefix(words):
                leaders[t].append(group)
        groups[group].append(i)
        group_of[words] = group
    return groups


def build_report(desk: Desk, now: float | None = None, days: int | None = None) -> dict:
    store = desk.store
    now = store.now() if now is None else now
    since = now - days * DAY_SECONDS if days else 0.0
    questions = store.logged_questions(since)
    feedback = store.feedback_entries(since)
    tickets = store.list_tickets()
    recent_tickets = [t for t in tickets if _stamp(t.created_at) >= since]
    kn = Knowledge(desk)

    # Every question asked, declined, escalated or marked not helpful, grouped by meaning.
    items: list[dict] = []
    for q in questions:
        items.append({"question": q.question, "at": q.at, "kind": "asked", "answered": q.answered,
                      "refs": [kn.key_of(r) for r in q.refs], "helpful": q.helpful})
    for t in recent_tickets:
        items.append({"question": t.question, "at": _stamp(t.created_at), "kind": "escalated",
                      "ticket": t.id})
    for f in feedback:
        if f.log_id is None and f.question:  # feedback with no log row still counts
            items.append({"question": f.question, "at": f.at, "kind": "feedback",
                          "helpful": f.helpful, "refs": [kn.key_of(r) for r in f.refs]})
    groups = []
    for members in group_questions([i["question"] for i in items], kn.terms):
        rows = [items[i] for i in members]
        wordings = Counter(r["question"].strip() for r in rows)
        asked = [r for r in rows if r["kind"] == "asked"]
        cited = Counter(ref for r in asked if r["answered"] for ref in r["refs"][:1])
        groups.append({
            "question": wordings.most_common(1)[0][0],
            "rewordings": sorted(wordings, key=lambda w: (-wordings[w], w)),
            "asked": len(asked),
            "answered": sum(r["answered"] for r in asked),
            "declined": sum(not r["answered"] for r in asked),
            "escalated": sum(r["kind"] == "escalated" for r in rows),
            "tickets": [r["ticket"] for r in rows if r["kind"] == "escalated"],
            "helpful": sum(r.get("helpful") is True for r in rows),
            "not_helpful": sum(r.get("helpful") is False for r in rows),
            "first_cited": [kn.label(ref) for ref, _ in cited.most_common(3)],
            "first_asked": iso(min(r["at"] for r in rows)),
            "last_asked": iso(max(r["at"] for r in rows)),
        })
    groups.sort(key=lambda g: (-(g["asked"] + g["escalated"]), g["question"]))
    unresolved = sorted((g for g in groups if g["declined"] or g["escalated"]),
                        key=lambda g: (-(g["declined"] + g["escalated"]), g["question"]))

    # Feedback on passages, and the passages cited most.
    not_helpful: Counter[str] = Counter()
    helpful: Counter[str] = Counter()
    for f in feedback:
        for ref in f.refs or ("(no passage)",):
            (helpful if f.helpful else not_helpful)[kn.key_of(ref)] += 1
    passages = [{"ref": ref, "label": kn.label(ref) if ref != "(no passage)" else ref,
                 "not_helpful": n, "helpful": helpful[ref]}
                for ref, n in sorted(not_helpful.items(), key=lambda kv: (-kv[1], kv[0]))]
    cited_all: Counter[str] = Counter()
    cited_first: Counter[str] = Counter()
    for q in questions:
        keys = [kn.key_of(r) for r in q.refs]
        cited_all.update(list(dict.fromkeys(keys)))
        if keys:
            cited_first[keys[0]] += 1
    most_cited = [{"ref": ref, "label": kn.label(ref), "cited": n, "cited_first": cited_first[ref]}
                  for ref, n in sorted(cited_all.items(), key=lambda kv: (-kv[1], kv[0]))]

    # Week by week.
    weeks: dict[str, Counter] = defaultdict(Counter)
    for q in questions:
        weeks[_week(q.at)].update({"asked": 1, "answered": int(q.answered),
                                   "declined": int(not q.answered)})
    for f in feedback:
        weeks[_week(f.at)]["not_helpful" if not f.helpful else "helpful"] += 1
    for t in recent_tickets:
        weeks[_week(_stamp(t.created_at))]["escalated"] += 1
    by_week = [{"week": w, **{k: weeks[w][k] for k in ("asked", "answered", "declined",
                                                       "escalated", "helpful", "not_helpful")}}
               for w in sorted(weeks)]

    # Answers to look at: low confidence, and citing superseded material.
    low, superseded = [], []
    for q in [q for q in questions if q.answered][-MAX_SCORED:]:
        if not q.refs:
            continue
        coverage = kn.coverage(q.question, q.refs[0])
        if coverage is not None and coverage < LOW_COVERAGE:
            low.append({"id": q.id, "at": iso(q.at), "question": q.question,
                        "cited": kn.label(q.refs[0]), "coverage": round(coverage, 2)})
        old = [kn.label(r) for r in q.refs if kn.replaced_by(r)]
        if old:
            superseded.append({"id": q.id, "at": iso(q.at), "question": q.question,
                               "cited": old})
    low.sort(key=lambda r: r["coverage"])

    # FAQ answers and taught questions, and how often they were used.
    faq_used = Counter(kn.key_of(r) for q in questions for r in q.refs[:3]
                       if kn.key_of(r).startswith("mo-faq#"))
    faq = [{"id": e.id, "status": e.status, "question": e.question,
            "used": faq_used[f"mo-faq#{e.id}"]}
           for e in store.faq_entries(include_withdrawn=True)]
    taught = []
    for t in store.taught_questions(include_undone=True):
        hint = kn.terms(t.question)
        used = sum(1 for q in questions if q.at >= t.at and q.refs
                   and kn.key_of(q.refs[0]) == t.passage_key
                   and similarity(kn.terms(q.question), hint) >= SAME_QUESTION)
        taught.append({"id": t.id, "question": t.question, "passage": kn.label(t.passage_key),
                       "taught_by": t.taught_by, "at": iso(t.at),
                       "undone": t.undone_at is not None, "used": used})

    # Tickets: by status, waiting (with their question), and how long answers took.
    by_status = []
    for status in TICKET_STATUSES:
        of_status = [t for t in tickets if t.status == status]
        ages = [_age_days(t.created_at, now) for t in of_status]
        by_status.append({"status": status, "count": len(of_status),
                          "oldest_days": round(max(ages), 1) if ages else None})
    waiting = [{"id": t.id, "status": t.status, "assignee": t.assignee,
                "age_days": round(_age_days(t.created_at, now), 1), "question": t.question}
               for t in tickets if t.status in ("open", "assigned")]
    turnaround = []
    for t in recent_tickets:
        answered = next((e["at"] for e in t.events if e.get("event") == "answered"), None)
        if answered:
            turnaround.append((_stamp(answered) - _stamp(t.created_at)) / DAY_SECONDS)
    turnaround_days = ({"answered": len(turnaround),
                        "median_days": round(statistics.median(turnaround), 2),
                        "longest_days": round(max(turnaround), 2)}
                       if turnaround else {"answered": 0, "median_days": None,
                                           "longest_days": None})

    undelivered: dict[str, dict] = {}
    for m in store.undelivered():
        entry = undelivered.setdefault(m.platform, {"platform": m.platform, "count": 0,
                                                    "max_attempts": 0, "last_error": None})
        entry["count"] += 1
        entry["max_attempts"] = max(entry["max_attempts"], m.attempts)
        entry["last_error"] = m.last_error or entry["last_error"]
    undeliverable = [{"id": m.id, "platform": m.platform, "recipient": m.recipient,
                      "kind": m.kind, "ticket_id": m.ticket_id, "error": m.last_error,
                      "given_up_at": iso(m.given_up_at) if m.given_up_at else None}
                     for m in store.given_up()]

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
        "question_groups": groups,
        "most_declined_or_escalated": unresolved,
        "passages_not_helpful": passages,
        "most_cited": most_cited,
        "by_week": by_week,
        "low_confidence_answers": low,
        "answers_citing_superseded": superseded,
        "faq_entries": faq,
        "taught_questions": taught,
        "tickets_by_status": by_status,
        "tickets_waiting": waiting,
        "ticket_turnaround": turnaround_days,
        "undelivered_messages": list(undelivered.values()),
        "undeliverable_messages": undeliverable,
        "possible_duplicates": store.unknown_outcomes(),
        "unanswered_recorded": store.pending_incoming(),
        "monitoring_officers_reachable": desk.reachable_mos(),
        "refused_attempts": dict(Counter(e.actor for e in refusals)),
        "recent_knowledge_changes": changes,
    }


CSV_COLUMNS = ("question", "rewordings", "asked", "answered", "declined", "escalated",
               "helpful", "not_helpful", "first_cited", "tickets", "first_asked", "last_asked")


def render_csv(report: dict) -> str:
    """One row per question group, with a header row (for the Standards Committee). It starts
    with a byte-order mark, so Excel reads it as UTF-8 (curly quotes, accents)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for g in report["question_groups"]:
        row = {**g, "rewordings": " | ".join(g["rewordings"]),
               "first_cited": " | ".join(g["first_cited"]), "tickets": " ".join(g["tickets"])}
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value):
    # A spreadsheet runs a cell that starts with = + - @ as a formula: never from a question.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _more(rows: list, shown: int) -> list[str]:
    return [f"  ... and {len(rows) - shown} more (--json or --csv lists them all)"] \
        if len(rows) > shown else []


def render(report: dict) -> str:
    q = report["questions"]
    period = f"last {report['period_days']} days" if report["period_days"] else (
        f"the question log keeps {report['retention_days']} days")
    lines = [f"protocol-bot report, {report['generated_at']} ({period})", "",
             f"Questions: {q['logged']} asked, {q['answered']} answered, {q['declined']} declined; "
             f"feedback {q['helpful']} helpful, {q['not_helpful']} not helpful.", "",
             "Questions declined or escalated most (rewordings grouped):"]
    unresolved = report["most_declined_or_escalated"]
    for g in unresolved[:TOP]:
        lines.append(f"  {g['declined'] + g['escalated']:>3}  {g['question']}  "
                     f"(declined {g['declined']}, escalated {g['escalated']}"
                     + (f"; {', '.join(g['tickets'])}" if g["tickets"] else "") + ")")
        lines += [f"         also asked as: {w}" for w in g["rewordings"][1:4]]
    lines += _more(unresolved, TOP) if unresolved else ["  none"]
    lines += ["", "Passages marked not helpful:"]
    lines += [f"  {p['not_helpful']:>3}  {p['label']}  (helpful {p['helpful']})"
              for p in report["passages_not_helpful"][:TOP]] or ["  none"]
    lines += _more(report["passages_not_helpful"], TOP)
    lines += ["", "Most cited passages:"]
    lines += [f"  {p['cited']:>3}  {p['label']}  (first citation {p['cited_first']})"
              for p in report["most_cited"][:TOP]] or ["  none"]
    lines += _more(report["most_cited"], TOP)
    lines += ["", "Week by week:   asked answered declined escalated not-helpful"]
    lines += [f"  {w['week']}  {w['asked']:>7} {w['answered']:>8} {w['declined']:>8} "
              f"{w['escalated']:>9} {w['not_helpful']:>11}" for w in report["by_week"]] \
        or ["  none"]
    lines += ["", f"Low-confidence answers (the passage covers under {LOW_COVERAGE:.0%} of the "
                  "question):"]
    lines += [f"  {r['coverage']:.2f}  {r['question']}  -> {r['cited']}"
              for r in report["low_confidence_answers"][:TOP]] or ["  none"]
    lines += _more(report["low_confidence_answers"], TOP)
    lines += ["", "Answers citing superseded material:"]
    lines += [f"  {r['at'][:10]}  {r['question']}  -> {'; '.join(r['cited'])}"
              for r in report["answers_citing_superseded"][:TOP]] or ["  none"]
    lines += _more(report["answers_citing_superseded"], TOP)
    lines += ["", "FAQ answers:"]
    lines += [f"  {e['id']}  {e['status']:<9} used {e['used']:>3}  {e['question']}"
              for e in report["faq_entries"]] or ["  none"]
    lines += ["", "Taught questions:"]
    lines += [f"  #{t['id']:<4} {'undone' if t['undone'] else 'in use':<7} used {t['used']:>3}  "
              f"{t['question']}  -> {t['passage']}" for t in report["taught_questions"]] \
        or ["  none"]
    lines += ["", "Tickets by status:"]
    lines += [f"  {s['status']:<9}{s['count']:>4}" + (f"  oldest {s['oldest_days']} days"
                                                     if s["oldest_days"] is not None else "")
              for s in report["tickets_by_status"]]
    turnaround = report["ticket_turnaround"]
    if turnaround["answered"]:
        lines.append(f"  answered in: median {turnaround['median_days']} days, longest "
                     f"{turnaround['longest_days']} days ({turnaround['answered']} tickets)")
    if report["tickets_waiting"]:
        lines += ["", "Waiting for an answer:"]
        lines += [f"  {t['id']}  {t['status']:<9} {t['age_days']:>6} days"
                  + (f"  with {t['assignee']}" if t["assignee"] else "")
                  + f"  {t['question'] if len(t['question']) <= 100 else t['question'][:99] + '…'}"
                  for t in report["tickets_waiting"]]
    if report["undelivered_messages"]:
        lines += ["", "Messages not yet delivered:"]
        lines += [f"  {u['platform']}: {u['count']} (up to {u['max_attempts']} failed attempts"
                  + (f"; last error: {u['last_error']}" if u["last_error"] else "") + ")"
                  for u in report["undelivered_messages"]]
    if report["undeliverable_messages"]:
        lines += ["", "Messages that could not be delivered at all:"]
        lines += [f"  {m['given_up_at'] or ''}  {m['platform']} to {m['recipient']}  "
                  f"{m['kind']}" + (f" ({m['ticket_id']})" if m["ticket_id"] else "")
                  + (f": {m['error']}" if m["error"] else "")
                  for m in report["undeliverable_messages"]]
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


def log_rows(desk: Desk, *, days: int | None = None, declined: bool = False,
             not_helpful: bool = False) -> list[dict]:
    """The question log for `log show`: newest first, refs labelled with document and edition."""
    store = desk.store
    since = store.now() - days * DAY_SECONDS if days else 0.0
    kn = Knowledge(desk)
    feedback: dict[int, list[bool]] = defaultdict(list)
    for f in store.feedback_entries(since):
        if f.log_id is not None:
            feedback[f.log_id].append(f.helpful)
    rows = []
    for q in reversed(store.logged_questions(since)):
        if (declined and q.answered) or (not_helpful and q.helpful is not False):
            continue
        rows.append({"id": q.id, "at": iso(q.at), "question": q.question,
                     "answered": q.answered, "cited": [kn.label(r) for r in q.refs],
                     "refs": [kn.key_of(r) for r in q.refs], "asker": q.asker,
                     "helpful": q.helpful})
    return rows


def render_log(rows: list[dict]) -> str:
    if not rows:
        return "No questions in the log for this period."
    lines = []
    for r in rows:
        mark = "answered" if r["answered"] else "DECLINED"
        feedback = {True: "  [helpful]", False: "  [not helpful]"}.get(r["helpful"], "")
        lines.append(f"#{r['id']:<5} {r['at']}  {mark}{feedback}  {r['question']}")
        if r["cited"]:
            lines.append(f"        -> {r['cited'][0]}" + (f" (+{len(r['cited']) - 1} more)"
                                                          if len(r["cited"]) > 1 else ""))
    lines.append("")
    lines.append("Teach the bot a declined question: protocol-bot kb teach --log ID "
                 "--ref DOCUMENT_ID:REF --as PLATFORM:USER")
    return "\n".join(lines)
