"""`protocol-bot kb import`: Word, text and Markdown files become passages; a new edition is
previewed clause by clause and published; replaced clauses are never cited for a general question.

Every document here is written by the test (the .docx with python-docx, with a real table and
Word's own list numbering), not taken from the shipped sources.
"""

from __future__ import annotations

import hashlib
from datetime import date
import json
import textwrap
import time
from pathlib import Path

import pytest

from protocol_bot.answering import Answerer
from protocol_bot.cli import main
from protocol_bot.importing import parse
from protocol_bot.knowledge import load_knowledge
from protocol_bot.live import LiveKnowledge
from protocol_bot.sqlite_store import SqliteStore
from protocol_bot.watcher import KnowledgeWatcher

from .docx_maker import ProtocolDocx, numbers_in_text

TITLE = "Member/Officer Relations Protocol"
VERSION_HEADER = ["Version", "Date of Adoption", "Minute Reference", "Review Date",
                  "Originator/Reviewer"]
VERSIONS = [
    ["2020v1", "17.3.2020", "123-2020", "March 2021", "G White"],
    ["2021", "25.3.2021", "97-2021", "March 2022", "G White"],
    ["2022-03", "24.3.2022", "97-2022", "March 2023", "G White"],
    ["2023", "21.3.2023", "130-2023", "March 2024", "G White"],
    ["2024", "19.3.2024", "2024-104", "March 2025", "G White"],
    ["2025", "24.3.2025", "2025-110", "March 2026", "G White"],
    ["2026", "23.3.2026", "2026-101", "March 2027", "G White"],
    ["2027", "22.3.2027", "2027-099", "March 2028", "G White"],
]
NEW_2_3 = ("The Chairman and Vice-chairman of the Council and its Committees or Sub-committees "
           "have additional responsibilities. Such Councillors must at all times respect the "
           "political neutrality of Officers and must not ask them to undertake work of a "
           "party-political nature.")
NEW_5_3 = ("An Officer who is concerned about a Councillor's conduct should first speak to their "
           "line manager, who will involve the Monitoring Officer where appropriate.")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    db = tmp_path / "bot.db"
    monkeypatch.setenv("PROTOCOL_BOT_MONITORING_OFFICERS", "cli:mo,slack:UMO")
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(db))
    monkeypatch.delenv("PROTOCOL_BOT_KNOWLEDGE", raising=False)
    return db


def write_2027_protocol(path: Path, kb) -> Path:
    """The council's revised protocol as its MO writes it in Word: 2.3 reworded, 5.2 deleted (so
    Word renumbers 5.3 as 5.2), a new last clause, a row added to the version table."""
    doc = ProtocolDocx(TITLE)
    doc.table([VERSION_HEADER, *VERSIONS])
    sections: dict[str, list] = {}
    for p in kb.passages:
        if p.document_id == "mor-protocol-2026" and p.type == "clause":
            sections.setdefault(p.heading, []).append(p)
    for heading, passages in sections.items():
        doc.section(heading)
        for p in passages:
            if p.ref == "5.2":
                continue
            first, *rest = (NEW_2_3 if p.ref == "2.3" else p.text).split("\n")
            doc.clause(first)
            for line in rest:
                doc.bullet(line[2:]) if line.startswith("- ") else doc.paragraph(line)
        if heading == "When things go wrong":
            doc.clause(NEW_5_3)
    return doc.save(path)


def folder_digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(directory)).encode() + path.read_bytes())
    return h.hexdigest()


def run_json(capsys, *argv) -> tuple[int, dict]:
    status = main(["kb", "import", *argv, "--json"])
    out = capsys.readouterr().out
    return status, (json.loads(out) if out.strip() else {})


# --- reading files ----------------------------------------------------------------------------------

