"""Answers quote and cite the right clause, prefer the protocol, and decline what they cannot answer."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from protocol_bot.analyzer import Analyzer
from protocol_bot.answering import MAX_QUESTION_CHARS, Answerer, EmptyQuestion
from protocol_bot.knowledge import Synonyms, load_knowledge


def test_party_political_help_cites_clause_2_3(answerer):
    answer = answerer.answer("Can I ask an officer to help with party political work?")
    assert answer.answered
    first = answer.citations[0]
    assert (first.document_id, first.ref) == ("mor-protocol-2026", "2.3")
    assert "must not ask them to undertake work of a party-political nature" in first.text
    assert "Member/Officer Relations Protocol" in answer.lead and "2.3" in answer.lead
    assert "party-political nature" in answer.lead  # the short answer is the clause's own words
    assert answer.escalation.offered and not answer.escalation.prominent


def test_off_topic_question_is_declined_with_the_mo_offered(answerer):
    answer = answerer.answer("What time does the recycling centre open?")
    assert not answer.answered
    assert answer.citations == ()
    assert "couldn't find this in the protocol" in answer.lead
    assert answer.escalation.offered and answer.escalation.prominent
    assert answer.escalation.reason == "not_found"


@pytest.mark.parametrize("question", ["hello", "tell me a joke", "What is the capital of France?",
                                      "how do I pay my council tax?", "hi, how's your day going?"])
def test_chit_chat_and_services_are_declined(answerer, question):
    assert not answerer.answer(question).answered


def test_lead_sentence_is_quoted_from_the_first_citation(answerer):
    answer = answerer.answer("what can officers expect from councillors?")
    quoted = answer.lead.split("\u201c", 1)[1].rstrip("\u201d")
    assert quoted.removesuffix(" ...") in answer.citations[0].text


def test_every_citation_is_a_passage_word_for_word(answerer, shipped_kb):
    texts = {(p.document_id, p.ref): p.text for p in shipped_kb.passages}
    for question in ["who is the monitoring officer?", "can I be friends with an officer?",
                     "what are the nolan principles?", "what happens when things go wrong?"]:
        for c in answerer.answer(question).citations:
            assert texts[(c.document_id, c.ref)] == c.text


def test_exercises_are_not_answers_unless_asked_about(answerer):
    for question in ["how do we tackle anti-social behaviour together?",
                     "what would be bullying by a councillor?"]:
        assert all(c.type != "exercise" for c in answerer.answer(question).citations)
    asked = answerer.ranked_citations("what is challenge 5 in the workbook about?")
    assert any(c.type == "exercise" and c.ref.startswith("Challenge 5") for c in asked)


def test_sensitive_questions_suggest_speaking_to_the_mo_privately(answerer):
    answer = answerer.answer("a councillor is bullying me, how do I make a complaint?")
    assert answer.sensitive and answer.escalation.prominent
    assert "monitoring officer privately" in answer.lead
    refs = {(c.document_id, c.ref) for c in answer.citations}
    assert refs & {("mor-protocol-2026", "3.2"), ("mor-protocol-2026", "5.2")}


def test_review_date_passed_is_said(answerer):
    question = "Can I ask an officer to help with party political work?"
    assert answerer.answer(question, today=dt.date(2026, 11, 23)).notices == ()
    late = answerer.answer(question, today=dt.date(2027, 6, 1))
    assert any("review" in n and "31 March 2027" in n for n in late.notices)


def test_empty_question_is_refused(answerer):
    with pytest.raises(EmptyQuestion):
        answerer.answer("   \n ")


def test_huge_question_is_answered_from_its_start(answerer):
    question = "Can I ask an officer to help with party political work? " + "x " * 5000
    answer = answerer.answer(question)
    assert answer.truncated and len(answer.question) == MAX_QUESTION_CHARS
    assert any(str(MAX_QUESTION_CHARS) in n for n in answer.notices)


def test_same_text_in_two_editions_is_cited_once_from_the_current_one(answerer, shipped_kb):
    cited = answerer.ranked_citations("a commitment to the authority as a whole, not to an individual "
                                      "political group, a timely response to enquiries and complaints")
    editions = [c.document_id for c in cited if "timely response to enquiries" in c.text]
    assert "lga-workbook-2012" not in editions
    assert len(set(c.text for c in cited)) == len(cited)


def tiny_kb(tmp_path, passages: list[tuple[str, str]]):
    body = "".join(f"  - ref: \"{ref}\"\n    heading: H\n    type: clause\n    text: {text}\n"
                   for ref, text in passages)
    (tmp_path / "p.yaml").write_text(
        "document:\n  id: p\n  title: P\n  publisher: C\n  kind: protocol\n  edition: '1'\n"
        f"passages:\n{body}", encoding="utf-8")
    return load_knowledge(tmp_path)


def test_tiny_collections_still_score_positively(tmp_path):
    """rank-bm25's own idf gives a word in half of two documents a score of zero."""
    kb = tiny_kb(tmp_path, [("1", "Officers give impartial advice."), ("2", "Councillors set policy.")])
    answer = Answerer(kb).answer("do officers give impartial advice?")
    assert answer.answered and answer.citations[0].ref == "1" and answer.citations[0].score > 0


