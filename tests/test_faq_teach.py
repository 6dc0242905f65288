"""Issue 12: FAQ entries the MO controls (in the store), teaching the bot from real questions,
and the report: through Conversation.handle and the Desk on real SQLite files, and the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading

import pytest
import yaml

from protocol_bot.conversation import Incoming, Place
from protocol_bot.desk import Desk, DeskError, taught_hints
from protocol_bot.faq import FAQ_FILE
from protocol_bot.live import LiveKnowledge
from protocol_bot.models import Asker
from protocol_bot.report import build_report, group_questions
from protocol_bot.sqlite_store import SqliteStore
from tests.conversation_support import make_conversation

MO = "slack:UMO"
OTHER_MO = "slack:UMO2"
ASKER = Asker("slack", "U1", "Cllr Jones")
LEAFLETS = "Can I ask an officer to deliver my leaflets?"
# Declined by the shipped knowledge; clause 3.2 (officers' workloads and pressures, no undue
# pressure) is among the passages the bot considered, and answers it.
WEEKEND = "can I phone an officer at home late in the evening?"
RIGHT_CLAUSE = "mor-protocol-2026#3.2"


def _faq_passages(knowledge_dir) -> dict:
    path = knowledge_dir / FAQ_FILE
    if not path.exists():
        return {}
    return {p["ref"]: p for p in yaml.safe_load(path.read_text())["passages"]}


def _faq_cited(answer) -> list[str]:
    return [c.ref for c in answer.citations if c.document_id == "mo-faq"]


@pytest.fixture
def db(tmp_path):
    return tmp_path / "bot.db"


def _desk(db, knowledge_dir, live=None) -> Desk:
    store = SqliteStore(db)
    return Desk(store, live, frozenset({MO, OTHER_MO, "cli:mo"}), knowledge_dir=knowledge_dir)


# --- FAQ entries ---------------------------------------------------------------------------------

def test_store_contract_for_faq_entries_and_taught_questions(store_factory):
    """What every store (SQLite and PostgreSQL) must do for FaqEntries and Teaching."""
    from protocol_bot.store import EntryNotFound, InvalidTransition

    store = store_factory.make()
    ticket, _ = store.open_ticket(asker=ASKER, question=LEAFLETS, idempotency_key="k")
    entry = {"question": LEAFLETS, "variants": ["v1", LEAFLETS], "text": "No.",
             "related": ["mor-protocol-2026#2.3"], "author": MO}
    store.update_ticket(ticket.id, actor=MO, event="answered", status="answered",
                        allowed_from=("open",), faq_entry=entry)
    [saved] = store.faq_entries()
    assert (saved.id, saved.variants, saved.text, saved.related, saved.status) == (
        ticket.id, ("v1",), "No.", ("mor-protocol-2026#2.3",), "live")
    # A change that is not allowed changes no FAQ entry either (same transaction).
    with pytest.raises(InvalidTransition):
        store.update_ticket(ticket.id, actor=OTHER_MO, event="answered", status="answered",
                            allowed_from=("open",), faq_entry={**entry, "text": "Yes."})
    assert store.faq_entries()[0].text == "No."
    store.update_ticket(ticket.id, actor=MO, event="reopened", status="open",
                        allowed_from=("answered",), withdraw_faq=True)
    assert store.faq_entries() == [] and store.faq_entries(True)[0].status == "withdrawn"
    store.update_ticket(ticket.id, actor=MO, event="answered", status="answered",
                        faq_entry={**entry, "variants": ["v2"], "text": "Still no."})
    [again] = store.faq_entries()
    assert again.variants == ("v1", "v2") and again.text == "Still no."  # variants kept
    assert store.change_faq(ticket.id, text="Edited.").text == "Edited."
    assert store.change_faq(ticket.id, status="withdrawn").status == "withdrawn"
    with pytest.raises(EntryNotFound):
        store.change_faq("MO-0099", status="withdrawn")

    taught, created = store.teach(question="q?", passage_key="d#1", actor=MO, source="cli")
    assert created and store.teach(question="q?", passage_key="d#1", actor=MO,
                                   source="cli") == (taught, False)
    assert store.taught_questions() == [taught]
    undone = store.undo_teaching(taught.id, actor=OTHER_MO)
    assert undone.undone_by == OTHER_MO and undone.undone_at is not None
    assert store.taught_questions() == [] and store.taught_questions(True) == [undone]
    assert store.teach(question="q?", passage_key="d#1", actor=MO, source="cli")[1] is True
    with pytest.raises(EntryNotFound):
        store.undo_teaching(999, actor=MO)
    store.close()


def test_faq_race_the_refused_answer_is_never_published(db, knowledge_copy):
    """Two MOs answer one ticket at once with Save as FAQ, each through its own connection to
    one SQLite file: one is refused, and the FAQ published is always the one that was sent."""
    opener = _desk(db, knowledge_copy)
    for round_ in range(6):
        ticket, _ = opener.escalate(ASKER, f"{LEAFLETS} (round {round_})",
                                    idempotency_key=f"k{round_}")
        desks = [_desk(db, knowledge_copy) for _ in range(2)]
        start = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def answer(desk, mo, text):
            start.wait()
            try:
                desk.answer(ticket.id, mo, text, save_faq=True)
                outcome[mo] = "sent"
            except DeskError as exc:
                outcome[mo] = f"refused: {exc}"

        threads = [threading.Thread(target=answer, args=(d, mo, f"Answer by {mo}."))
                   for d, mo in zip(desks, (MO, OTHER_MO))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent = [mo for mo, what in outcome.items() if what == "sent"]
        assert len(sent) == 1, outcome
        stored = opener.store.get_ticket(ticket.id)
        assert stored.answer == f"Answer by {sent[0]}."
        published = _faq_passages(knowledge_copy)[ticket.id]
        assert published["text"] == f"Answer by {sent[0]}." and published["author"] == sent[0]
        for d in desks:
            d.store.close()


def test_reopening_withdraws_the_faq_until_answered_again_and_keeps_the_variants(
        db, knowledge_copy):
    live = LiveKnowledge(knowledge_copy)
    desk = _desk(db, knowledge_copy, live)
    ticket, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="m1",
                              bot_refs=("mor-protocol-2026#2.3",))
    desk.answer(ticket.id, MO, "No: officers must not deliver political leaflets.",
                save_faq=True, faq_questions=["Will officers hand out my ward leaflets?"])
    assert _faq_cited(live.ask(LEAFLETS)) == [ticket.id]
    [entry] = desk.store.faq_entries()
    assert entry.related == ("mor-protocol-2026#2.3",)  # the clauses the bot had cited

    desk.reopen(ticket.id, MO)
    assert desk.store.faq_entries() == []
    assert desk.store.faq_entries(include_withdrawn=True)[0].status == "withdrawn"
    assert ticket.id not in _faq_passages(knowledge_copy)
    assert _faq_cited(live.ask(LEAFLETS)) == []  # the running bot no longer answers from it
    assert desk.store.get_ticket(ticket.id).events[-1]["faq"] == "withdrawn"

    desk.answer(ticket.id, MO, "Correction: no, officers may not deliver any leaflets.",
                save_faq=True, faq_questions=["Can staff post my flyers?"])
    published = _faq_passages(knowledge_copy)[ticket.id]
    assert published["questions"] == [LEAFLETS, "Will officers hand out my ward leaflets?",
                                       "Can staff post my flyers?"]
    assert published["text"] == "no, officers may not deliver any leaflets."  # no "Correction:"
    assert published["related"] == ["mor-protocol-2026#2.3"]
    assert _faq_cited(live.ask("Can staff post my flyers?")) == [ticket.id]


def test_public_faq_text_is_separate_from_the_reply_and_editable(db, knowledge_copy):
    desk = _desk(db, knowledge_copy)
    ticket, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    desk.answer(ticket.id, MO, "Dear Cllr Jones, no - and thank you for checking first.",
                save_faq=True, faq_text="No: officers must not deliver political leaflets.")
    assert desk.store.get_ticket(ticket.id).answer.startswith("Dear Cllr Jones")
    assert _faq_passages(knowledge_copy)[ticket.id]["text"] == (
        "No: officers must not deliver political leaflets.")
    desk.faq_edit(ticket.id, MO, "No. Clause 2.3: officers do no party-political work.")
    assert _faq_passages(knowledge_copy)[ticket.id]["text"].startswith("No. Clause 2.3")
    assert desk.store.get_ticket(ticket.id).answer.startswith("Dear Cllr Jones")
    assert desk.store.audit_entries("kb.faq_edit")[0].actor == MO


def test_a_hand_edit_of_the_faq_file_is_taken_in_not_overwritten(db, knowledge_copy):
    desk = _desk(db, knowledge_copy)
    first, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    desk.answer(first.id, MO, "No.", save_faq=True)
    path = knowledge_copy / FAQ_FILE
    data = yaml.safe_load(path.read_text())
    data["passages"][0]["text"] = "No. (Edited by hand: see clause 2.3.)"
    data["passages"].append({"ref": "by-hand", "heading": "Parking at the town hall",
                             "type": "faq", "questions": ["Where do councillors park?"],
                             "text": "In the members' car park."})
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    second, _ = desk.escalate(ASKER, "Can an officer chair my ward surgery?",
                              idempotency_key="m2")
    desk.answer(second.id, MO, "No.", save_faq=True)
    published = _faq_passages(knowledge_copy)
    assert published[first.id]["text"] == "No. (Edited by hand: see clause 2.3.)"
    assert published["by-hand"]["text"] == "In the members' car park."
    assert second.id in published
    assert desk.store.faq_entries()[0].text == "No. (Edited by hand: see clause 2.3.)"
    assert desk.store.audit_entries("kb.faq_hand_edit")

    # An entry deleted by hand is withdrawn, not put back.
    data = yaml.safe_load(path.read_text())
    data["passages"] = [p for p in data["passages"] if p["ref"] != first.id]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    desk.faq_publish(MO)
    assert first.id not in _faq_passages(knowledge_copy)
    assert [e.id for e in desk.store.faq_entries()] == [second.id]


def test_a_hand_edit_made_during_a_save_is_not_lost(db, knowledge_copy, monkeypatch):
    from protocol_bot import faq

    desk = _desk(db, knowledge_copy)
    first, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    desk.answer(first.id, MO, "No.", save_faq=True)
    path = knowledge_copy / FAQ_FILE
    validate = faq._validate_with
    calls = []

    def edit_while_validating(directory, text):
        validate(directory, text)
        calls.append(text)
        if len(calls) == 2:  # 1: the check before the commit; 2: the write after it
            data = yaml.safe_load(path.read_text())  # the MO saves a hand edit meanwhile
            data["passages"][0]["text"] = "No: edited by hand during the save."
            path.write_text(yaml.safe_dump(data, sort_keys=False))

    monkeypatch.setattr(faq, "_validate_with", edit_while_validating)
    second, _ = desk.escalate(ASKER, "Can an officer chair my ward surgery?",
                              idempotency_key="m2")
    desk.answer(second.id, MO, "No.", save_faq=True)
    published = _faq_passages(knowledge_copy)
    assert published[first.id]["text"] == "No: edited by hand during the save."
    assert second.id in published
    assert len(calls) == 3  # it started again with the edit taken in


def test_an_faq_file_from_an_earlier_version_is_taken_into_the_store(db, knowledge_copy):
    desk = _desk(db, knowledge_copy)
    old, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    desk.answer(old.id, MO, "No.")
    (knowledge_copy / "faq").mkdir(exist_ok=True)
    (knowledge_copy / FAQ_FILE).write_text(yaml.safe_dump({
        "document": {"id": "mo-faq", "title": "Monitoring Officer's answers",
                     "publisher": "The Borough Council", "kind": "faq", "edition": "live"},
        "passages": [{"ref": old.id, "heading": LEAFLETS, "type": "faq",
                      "questions": [LEAFLETS, "Will officers hand out leaflets?"],
                      "text": "No, never.", "author": MO, "related": ["2.3"]}]}))
    desk.reopen(old.id, MO)  # reopening withdraws it, as for an entry saved today
    [entry] = desk.store.faq_entries(include_withdrawn=True)
    assert (entry.id, entry.status, entry.variants) == (
        old.id, "withdrawn", ("Will officers hand out leaflets?",))
    assert not (knowledge_copy / FAQ_FILE).exists()


def test_an_unreadable_faq_file_is_never_overwritten(db, knowledge_copy):
    desk = _desk(db, knowledge_copy)
    first, _ = desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    desk.answer(first.id, MO, "No.", save_faq=True)
    path = knowledge_copy / FAQ_FILE
    broken = path.read_text() + "\n  - ref: [unclosed\n"
    path.write_text(broken)
    second, _ = desk.escalate(ASKER, "Can an officer chair my ward surgery?",
                              idempotency_key="m2")
    with pytest.raises(DeskError, match="cannot be read"):
        desk.answer(second.id, MO, "No.", save_faq=True)
    assert path.read_text() == broken
    assert desk.store.get_ticket(second.id).status == "open"  # try again once it is fixed


def test_faq_list_and_withdraw_from_the_ticket_card(knowledge_copy):
    conversation = make_conversation(mos=(MO,), knowledge_dir=knowledge_copy)
    mo = Incoming(asker=Asker("slack", "UMO"), place=Place(is_private=True))
    ticket, _ = conversation.desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    conversation.desk.answer(ticket.id, MO, "No.", save_faq=True)
    card = conversation.ticket_card(conversation.desk.show(ticket.id, MO))
    assert "faq_withdraw" in card.offers  # its FAQ answer is live

    [listed] = conversation.handle(Incoming(asker=mo.asker, place=mo.place, action="faq_list"))
    assert ticket.id in listed.text and "live" in listed.text
    said, card = conversation.handle(Incoming(asker=mo.asker, place=mo.place,
                                              action="faq_withdraw", data={"ticket": ticket.id}))
    assert "withdrawn" in said.text and card.kind == "ticket_card"
    assert "faq_withdraw" not in card.offers and "faq_list" in card.offers
    assert _faq_cited(conversation.knowledge.ask(LEAFLETS)) == []
    [refused] = conversation.handle(Incoming(asker=ASKER, place=mo.place,
                                             action="faq_withdraw", data={"ticket": ticket.id}))
    assert refused.kind == "refused"
    [missing] = conversation.handle(Incoming(asker=mo.asker, place=mo.place,
                                             action="untaught", data={"taught": 99}))
    assert missing.kind == "error" and "99" in missing.text


# --- teaching --------------------------------------------------------------------------------------

def test_this_answers_it_on_a_declined_question_teaches_the_bot_and_can_be_undone(
        knowledge_copy):
    conversation = make_conversation(mos=(MO,), knowledge_dir=knowledge_copy)
    asker = Incoming(asker=ASKER, place=Place(is_private=True), text=WEEKEND)
    [declined] = conversation.handle(asker)
    assert not declined.answer.answered
    [opened] = conversation.handle(Incoming(asker=ASKER, place=asker.place, action="escalate",
                                            data={"question": WEEKEND, "key": "e1"}))
    ticket = opened.ticket
    mo = Incoming(asker=Asker("slack", "UMO"), place=Place(is_private=True), action="ticket",
                  data={"ticket": ticket.id})
    [card] = conversation.handle(mo)
    assert RIGHT_CLAUSE in [key for key, _ in card.considered]
    assert dict(card.considered)[RIGHT_CLAUSE] == (
        "Member/Officer Relations Protocol (2026), clause 3.2")

    # Someone who is not an MO cannot teach.
    [refused] = conversation.handle(Incoming(asker=ASKER, place=asker.place, action="teach",
                                             data={"ticket": ticket.id, "key": RIGHT_CLAUSE}))
    assert refused.kind == "refused"

    [taught] = conversation.handle(Incoming(asker=mo.asker, place=mo.place, action="teach",
                                            data={"ticket": ticket.id, "key": RIGHT_CLAUSE}))
    assert taught.kind == "taught" and "clause 3.2" in taught.text
    [answer] = conversation.handle(Incoming(asker=ASKER, place=asker.place, text=WEEKEND))
    assert answer.answer.answered
    assert (answer.answer.citations[0].document_id, answer.answer.citations[0].ref) == (
        "mor-protocol-2026", "3.2")
    audit = conversation.desk.store.audit_entries("kb.teach")[0]
    assert audit.actor == MO and audit.target == RIGHT_CLAUSE
    [used] = build_report(conversation.desk)["taught_questions"]
    assert used["used"] == 1 and used["passage"].endswith("clause 3.2")

    [undone] = conversation.handle(Incoming(asker=mo.asker, place=mo.place, action="untaught",
                                            data={"taught": taught.taught_id}))
    assert "no longer" in undone.text
    assert not conversation.knowledge.ask(WEEKEND).answered
    assert conversation.desk.store.audit_entries("kb.untaught")[0].actor == MO


def test_teaching_an_unknown_passage_is_refused(knowledge_copy):
    conversation = make_conversation(mos=(MO,), knowledge_dir=knowledge_copy)
    with pytest.raises(DeskError, match="no passage"):
        conversation.desk.teach(WEEKEND, "mor-protocol-2026:99.9", MO)


# --- the CLI ---------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path, knowledge_copy):
    env = {**os.environ, "PROTOCOL_BOT_DB": str(tmp_path / "bot.db"),
           "PROTOCOL_BOT_MONITORING_OFFICERS": "cli:mo",
           "PROTOCOL_BOT_KNOWLEDGE": str(knowledge_copy)}
    env.pop("PROTOCOL_BOT_DEBUG", None)
    return env


def cli(env, *argv, stdin=None):
    return subprocess.run([sys.executable, "-m", "protocol_bot.cli", *argv], env=env,
                          capture_output=True, text=True, input=stdin, timeout=120)


def test_cli_teach_a_declined_question_from_the_log_then_undo(cli_env, knowledge_copy):
    # The bot declined the question today (logged), then the MO teaches it from the log.
    store = SqliteStore(cli_env["PROTOCOL_BOT_DB"])
    conversation = make_conversation(mos=("cli:mo",), knowledge_dir=knowledge_copy, store=store)
    [declined] = conversation.handle(Incoming(asker=ASKER, place=Place(), text=WEEKEND))
    assert not declined.answer.answered
    store.close()

    shown = cli(cli_env, "log", "show", "--declined", "--days", "1", "--as", "cli:mo", "--json")
    assert shown.returncode == 0, shown.stderr
    [row] = json.loads(shown.stdout)
    assert row["question"] == WEEKEND and row["answered"] is False
    assert cli(cli_env, "log", "show").returncode == 3  # question text: MOs only

    taught = cli(cli_env, "kb", "teach", "--log", str(row["id"]), "--ref",
                 "mor-protocol-2026:3.2", "--as", "cli:mo", "--json")
    assert taught.returncode == 0, taught.stderr
    taught_id = json.loads(taught.stdout)["id"]
    asked = cli(cli_env, "ask", "--json", WEEKEND)
    answer = json.loads(asked.stdout)
    assert answer["answered"] and answer["citations"][0]["ref"] == "3.2"
    # ... and a running bot's index has it (it reloads on the request `kb teach` leaves).
    live = LiveKnowledge(knowledge_copy, hints=lambda: taught_hints(
        SqliteStore(cli_env["PROTOCOL_BOT_DB"])))
    assert live.ask(WEEKEND).citations[0].ref == "3.2"
    assert (knowledge_copy / ".reload-requested").exists()

    assert cli(cli_env, "kb", "teach", "--undo", str(taught_id), "--as", "cli:mo").returncode == 0
    assert not json.loads(cli(cli_env, "ask", "--json", WEEKEND).stdout)["answered"]
    assert cli(cli_env, "kb", "teach", "--undo", "999", "--as", "cli:mo").returncode == 4
    assert cli(cli_env, "kb", "teach", WEEKEND, "--ref", "nope:1", "--as",
               "cli:mo").returncode == 5
    assert cli(cli_env, "kb", "teach", WEEKEND, "--as", "cli:mo").returncode == 2  # no --ref
    assert cli(cli_env, "kb", "teach", WEEKEND, "--ref", "mor-protocol-2026:3.2",
               "--as", "slack:USOMEONE").returncode == 3


def test_cli_faq_list_withdraw_and_exit_statuses(cli_env, knowledge_copy):
    opened = cli(cli_env, "tickets", "open", "--asker", "slack:U1", "--json", LEAFLETS)
    ticket_id = json.loads(opened.stdout)["id"]
    answered = cli(cli_env, "tickets", "answer", ticket_id, "--as", "cli:mo", "--text",
                   "Dear Cllr, no.", "--save-faq", "--faq-text", "No: clause 2.3.")
    assert answered.returncode == 0, answered.stderr
    listed = json.loads(cli(cli_env, "faq", "list", "--as", "cli:mo", "--json").stdout)
    assert [(e["id"], e["status"], e["text"]) for e in listed] == [
        (ticket_id, "live", "No: clause 2.3.")]
    assert cli(cli_env, "faq", "list").returncode == 3
    assert cli(cli_env, "faq", "withdraw", "MO-0042", "--as", "cli:mo").returncode == 4
    withdrawn = cli(cli_env, "faq", "withdraw", ticket_id, "--as", "cli:mo")
    assert withdrawn.returncode == 0 and "withdrawn" in withdrawn.stdout
    assert not (knowledge_copy / FAQ_FILE).exists()
    assert cli(cli_env, "faq", "withdraw", ticket_id, "--as", "cli:mo").returncode == 5
    assert cli(cli_env, "faq", "restore", ticket_id, "--as", "cli:mo").returncode == 0
    assert ticket_id in _faq_passages(knowledge_copy)


# --- the report ------------------------------------------------------------------------------------

def test_rewordings_are_grouped_by_meaning_not_by_spelling():
    from tests.conversation_support import shipped_knowledge

    analyzer = shipped_knowledge().answerer.analyzer
    questions = ["Can I ask an officer to deliver my leaflets?",
                 "can officers deliver leaflets for me",
                 "Could an officer deliver my leaflet?",
                 "What time does the recycling centre open?",
                 "When does the recycling centre open",
                 "Can I be friends with an officer?"]
    groups = group_questions(questions, lambda q: frozenset(analyzer.terms(q)))
    assert groups == [[0, 1, 2], [3, 4], [5]]


def test_grouping_does_not_drift_along_a_chain_of_small_changes():
    words = {"a": "w1 w2 w3 w4", "b": "w1 w2 w3 w5", "c": "w1 w2 w5 w6", "d": "w1 w5 w6 w7"}
    groups = group_questions(list(words), lambda q: frozenset(words[q].split()))
    # b is like a (3 of 5 words); c is like b but not like a; d is like c only
    assert groups == [[0, 1], [2, 3]]


def test_report_and_csv_one_row_per_question_group(cli_env, knowledge_copy):
    store = SqliteStore(cli_env["PROTOCOL_BOT_DB"])
    conversation = make_conversation(mos=("cli:mo",), knowledge_dir=knowledge_copy, store=store)
    place = Place()
    for text in ("What time does the recycling centre open?",
                 "when does the recycling centre open", WEEKEND,
                 "Can I ask an officer to help with party political work?",
                 "=can officers help with party political work?"):
        conversation.handle(Incoming(asker=ASKER, place=place, text=text))
    conversation.handle(Incoming(asker=ASKER, place=place, action="escalate",
                                 data={"question": WEEKEND, "key": "e1"}))
    report = build_report(conversation.desk)
    groups = {g["question"]: g for g in report["question_groups"]}
    recycling = next(g for g in report["question_groups"] if "recycling" in g["question"].lower())
    assert recycling["asked"] == 2 and recycling["declined"] == 2
    assert len(recycling["rewordings"]) == 2
    assert groups[WEEKEND]["escalated"] == 1 and groups[WEEKEND]["declined"] == 1
    cited = [p["label"] for p in report["most_cited"]]
    assert "Member/Officer Relations Protocol (2026), clause 2.3" in cited
    assert report["by_week"] and report["by_week"][0]["asked"] == 5
    assert report["tickets_waiting"][0]["question"] == WEEKEND
    store.close()

    out = cli(cli_env, "report", "--csv", "--as", "cli:mo")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("\ufeffquestion,rewordings,asked,")  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(out.stdout.removeprefix("\ufeff"))))
    assert len(rows) == len(report["question_groups"]) == 3  # recycling, weekend, party work
    assert {r["question"] for r in rows} >= {WEEKEND}
    party = next(r for r in rows if "party political" in r["question"])
    assert party["asked"] == "2" and "clause 2.3" in party["first_cited"]
    assert not any(r["rewordings"].startswith("=") for r in rows)  # no formula injection
    assert cli(cli_env, "report", "--csv").returncode == 3
    text = cli(cli_env, "report", "--as", "cli:mo").stdout
    assert "Member/Officer Relations Protocol (2026), clause 2.3" in text
    assert "Week by week" in text and WEEKEND in text


def test_report_flags_low_confidence_and_superseded_answers_and_counts_faq_use():
    from protocol_bot.models import Answer, Citation, Escalation
    from tests.conversation_support import shipped_knowledge

    desk = Desk(SqliteStore(":memory:"), shipped_knowledge(), frozenset({MO}))

    def logged(question, *keys):
        cites = tuple(Citation(k.split("#")[0], "", "", k.split("#")[1], "", "", 1.0)
                      for k in keys)
        desk.record_question(None, Answer(question, True, "lead", cites,
                                          Escalation(True, "available")))

    logged("Can I ask an officer to help with party political work?", "mor-protocol-2026#2.3")
    logged("Are tea and biscuits provided at committee meetings?", "mor-protocol-2026#2.3")
    logged("What is a workbook foreword for?", "lga-workbook-2012#Foreword (1)")
    report = build_report(desk)
    low = [r["question"] for r in report["low_confidence_answers"]]
    assert low == ["Are tea and biscuits provided at committee meetings?"]
    [old] = report["answers_citing_superseded"]
    assert old["cited"] == ["Effective member and officer relations: Councillor workbook "
                            "(2012, superseded by 2024), Foreword (1)"]
    assert report["most_cited"][0]["label"] == (
        "Member/Officer Relations Protocol (2026), clause 2.3")


def test_cli_teach_from_a_ticket_shown_with_the_passages_considered(cli_env):
    opened = cli(cli_env, "tickets", "open", "--asker", "slack:U1", "--json", WEEKEND)
    ticket_id = json.loads(opened.stdout)["id"]
    shown = cli(cli_env, "tickets", "show", ticket_id, "--as", "cli:mo")
    assert "mor-protocol-2026:3.2  Member/Officer Relations Protocol (2026), clause 3.2" \
        in shown.stdout
    taught = cli(cli_env, "kb", "teach", "--ticket", ticket_id, "--ref", "mor-protocol-2026:3.2",
                 "--as", "cli:mo")
    assert taught.returncode == 0 and "Taught #1" in taught.stdout
    again = cli(cli_env, "kb", "teach", "--ticket", ticket_id, "--ref",
                "mor-protocol-2026:3.2", "--as", "cli:mo")
    assert again.returncode == 0 and "Already taught #1" in again.stdout
    answer = json.loads(cli(cli_env, "ask", "--json", WEEKEND).stdout)
    assert answer["citations"][0]["ref"] == "3.2"


def test_other_ways_of_asking_come_as_typed_one_a_line(knowledge_copy):
    conversation = make_conversation(mos=(MO,), knowledge_dir=knowledge_copy)
    ticket, _ = conversation.desk.escalate(ASKER, LEAFLETS, idempotency_key="m1")
    mo = Asker("slack", "UMO")
    conversation.handle(Incoming(asker=mo, place=Place(is_private=True), action="answer", data={
        "ticket": ticket.id, "text": "No.", "save_faq": True,
        "faq_questions": "  Can staff post my flyers?\n\nWill officers hand out leaflets?  \n"}))
    assert _faq_passages(knowledge_copy)[ticket.id]["questions"] == [
        LEAFLETS, "Can staff post my flyers?", "Will officers hand out leaflets?"]