def test_word_numbering_headings_lists_and_a_real_table(tmp_path):
    doc = ProtocolDocx("Test Protocol")
    doc.heading("Version history")
    doc.table([["Version", "Date of Adoption", "Review Date"], ["1", "1.4.2026", "April 2027"],
               ["2", "1.4.2027", "April 2028"]])
    doc.section("Introduction")
    doc.clause("Councillors and officers work together.")
    doc.clause("Councillors can expect from Officers:")
    doc.bullet("A working partnership.")
    doc.bullet("Respect, dignity and courtesy.")
    doc.section("Conduct")
    doc.clause("Officers must not:")
    doc.item("be asked to canvass;")
    doc.item("be asked to deliver leaflets.")
    doc.clause("Any concern goes to the Monitoring Officer.")
    doc.paragraph("The Monitoring Officer will reply within ten days.")
    path = doc.save(tmp_path / "protocol.docx")
    # Word numbered these clauses: the numbers are not in the paragraphs' text.
    assert "Councillors and officers work together." in numbers_in_text(path)
    assert not any(t.startswith(("1.1", "2.1", "(a)")) for t in numbers_in_text(path))

    parsed = parse(path)
    assert parsed.title == "Test Protocol"
    assert parsed.refs == ["Version history", "1.1", "1.2", "2.1", "2.2"]
    by_ref = {p.ref: p for p in parsed.passages}
    assert by_ref["Version history"].type == "table"
    assert by_ref["Version history"].text.splitlines()[-1] == (
        "Version 2, date of adoption 1.4.2027, review date April 2028.")
    assert by_ref["1.2"].text == ("Councillors can expect from Officers:\n"
                                  "- A working partnership.\n- Respect, dignity and courtesy.")
    assert by_ref["1.2"].heading == "Introduction" and by_ref["2.1"].heading == "Conduct"
    assert by_ref["2.1"].text == ("Officers must not:\n(a) be asked to canvass;\n"
                                  "(b) be asked to deliver leaflets.")
    assert by_ref["2.2"].text == ("Any concern goes to the Monitoring Officer.\n"
                                  "The Monitoring Officer will reply within ten days.")


SOCIAL_MEDIA = """\
Social Media Guidance for Councillors

Introduction

1. This guidance helps Councillors use social media in their role without breaching the Code of Conduct.
2. It applies to Facebook, X, Instagram, TikTok, WhatsApp groups and any other online platform.

Your online presence

3. Keep a separate account for your council role where you can, and make clear which one is which.
4. Posts made in a private capacity can still be treated as made in your role as a Councillor if you appear to act as one.
5. Do not post anything that could be seen as bullying, harassment or intimidation of any person.

Officers online

6. Do not criticise named Officers on social media; raise concerns about an Officer's work with their manager or the Monitoring Officer.
7. Officers are politically restricted and cannot reply to political posts; do not tag them in campaign material.
8. Do not share confidential or exempt information you received as a Councillor, including screenshots of officer emails.

Elections and campaigning

9. During the pre-election period take particular care that council accounts are not used for campaigning:
- never ask the communications team to share your campaign posts;
- never use council logos on campaign material.
10. Report hacked accounts to the IT service desk at once.

When things go wrong

11. If you post something in error, delete it promptly and apologise where appropriate.
12. Complaints about a Councillor's posts are dealt with under the Code of Conduct by the Monitoring Officer.
13. Online abuse directed at you can be reported to the Monitoring Officer, who can help you involve the police.
14. This guidance will be reviewed every two years.
"""


def test_plain_text_guidance_paragraphs_become_passages(tmp_path):
    path = tmp_path / "social-media.txt"
    path.write_text(SOCIAL_MEDIA, encoding="utf-8")
    parsed = parse(path)
    assert parsed.title == "Social Media Guidance for Councillors"
    assert parsed.refs == [str(n) for n in range(1, 15)]
    by_ref = {p.ref: p for p in parsed.passages}
    assert by_ref["7"].heading == "Officers online"
    assert by_ref["9"].text.splitlines()[1:] == [
        "- never ask the communications team to share your campaign posts;",
        "- never use council logos on campaign material."]