def test_analyzer_folds_spellings_sections_and_synonyms():
    analyzer = Analyzer(Synonyms(same=(("monitoring officer", "MO"), ("section 151 officer", "s151")),
                                 related=(("party political", ("leaflet",)),)))
    assert analyzer.terms("the MO") == analyzer.terms("the Monitoring Officers")
    assert analyzer.terms("s.151 officer") == analyzer.terms("Section 151 Officer")
    assert analyzer.terms("behavior favor organize") == analyzer.terms("behaviour favour organise")
    assert analyzer.terms("party-political") == analyzer.terms("party political")
    own, extra = analyzer.query_terms("my election leaflet")
    assert "leaflet" in own and extra == analyzer.terms("party political")


def run_cli(*args, stdin=None, env=None):
    import os
    import tempfile
    # The index cache goes to a throwaway folder, not the working directory.
    data = os.path.join(tempfile.gettempdir(), f"protocol-bot-test-data-{os.getpid()}")
    return subprocess.run([sys.executable, "-m", "protocol_bot.cli", *args], input=stdin,
                          capture_output=True, text=True,
                          env={**os.environ, "PROTOCOL_BOT_DATA": data, **(env or {})})


def test_cli_json_contract():
    out = run_cli("ask", "--json", "Can I ask an officer to help with party political work?")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"question", "answered", "lead", "citations", "escalation"}
    assert data["answered"] is True
    first = data["citations"][0]
    assert set(first) >= {"document_id", "document", "edition", "ref", "heading", "text", "score"}
    assert (first["ref"], first["edition"]) == ("2.3", "2026")
    assert data["escalation"] == {**data["escalation"], "offered": True}


def test_cli_json_lines_from_stdin_in_order():
    questions = ["Can I ask an officer to help with party political work?",
                 "What time does the recycling centre open?", "what does the monitoring officer do?"]
    out = run_cli("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert [r["answered"] for r in rows] == [True, False, True]


def test_cli_refuses_an_empty_question():
    out = run_cli("ask", "  ")
    assert out.returncode == 2 and "Please type a question" in out.stderr


def test_cli_uses_another_knowledge_base(tmp_path):
    tiny_kb(tmp_path, [("9.9", "Officers must wear hats on Fridays."), ("1", "Councillors set policy.")])
    out = run_cli("ask", "--json", "must officers wear hats?", env={"PROTOCOL_BOT_KNOWLEDGE": str(tmp_path)})
    assert json.loads(out.stdout)["citations"][0]["ref"] == "9.9"
    out = run_cli("ask", "--knowledge", str(tmp_path / "missing"), "hats?")
    assert out.returncode == 1 and "is not a folder" in out.stderr


def test_human_output_shows_clause_and_offer():
    out = run_cli("ask", "Can I ask an officer to help with party political work?")
    assert "clause 2.3" in out.stdout and "monitoring officer" in out.stdout
    assert "must not ask them" in out.stdout


def test_naming_the_old_edition_cites_it(answerer):
    cited = answerer.ranked_citations("what's exercise 5 in the 2012 member officer workbook?")
    assert cited[0].document_id == "lga-workbook-2012" and cited[0].ref.startswith("Exercise 5")


def test_a_greeting_before_a_real_question_is_no_obstacle(answerer):
    answer = answerer.answer("hello, what does the monitoring officer do?")
    assert answer.answered and answer.citations


def test_our_protocol_means_the_councils_protocol(answerer):
    answer = answerer.answer("what are councillors responsible for under our protocol?")
    assert answer.citations[0].document_id == "mor-protocol-2026"


def test_naming_a_document_looks_there_first(answerer):
    cited = answerer.ranked_citations("did the standards committee want the nolan principles in the protocol?")
    assert cited[0].document_id == "committee-report-2024"
    plain = answerer.ranked_citations("what are the nolan principles?")
    assert plain[0].document_id != "committee-report-2024"


def test_stopword_only_synonyms_are_kept_as_one_word():
    analyzer = Analyzer(Synonyms(same=(("us and them", "them and us", "us-and-them"),)))
    assert analyzer.terms("a culture of \u2018us\u2019 and \u2018them\u2019") == ["cultur", "usandthem"]
    assert analyzer.terms("a real us-and-them thing") == analyzer.terms("real them and us")
