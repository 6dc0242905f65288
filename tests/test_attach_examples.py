"""eval/attach_examples.py: evaluation questions become hints of the passages that answer them."""

import shutil
import subprocess
import sys

import yaml

from protocol_bot.knowledge import load_knowledge

from .conftest import REPO


def test_a_question_is_attached_to_the_passage_holding_its_phrase_once(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    questions = tmp_path / "set.yaml"
    questions.write_text(yaml.safe_dump([
        {"question": "can my ward officer help with our party's leaflet?",
         "expect": ["must not ask them to undertake work of a party-political nature"]}]))
    run = [sys.executable, str(REPO / "eval" / "attach_examples.py"), str(questions),
           "--knowledge", str(knowledge)]
    for _ in range(2):  # the second run finds it there already
        subprocess.run(run, check=True, capture_output=True)
    kb = load_knowledge(knowledge)
    holding = [p for p in kb.passages if "can my ward officer help with our party's leaflet?" in p.questions]
    assert [p.key for p in holding] == ["mor-protocol-2026#2.3"]
    assert holding[0].questions.count("can my ward officer help with our party's leaflet?") == 1
    assert "# " in (knowledge / "member-officer-relations-protocol-2026.yaml").read_text()  # comments stay