def test_markdown_headings_lists_and_tables(tmp_path):
    path = tmp_path / "note.md"
    path.write_text(textwrap.dedent("""\
        # Briefing note on member enquiries

        ## Version history

        | Version | Date of adoption |
        |---|---|
        | 1 | 1.5.2026 |

        ## Enquiries

        1. Officers aim to answer a **member enquiry** within ten working days.
        2. Enquiries about casework go to the service's enquiries mailbox:
        - include the resident's address;
        - say whether the resident has agreed to their details being shared.
        """), encoding="utf-8")
    parsed = parse(path)
    assert parsed.refs == ["Version history", "1", "2"]
    by_ref = {p.ref: p for p in parsed.passages}
    assert by_ref["1"].text == "Officers aim to answer a member enquiry within ten working days."
    assert by_ref["2"].text.count("\n- ") == 2
    assert "Version 1, date of adoption 1.5.2026." in by_ref["Version history"].text


# --- a new edition of the protocol ------------------------------------------------------------------

def test_preview_of_a_new_edition_changes_nothing(tmp_path, knowledge_copy, shipped_kb, capsys,
                                                  settings):
    path = write_2027_protocol(tmp_path / "Protocol 2027.docx", shipped_kb)
    before = folder_digest(knowledge_copy)
    status, result = run_json(capsys, str(path), "--knowledge", str(knowledge_copy),
                              "--replaces", "mor-protocol-2026")
    assert status == 0
    assert folder_digest(knowledge_copy) == before
    assert result["published"] is False
    assert (result["document_id"], result["edition"], result["title"]) == (
        "mor-protocol-2027", "2027", TITLE)
    assert result["removed"] == ["5.2"] and result["added"] == ["5.3"]
    assert result["renumbered"] == {"5.2": "5.3"}
    assert set(result["changed"]) == {"Version history", "2.3"}
    assert result["hints_to_check"] == ["2.3"]
    assert result["passages"] == len(result["refs"]) == 16
    assert result["file"].endswith("member-officer-relations-protocol-2027.yaml")
    questions = {c["question"]: c for c in result["first_citation_changes"]}
    assert any(c["before"] == "mor-protocol-2026#5.2" for c in questions.values())

    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy),
                 "--replaces", "mor-protocol-2026"]) == 0
    text = capsys.readouterr().out
    assert "removed (1): 5.2" in text and "5.3 is now 5.2" in text
    assert "Dry run: nothing was changed" in text
    assert folder_digest(knowledge_copy) == before


def test_publishing_a_new_edition(tmp_path, knowledge_copy, shipped_kb, capsys, settings):
    path = write_2027_protocol(tmp_path / "protocol-2027.docx", shipped_kb)
    live = LiveKnowledge(knowledge_copy)
    watcher = KnowledgeWatcher(live, interval=60)
    status, result = run_json(capsys, str(path), "--knowledge", str(knowledge_copy),
                              "--replaces", "mor-protocol-2026", "--publish", "--as", "cli:mo")
    assert status == 0 and result["published"] is True
    new_file = knowledge_copy / "member-officer-relations-protocol-2027.yaml"
    assert Path(result["file"]) == new_file and new_file.exists()
    assert "superseded_by: mor-protocol-2027" in (
        knowledge_copy / "member-officer-relations-protocol-2026.yaml").read_text()
    assert main(["kb", "check", str(knowledge_copy)]) == 0
    capsys.readouterr()

    kb = load_knowledge(knowledge_copy)
    new = kb.documents["mor-protocol-2027"]
    assert (new.kind, new.publisher, new.supersedes) == ("protocol", "The Borough Council",
                                                         "mor-protocol-2026")
    assert (str(new.adopted), str(new.review)) == ("2027-03-22", "2028-03-31")
    assert "2026 protocol" not in new.aliases and "our protocol" in new.aliases
    hints = {p.ref: p.questions for p in kb.passages if p.document_id == "mor-protocol-2027"}
    old_hints = {p.ref: p.questions for p in shipped_kb.passages
                 if p.document_id == "mor-protocol-2026"}
    assert hints["1.1"] == old_hints["1.1"] and hints["5.2"] == old_hints["5.3"]
    assert hints["Version history"] == old_hints["Version history"]
    assert hints["2.3"] == () and hints["5.3"] == ()

    # Running bots pick it up at once (the watcher sees the new file and the reload request).
    assert watcher.check_once()
    assert "mor-protocol-2027" in live.answerer.kb.documents

    entries = SqliteStore(settings).audit_entries("kb.import")
    assert entries and entries[0].actor == "cli:mo"


