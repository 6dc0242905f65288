"""The shipped knowledge base is faithful to its sources, and broken edits are reported precisely."""

from __future__ import annotations

import re
import textwrap

import pytest
from protocol_bot.cli import main
from protocol_bot.knowledge import KnowledgeError, load_knowledge
from protocol_bot.models import KINDS

from .conftest import SOURCES

_MARKUP = re.compile(r"\*\*|</?b>|^#+\s*|^\s*[-•]\s+|^-{3,}\s*$", re.M)
_SPACE = re.compile(r"\s+")


def flatten(text: str) -> str:
    return _SPACE.sub(" ", _MARKUP.sub("", text)).strip()


def test_every_source_has_a_knowledge_file(shipped_kb):
    sources = {d.source for d in shipped_kb.documents.values()}
    assert {p.name for p in SOURCES.glob("*.txt")} <= sources


def test_documents_carry_their_provenance(shipped_kb):
    for doc in shipped_kb.documents.values():
        assert doc.kind in KINDS and doc.title and doc.publisher and doc.edition
    protocol = shipped_kb.documents["mor-protocol-2026"]
    assert protocol.kind == "protocol" and protocol.review.year == 2027
    assert shipped_kb.superseded() == {"lga-workbook-2012": "lga-workbook-2024"} | (
        {"mor-protocol-2025": "mor-protocol-2026"} if "mor-protocol-2025" in shipped_kb.documents else {})


@pytest.mark.skipif(not SOURCES.is_dir(), reason="shared/sources is not beside the checkout")
def test_passages_quote_their_sources_word_for_word(shipped_kb):
    """Cleaning may drop bullets and line breaks; wording is never changed (tables excepted)."""
    sources = {}
    for doc in shipped_kb.documents.values():
        if doc.source:
            sources[doc.id] = flatten((SOURCES / doc.source).read_text(encoding="utf-8"))
    unfaithful = []
    for p in shipped_kb.passages:
        if p.document_id not in sources:
            continue
        source = sources[p.document_id]
        if p.type == "table":
            # A table is re-laid as sentences; each of its words must still come from the source.
            missing = {w for w in re.findall(r"[A-Za-z]{4,}", p.text) if w.lower() not in source.lower()}
            if missing:
                unfaithful.append(f"{p.key}: {sorted(missing)[:5]}")
        elif flatten(p.text) not in source:
            unfaithful.append(p.key)
    assert unfaithful == []


def test_passages_fit_a_chat_bubble(shipped_kb):
    too_long = [p.key for p in shipped_kb.passages if len(p.text.split()) > 330]
    assert too_long == []


def test_exercises_are_marked(shipped_kb):
    exercises = {p.ref for p in shipped_kb.passages if p.type == "exercise"}
    assert any(r.startswith("Challenge 5") for r in exercises)
    assert any(r.startswith("Exercise") for r in exercises)
    appendix = [p for p in shipped_kb.passages if p.ref.startswith("Appendix A")]
    assert appendix and all(p.type != "exercise" for p in appendix)


def write(directory, name, text):
    (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")


GOOD_DOC = """\
    document:
      id: test-doc
      title: Test protocol
      publisher: Test Council
      kind: protocol
      edition: "1"
      adopted: 2026-01-01
      review: 2027-01-01
    passages:
      - ref: "1.1"
        heading: Intro
        type: clause
        text: Councillors and officers work together.
"""


def problems_for(tmp_path, text):
    write(tmp_path, "doc.yaml", text)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(tmp_path)
    return info.value.problems


def test_a_good_file_loads(tmp_path):
    write(tmp_path, "doc.yaml", GOOD_DOC)
    kb = load_knowledge(tmp_path)
    assert [p.ref for p in kb.passages] == ["1.1"]


@pytest.mark.parametrize("change, line, field, words", [
    (("        text: Councillors and officers work together.\n", "        text: ''\n"),
     13, "text", "has no text"),
    (("      kind: protocol\n", "      kind: policy\n"), 5, "document.kind", "not one of"),
    (("      review: 2027-01-01\n", "      review: March 2027\n"), 8, "document.review", "not a date"),
    (("        type: clause\n", "        type: clause\n    txet: oops\n"), 13, "txet", "not a passage field"),
    (("        heading: Intro\n", "        heading: Intro: more\n    oops\n"), 0, "", "not valid YAML"),
])
def test_problems_name_file_line_and_field(tmp_path, change, line, field, words):
    text = textwrap.dedent(GOOD_DOC).replace(change[0][4:], change[1][4:])
    problems = problems_for(tmp_path, text)
    assert len(problems) >= 1
    p = problems[0]
    assert p.file.endswith("doc.yaml") and words in p.message
    assert p.field == field
    if line:
        assert p.line == line
    else:
        assert p.line > 0


def test_duplicate_refs_and_ids_are_reported(tmp_path):
    doc = textwrap.dedent(GOOD_DOC)
    write(tmp_path, "a.yaml", doc + "  - ref: \"1.1\"\n    heading: Again\n    type: clause\n    text: Twice.\n")
    write(tmp_path, "b.yaml", doc)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(tmp_path)
    messages = " ".join(str(p) for p in info.value.problems)
    assert "ref '1.1' is used twice" in messages
    assert "document id 'test-doc' is already used" in messages


def test_kb_check_command_reports_and_fails(tmp_path, capsys):
    write(tmp_path, "doc.yaml", textwrap.dedent(GOOD_DOC).replace("kind: protocol", "kind: rule"))
    assert main(["kb", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "doc.yaml, line 5 (document.kind)" in out and "1 problem" in out
    write(tmp_path, "doc.yaml", textwrap.dedent(GOOD_DOC))
    assert main(["kb", "check", str(tmp_path)]) == 0


def test_kb_check_passes_on_the_shipped_base(capsys):
    assert main(["kb", "check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_synonyms_file_is_validated(tmp_path):
    write(tmp_path, "doc.yaml", GOOD_DOC)
    write(tmp_path, "synonyms.yaml", "same:\n  - [lonely]\nrelated:\n  - means: x\n")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(tmp_path)
    fields = {p.field for p in info.value.problems}
    assert fields == {"same[1]", "related[1]"}


def test_shipped_synonyms_parse(shipped_kb):
    groups = {g[0]: g for g in shipped_kb.synonyms.same}
    assert "MO" in groups["monitoring officer"]
