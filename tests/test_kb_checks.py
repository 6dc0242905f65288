"""kb check and the loader: an emptied file, a document without passages and two current editions
are refused; a wrong `supersedes`, a lapsed review date and an off-topic word in a passage are
warned about."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from protocol_bot.cli import main
from protocol_bot.knowledge import KnowledgeError, knowledge_warnings, load_knowledge
from protocol_bot.live import LiveKnowledge

PROTOCOL = """\
    document:
      id: {id}
      title: Test protocol
      publisher: Test Council
      kind: protocol
      edition: "{edition}"
      adopted: {adopted}
      review: {review}
    {extra}
    passages:
      - ref: "1.1"
        heading: Intro
        type: clause
        text: Councillors and officers work together in edition {edition}.
"""


def protocol(tmp_path, name="p2026.yaml", id="p-2026", edition="2026", adopted="2026-03-01",
             review="2099-03-31", extra=""):
    text = textwrap.dedent(PROTOCOL).format(id=id, edition=edition, adopted=adopted,
                                            review=review, extra=extra)
    (tmp_path / name).write_text(text, encoding="utf-8")


def problems(tmp_path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(tmp_path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_an_emptied_file_is_refused(tmp_path, capsys, content):
    protocol(tmp_path)
    (tmp_path / "guidance.yaml").write_text(content, encoding="utf-8")
    found = problems(tmp_path)
    assert len(found) == 1 and "guidance.yaml" in found[0] and "is empty" in found[0]
    assert main(["kb", "check", str(tmp_path)]) == 1
    assert "is empty" in capsys.readouterr().out


def test_the_running_bot_keeps_its_protocol_when_a_file_is_emptied(tmp_path):
    protocol(tmp_path)
    live = LiveKnowledge(tmp_path)
    (tmp_path / "p2026.yaml").write_text("", encoding="utf-8")
    refused = live.reload()
    assert refused and "is empty" in str(refused[0])
    assert [p.ref for p in live.answerer.kb.passages] == ["1.1"]


def test_a_document_without_passages_is_refused(tmp_path):
    protocol(tmp_path)
    (tmp_path / "other.yaml").write_text(textwrap.dedent("""\
        document: {id: other, title: Other, publisher: C, kind: guidance, edition: "1"}
        passages: []
        """), encoding="utf-8")
    assert any("other.yaml" in p and "at least one passage" in p for p in problems(tmp_path))


def test_two_current_editions_of_one_document_are_refused(tmp_path, capsys):
    protocol(tmp_path)
    # The 2027 edition names the wrong predecessor: both would be in force.
    protocol(tmp_path, "p2027.yaml", "p-2027", "2027", "2027-03-01", extra="  supersedes: p-2025")
    found = problems(tmp_path)
    assert any("both current editions" in p and "supersedes: p-2026" in p for p in found)
    protocol(tmp_path, "p2027.yaml", "p-2027", "2027", "2027-03-01", extra="  supersedes: p-2026")
    kb = load_knowledge(tmp_path)
    assert kb.superseded() == {"p-2026": "p-2027"}
    # superseded_by on the old edition says the same thing
    protocol(tmp_path, "p2027.yaml", "p-2027", "2027", "2027-03-01")
    protocol(tmp_path, extra="  superseded_by: p-2027")
    assert "p-2027" in load_knowledge(tmp_path).documents


def test_warnings_wrong_link_lapsed_review_and_off_topic_word(tmp_path, capsys):
    protocol(tmp_path, review="2026-01-31", extra="  supersedes: p-2025")
    (tmp_path / "synonyms.yaml").write_text("off_topic: [parking, edition]\n", encoding="utf-8")
    kb = load_knowledge(tmp_path)
    warnings = [str(w) for w in knowledge_warnings(kb, today=dt.date(2026, 11, 30))]
    assert any("supersedes 'p-2025'" in w and "not a document" in w for w in warnings)
    assert any("due for review by 31 January 2026" in w and "no newer edition" in w
               for w in warnings)
    assert any("off-topic word(s) also occur" in w and "'edition' (p-2026#1.1)" in w
               for w in warnings)
    assert not any("parking" in w for w in warnings)
    assert main(["kb", "check", str(tmp_path)]) == 0  # warnings do not fail the check
    out = capsys.readouterr().out
    assert "3 warnings" in out and "supersedes 'p-2025'" in out


def test_a_replaced_protocol_past_its_review_date_is_not_warned_about(tmp_path):
    protocol(tmp_path, review="2026-01-31")
    protocol(tmp_path, "p2027.yaml", "p-2027", "2027", "2027-03-01", extra="  supersedes: p-2026")
    warnings = knowledge_warnings(load_knowledge(tmp_path), today=dt.date(2026, 11, 30))
    assert not any("review" in str(w) for w in warnings)