@pytest.fixture
def published(tmp_path, knowledge_copy, shipped_kb, capsys, settings):
    path = write_2027_protocol(tmp_path / "protocol-2027.docx", shipped_kb)
    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy),
                 "--replaces", "mor-protocol-2026", "--publish", "--as", "cli:mo"]) == 0
    capsys.readouterr()
    return Answerer(load_knowledge(knowledge_copy))


def test_a_deleted_clause_is_never_cited_for_a_general_question(published):
    answer = published.answer("As an officer, how do I complain about a councillor?")
    assert all(c.document_id != "mor-protocol-2026" for c in answer.citations)
    assert "grievance policy and/or reporting" not in answer.lead


def test_the_old_wording_is_not_cited_under_the_new(published):
    answer = published.answer("Must a chairman respect the political neutrality of officers?")
    assert (answer.citations[0].document_id, answer.citations[0].ref) == ("mor-protocol-2027", "2.3")
    assert "political neutrality" in answer.lead
    assert all(c.document_id != "mor-protocol-2026" for c in answer.citations)
    answer = published.answer("Can the chairman ask an officer to do party political work?")
    assert answer.citations and all(c.document_id != "mor-protocol-2026" for c in answer.citations)
    assert all(c.document_id != "mor-protocol-2026" for c in answer.citations)


def test_no_general_evaluation_question_cites_the_replaced_edition(published):
    import yaml

    from .conftest import REPO

    for name in ("answerable.yaml", "blind.yaml", "out_of_scope.yaml"):
        for item in yaml.safe_load((REPO / "eval" / name).read_text()):
            question = item["question"]
            if "2026" in question:
                continue  # names the old edition
            cited = published.ranked_citations(question)
            assert all(c.document_id != "mor-protocol-2026" for c in cited), question


@pytest.mark.parametrize("question", [
    "What did the old protocol say about chairmen?",
    "What did the 2026 protocol say about chairmen?",
    "what did the previous protocol say about the chairman before it was changed?",
])
def test_naming_the_old_edition_cites_it_labelled(published, question):
    answer = published.answer(question)
    first = answer.citations[0]
    assert (first.document_id, first.ref) == ("mor-protocol-2026", "2.3")
    assert first.edition == "2026, replaced by 2027"
    assert first.label().startswith(f"{TITLE} (2026, replaced by 2027), clause 2.3")
    # Past the 2026 edition's review date: it is replaced, not "due for review".
    later = published.answer(question, today=date(2027, 6, 1))
    assert not any("2026) was due for review" in n for n in later.notices)


def test_which_version_is_current_is_answered_from_the_version_table(published):
    answer = published.answer("Which version of the protocol is current?")
    assert answer.answered
    first = answer.citations[0]
    assert (first.document_id, first.ref) == ("mor-protocol-2027", "Version history")
    assert "Version 2027, date of adoption 22.3.2027" in answer.lead


def test_superseded_guidance_is_still_cited_labelled(answerer):
    cited = answerer.ranked_citations("what's exercise 5 in the 2012 member officer workbook?")
    assert cited[0].document_id == "lga-workbook-2012"
    assert cited[0].edition == "2012, superseded by 2024"


# --- a new document ---------------------------------------------------------------------------------

