"""The answer decision, messages about the bot, long messages, misspellings, --explain, the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from protocol_bot import decision
from protocol_bot.about_bot import BotFacts
from protocol_bot.answering import Answerer, split_message
from protocol_bot.decision_fit import fit
from protocol_bot.evaluation import EvalQuestion, evaluate, without_hints
from protocol_bot.index_cache import data_dir, load_folder
from protocol_bot.knowledge import load_knowledge
from protocol_bot.live import LiveKnowledge


def run_cli(*args, env=None):
    import tempfile
    data = os.path.join(tempfile.gettempdir(), f"protocol-bot-test-data-{os.getpid()}")
    return subprocess.run([sys.executable, "-m", "protocol_bot.cli", *args], capture_output=True,
                          text=True, env={**os.environ, "PROTOCOL_BOT_DATA": data, **(env or {})})


@pytest.mark.parametrize("question", ["who built you?", "are you connected to the internet",
                                      "can you speak welsh", "how do I give feedback about your answers",
                                      "is this legal advice? can I quote you in a complaint?"])
def test_questions_about_the_bot_get_a_fixed_reply(answerer, question):
    answer = answerer.answer(question)
    assert answer.intent == "about_bot" and not answer.answered and answer.citations == ()
    assert answer.lead and answer.to_dict()["intent"] == "about_bot"


def test_privacy_replies_follow_the_deployment_settings(shipped_kb):
    quiet = Answerer(shipped_kb).answer("is this chat saved?")
    assert quiet.intent == "about_bot" and "90 days" in quiet.lead and "without your name" in quiet.lead
    logged = Answerer(shipped_kb, facts=BotFacts(log_retention_days=30, logs_identity=True))
    reply = logged.answer("can the MO see what I asked?").lead
    assert "30 days" in reply and "with your name" in reply
    assert "remember" in logged.answer("can you remember what I asked yesterday?").lead


def test_asking_for_the_mo_starts_the_escalation(answerer):
    answer = answerer.answer("please pass this on to the monitoring officer")
    assert answer.intent == "ask_mo" and not answer.answered
    assert "monitoring officer" in answer.lead and answer.escalation.prominent
    # A question about procedure is answered, not taken as a request.
    assert answerer.answer("should I raise it with the monitoring officer?").intent == "question"


def test_real_questions_are_not_taken_for_questions_about_the_bot(answerer):
    for question in ["what does the monitoring officer do?", "are you allowed to be friends with officers?",
                     "can officers see councillors' emails?", "what can you do if a councillor bullies you?",
                     "how do you deal with a rude councillor?", "what are you allowed to say to the press?",
                     "a councillor read the file on my desk while I was away"]:
        assert answerer.answer(question).intent == "question"


def test_thanks_is_declined_politely(answerer):
    answer = answerer.answer("thanks")
    assert not answer.answered and answer.intent == "question" and "welcome" in answer.lead


@pytest.mark.parametrize("question", ["what is the quorum of the planning committee?",
                                      "who won the by-election in the north ward?",
                                      "when is the next full council meeting?",
                                      "what's the phone number for our monitoring officer?",
                                      "write me a poem about councillors and officers"])
def test_council_business_and_facts_are_declined_without_any_list(tmp_path, knowledge_copy, question):
    synonyms = knowledge_copy / "synonyms.yaml"
    text = synonyms.read_text(encoding="utf-8")
    synonyms.write_text(text[:text.index("off_topic:")] + "off_topic: []\n", encoding="utf-8")
    assert not Answerer(load_knowledge(knowledge_copy)).answer(question).answered


def test_an_off_topic_entry_never_hides_a_passage_with_its_words(tmp_path):
    (tmp_path / "synonyms.yaml").write_text("off_topic: [council tax, parking]\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        "document:\n  id: p\n  title: P\n  publisher: C\n  kind: protocol\n  edition: '1'\n"
        "passages:\n"
        "  - ref: '1'\n    heading: Council tax\n    type: clause\n"
        "    text: Officers must not discuss a councillor's council tax arrears with other members.\n"
        "  - ref: '2'\n    heading: Policy\n    type: clause\n    text: Councillors set policy.\n",
        encoding="utf-8")
    answerer = Answerer(load_knowledge(tmp_path))
    answer = answerer.answer("can officers discuss a councillor's council tax arrears with members?")
    assert answer.answered and answer.citations[0].ref == "1"
    assert "off-topic" in answerer.explain("where can I find a parking space for policy meetings?")["decision"]


def test_the_question_inside_a_long_message_is_found():
    focus, context = split_message("I've been a councillor for a year. Officers are great. "
                                   "Can I ask one to help with my party leaflet?")
    assert focus == "Can I ask one to help with my party leaflet?" and "a year" in context
    assert split_message("what does the MO do?") == ("what does the MO do?", "")


def test_a_long_message_is_answered_from_its_question(answerer):
    answer = answerer.answer("Morning. I'm a new councillor and an officer in planning has been very "
                             "helpful. The election is coming up. Can I ask an officer to help with "
                             "party political work?")
    assert answer.answered
    assert (answer.citations[0].document_id, answer.citations[0].ref) == ("mor-protocol-2026", "2.3")


def test_misspelt_words_are_corrected_to_the_knowledge_bases(answerer):
    assert answerer.correct("protocl") == "protocol"
    assert answerer.correct("officr") == answerer.analyzer.terms("officer")[0]
    assert answerer.correct("quorum") == "quorum"  # a real word the base does not know stays
    answer = answerer.answer("wat can officers expect frm members acc to the protocl")
    assert answer.citations


def test_general_english_frequency_list():
    assert decision.zipf("offic") > 4 > decision.zipf("quorum") > 0
    assert decision.rarity("quorum") > decision.rarity("offic")
    assert decision.zipf("zzzqqq") == 0.0 and decision.rarity("zzzqqq") == 1.0


def test_explain_shows_features_decision_and_passages(answerer):
    e = answerer.explain("Can I ask an officer to help with party political work?")
    assert set(e["features"]) == set(decision.FEATURES)
    assert e["answered"] is True and 0 <= e["probability"] <= 1
    assert e["passages"][0]["passage"] == "mor-protocol-2026#2.3" and e["passages"][0]["cited"]
    assert answerer.explain("who built you?")["intent"] == "about_bot"


def test_cli_explain():
    out = run_cli("ask", "--explain", "what is the quorum of the planning committee?")
    assert out.returncode == 0, out.stderr
    assert "features" in out.stdout and "DECLINE" in out.stdout and "passages considered" in out.stdout
    data = json.loads(run_cli("ask", "--explain", "--json", "who built you?").stdout)
    assert data["intent"] == "about_bot"


def test_fit_separates_toy_data():
    x = np.asarray([[0.9], [0.8], [0.7], [0.2], [0.1], [0.3]])
    y = np.asarray([1.0, 1, 1, 0, 0, 0])
    w = fit(x, y)
    assert w[0] > 0 and (x[:, 0] * w[0] + w[1] > 0).tolist() == [True] * 3 + [False] * 3


def test_weights_file_names_every_feature():
    model = decision.Model.load()
    assert set(model.weights) == set(decision.FEATURES) and 0 < model.threshold < 1


def test_evaluation_counts_about_bot_by_intent_and_reports_categories(answerer):
    report = evaluate(answerer,
                      [EvalQuestion("Can I ask an officer to help with party political work?",
                                    ("party-political nature",), "short")],
                      [EvalQuestion("who built you?", (), "about-bot"),
                       EvalQuestion("how do I pay my council tax?", (), "services")])
    assert report.figures()["declined"] == 1.0 and report.figures()["hit@1"] == 1.0
    assert set(report.per_category()) == {"answerable: short", "out of scope: about-bot",
                                          "out of scope: services"}


def test_no_hints_removes_every_hint(shipped_kb):
    assert any(p.questions for p in shipped_kb.passages)
    assert not any(p.questions for p in without_hints(shipped_kb).passages)


def test_cli_eval_per_category_and_no_hints(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "- question: Can I ask an officer to help with party political work?\n"
        "  expect: [party-political nature]\n  category: short\n", encoding="utf-8")
    (tmp_path / "o.yaml").write_text("- question: who built you?\n  category: about-bot\n",
                                     encoding="utf-8")
    out = run_cli("eval", "--no-hints", "--json", "--answerable", str(tmp_path / "a.yaml"),
                  "--out-of-scope", str(tmp_path / "o.yaml"))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["declined"] == 1.0 and "out of scope: about-bot" in data["categories"]


def test_the_index_cache_is_used_and_survives_corruption(tmp_path, knowledge_copy):
    cache = tmp_path / "data"
    first = load_folder(knowledge_copy, directory=cache)
    files = list(cache.glob("kb-*.pickle"))
    assert len(files) == 1
    again = load_folder(knowledge_copy, directory=cache)
    question = "Can I ask an officer to help with party political work?"
    assert again.answer(question).citations == first.answer(question).citations
    files[0].write_bytes(b"not a pickle")
    assert load_folder(knowledge_copy, directory=cache).answer(question).answered
    # An edit to the knowledge changes the key: the old index is not used.
    (knowledge_copy / "synonyms.yaml").write_text(
        (knowledge_copy / "synonyms.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    load_folder(knowledge_copy, directory=cache)
    assert len(list(cache.glob("kb-*.pickle"))) == 2


def test_the_cache_is_never_written_into_the_knowledge_folder(knowledge_copy):
    load_folder(knowledge_copy, directory=knowledge_copy / "cache")
    assert not (knowledge_copy / "cache").exists()


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROTOCOL_BOT_DATA", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d" / "index-cache"
    monkeypatch.delenv("PROTOCOL_BOT_DATA")
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(tmp_path / "x" / "bot.db"))
    assert data_dir() == tmp_path / "x" / "protocol-bot-data" / "index-cache"


def test_live_knowledge_passes_the_facts_on(knowledge_copy):
    live = LiveKnowledge(knowledge_copy, facts=BotFacts(log_retention_days=7))
    assert "7 days" in live.ask("is this chat saved?").lead
    assert live.reload() == [] and live.answerer.facts.log_retention_days == 7


def test_cli_ask_reads_log_settings_and_caches_in_the_data_dir(tmp_path):
    env = {"PROTOCOL_BOT_DATA": str(tmp_path / "data"), "PROTOCOL_BOT_LOG_RETENTION_DAYS": "14"}
    out = run_cli("ask", "--json", "is this chat saved?", env=env)
    assert json.loads(out.stdout)["intent"] == "about_bot" and "14 days" in out.stdout
    assert not (tmp_path / "data").exists()  # asking creates nothing on a fresh install
    (tmp_path / "data").mkdir()  # once the bot has a data directory, asking caches there
    run_cli("ask", "--json", "is this chat saved?", env=env)
    assert list((tmp_path / "data" / "index-cache").glob("kb-*.pickle"))