def test_adding_a_plain_text_guidance(tmp_path, knowledge_copy, capsys, settings):
    path = tmp_path / "social-media-guidance.txt"
    path.write_text(SOCIAL_MEDIA, encoding="utf-8")
    args = [str(path), "--knowledge", str(knowledge_copy), "--id", "social-media-guidance-2026",
            "--title", "Social Media Guidance for Councillors", "--kind", "guidance",
            "--edition", "2026", "--adopted", "2026-06-01"]
    status, preview = run_json(capsys, *args)
    assert status == 0 and preview["published"] is False and preview["passages"] == 14
    assert not (knowledge_copy / "social-media-guidance-2026.yaml").exists()
    status, result = run_json(capsys, *args, "--publish", "--as", "slack:UMO")
    assert status == 0 and result["published"] is True
    assert result["refs"] == [str(n) for n in range(1, 15)] and result["removed"] == []
    kb = load_knowledge(knowledge_copy)
    doc = kb.documents["social-media-guidance-2026"]
    assert (doc.kind, doc.publisher, str(doc.adopted)) == ("guidance", "The Borough Council",
                                                           "2026-06-01")
    answerer = Answerer(kb)
    for question, ref in (("Can I use council logos on my campaign material?", "9"),
                          ("Can I criticise a named officer on social media?", "6")):
        first = answerer.answer(question).citations[0]
        assert (first.document_id, first.ref, first.label()) == (
            "social-media-guidance-2026", ref,
            f"Social Media Guidance for Councillors (2026), clause {ref}")


def test_publishing_needs_a_monitoring_officer(tmp_path, knowledge_copy, shipped_kb, capsys,
                                               settings):
    path = write_2027_protocol(tmp_path / "protocol-2027.docx", shipped_kb)
    before = folder_digest(knowledge_copy)
    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy), "--replaces",
                 "mor-protocol-2026", "--publish", "--as", "cli:someone"]) == 3
    assert "not a monitoring officer" in capsys.readouterr().err
    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy), "--replaces",
                 "mor-protocol-2026", "--publish"]) == 2
    assert folder_digest(knowledge_copy) == before
    refused = SqliteStore(settings).audit_entries("kb.import")
    assert refused and refused[0].outcome == "refused"


@pytest.mark.parametrize("name, content, words", [
    ("missing.docx", None, "no such file"),
    ("protocol.pdf", b"%PDF-1.4", "cannot import a '.pdf' file"),
    ("broken.docx", b"this is not a zip file", "is not a Word .docx file"),
    ("empty.txt", b"\n\n", "no text found"),
])
def test_bad_files_get_a_clear_message(tmp_path, knowledge_copy, capsys, settings, name, content,
                                       words):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy),
                 "--replaces", "mor-protocol-2026", "--edition", "2027"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and words in err and "Traceback" not in err


@pytest.mark.parametrize("argv, words", [
    (["--replaces", "no-such-doc", "--edition", "2027"], "no such document"),
    (["--replaces", "lga-workbook-2012", "--edition", "2030"], "already replaced"),
    (["--id", "x-doc"], "say what the file is"),
    (["--id", "x-doc", "--title", "X", "--kind", "rule"], "not one of"),
    (["--id", "mor-protocol-2026", "--title", "X", "--kind", "protocol"], "already in the knowledge"),
])
def test_bad_commands_exit_2(tmp_path, knowledge_copy, capsys, settings, argv, words):
    path = tmp_path / "guidance.txt"
    path.write_text(SOCIAL_MEDIA, encoding="utf-8")
    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy), *argv]) == 2
    assert words in capsys.readouterr().err


def test_a_forty_clause_protocol_imports_and_publishes_in_under_5_seconds(
        tmp_path, knowledge_copy, capsys, settings):
    doc = ProtocolDocx(TITLE)
    doc.table([VERSION_HEADER, *VERSIONS])
    topics = ["enquiries", "meetings", "reports", "briefings", "casework", "the press",
              "social media", "elections", "complaints", "training"]
    for section in range(8):
        doc.section(f"Part {section + 1} on {topics[section]}")
        for clause in range(5):
            doc.clause(f"Clause about {topics[(section + clause) % 10]} number {clause + 1}: "
                       f"Councillors and Officers should treat {topics[clause]} with care and "
                       "respect, and ask the Monitoring Officer when unsure.")
    path = doc.save(tmp_path / "protocol-2027.docx")
    started = time.perf_counter()
    status, result = run_json(capsys, str(path), "--knowledge", str(knowledge_copy),
                              "--replaces", "mor-protocol-2026", "--publish", "--as", "cli:mo")
    elapsed = time.perf_counter() - started
    assert status == 0 and result["published"] and result["passages"] == 41
    assert elapsed < 5.0, f"import and publish took {elapsed:.1f} s"


def test_word_file_with_typed_numbers_and_plain_bold_headings(tmp_path):
    """Not every council uses heading styles or automatic numbering: a bold line is a heading
    and a number typed at the start of a paragraph is its clause number."""
    import docx

    document = docx.Document()
    document.add_paragraph().add_run("Planning Protocol for Members").bold = True
    document.add_paragraph().add_run("Site visits").bold = True
    document.add_paragraph("4.4 Members on a site visit must not express a view on the application.")
    document.add_paragraph("4.5 Officers will explain the site and the proposal:")
    document.add_paragraph("(a) what the application is for;")
    document.add_paragraph("(b) which parts of the site matter.")
    document.add_paragraph("5. Lobbying of members should be reported to the Monitoring Officer.")
    path = tmp_path / "planning.docx"
    document.save(str(path))
    parsed = parse(path)
    assert parsed.title == "Planning Protocol for Members"
    assert parsed.refs == ["4.4", "4.5", "5"]
    by_ref = {p.ref: p for p in parsed.passages}
    assert by_ref["4.4"].heading == "Site visits"
    assert by_ref["4.4"].text == "Members on a site visit must not express a view on the application."
    assert by_ref["4.5"].text.endswith("(a) what the application is for;\n(b) which parts of the site matter.")


def test_lettered_paragraphs_are_passages_unless_a_clause_introduces_them(tmp_path):
    path = tmp_path / "gifts.txt"
    path.write_text(textwrap.dedent("""\
        Guidance on gifts

        Gifts and hospitality

        (a) Councillors must register gifts worth over 50 pounds within 28 days.
        (b) Officers must not accept gifts from councillors.

        Declarations

        4.4 A councillor with an interest must leave the meeting.
        (a) This applies to committees too.
        (b) It applies to briefings.
        4.5 Officers must say so:
        (a) in writing;
        (b) before the meeting.
        """), encoding="utf-8")
    parsed = parse(path)
    assert parsed.refs == ["(a)", "(b)", "4.4", "4.4(a)", "4.4(b)", "4.5"]
    assert parsed.passages[-1].text == "Officers must say so:\n(a) in writing;\n(b) before the meeting."


def test_nothing_is_written_when_the_result_would_not_load(tmp_path, knowledge_copy, capsys,
                                                           settings):
    """A 'new document' that is really a second current edition of the protocol is refused."""
    path = tmp_path / "protocol.txt"
    path.write_text("Introduction\n\n1.1 Councillors and Officers work together.\n",
                    encoding="utf-8")
    before = folder_digest(knowledge_copy)
    status, result = run_json(capsys, str(path), "--knowledge", str(knowledge_copy),
                              "--id", "mor-protocol-2027", "--title", TITLE, "--kind", "protocol",
                              "--edition", "2027", "--publish", "--as", "cli:mo")
    assert status == 1 and result["published"] is False
    assert any("both current editions" in p for p in result["problems"])
    assert folder_digest(knowledge_copy) == before


@pytest.mark.parametrize("parts, words", [
    ({"word/document.xml": "<w:document"}, "is damaged"),
    ({"content.xml": "<x/>"}, "is not a Word document"),
])
def test_damaged_word_files_get_a_clear_message(tmp_path, knowledge_copy, capsys, settings,
                                                parts, words):
    import zipfile

    path = tmp_path / "damaged.docx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    assert main(["kb", "import", str(path), "--knowledge", str(knowledge_copy),
                 "--replaces", "mor-protocol-2026", "--edition", "2027"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and words in err
