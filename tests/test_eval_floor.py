"""A floor under answer quality on the repository's evaluation sets (figures: `protocol-bot eval`).

Every pair here is a training set (README, "Quality"): its answerable questions are hints
(eval/attach_examples.py) and the decision is fitted on it, so the answerable figures are near
one by construction. The floors guard against regressions; they do not measure how the bot does
on new questions.
"""

from pathlib import Path

import pytest

from protocol_bot.answering import Answerer
from protocol_bot.evaluation import evaluate, load_eval_set, without_hints

EVAL = Path(__file__).resolve().parent.parent / "eval"

# (answerable file, out-of-scope file, floors) - a little under the measured figures.
SETS = [
    ("answerable.yaml", "out_of_scope.yaml",
     {"hit@3": 0.97, "hit@1": 0.95, "answered": 0.97, "declined": 0.86}),
    ("blind.yaml", "blind_out_of_scope.yaml",
     {"hit@3": 0.95, "hit@1": 0.93, "answered": 0.93, "declined": 0.80}),
    ("tune_answerable.yaml", "tune_out_of_scope.yaml",
     {"hit@3": 0.91, "hit@1": 0.90, "answered": 0.93, "declined": 0.93}),
    ("train_answerable.yaml", "train_out_of_scope.yaml",
     {"hit@3": 0.94, "hit@1": 0.93, "answered": 0.97, "declined": 0.83}),
    ("heldout_answerable.yaml", "heldout_out_of_scope.yaml",
     {"hit@3": 0.90, "hit@1": 0.89, "answered": 0.95, "declined": 0.86}),
    ("untouched_answerable.yaml", "untouched_out_of_scope.yaml",
     {"hit@3": 0.90, "hit@1": 0.88, "answered": 0.95, "declined": 0.84}),
    ("untouched2_answerable.yaml", "untouched2_out_of_scope.yaml",
     {"hit@3": 0.92, "hit@1": 0.90, "answered": 0.96, "declined": 0.77}),
    ("untouched3_answerable.yaml", "untouched3_out_of_scope.yaml",
     {"hit@3": 0.94, "hit@1": 0.92, "answered": 0.95, "declined": 0.83}),
]
# With every `questions:` hint removed (`protocol-bot eval --no-hints`).
NO_HINTS = [
    ("answerable.yaml", "out_of_scope.yaml", {"hit@3": 0.75, "hit@1": 0.53}),
    ("tune_answerable.yaml", "tune_out_of_scope.yaml", {"hit@3": 0.52, "hit@1": 0.33}),
]


def test_eval_sets_are_big_enough():
    assert len(load_eval_set(EVAL / "answerable.yaml")) >= 60
    assert len(load_eval_set(EVAL / "out_of_scope.yaml")) >= 20


@pytest.mark.parametrize("answerable, out_of_scope, floors", SETS)
def test_quality_does_not_fall_below_the_floor(answerer, answerable, out_of_scope, floors):
    report = evaluate(answerer, load_eval_set(EVAL / answerable), load_eval_set(EVAL / out_of_scope))
    figures = report.figures()
    for measure, floor in floors.items():
        assert figures[measure] >= floor, f"{measure} {figures[measure]} < {floor}\n{report.misses()}"


@pytest.fixture(scope="module")
def hintless(shipped_kb):
    return Answerer(without_hints(shipped_kb))


@pytest.mark.parametrize("answerable, out_of_scope, floors", NO_HINTS)
def test_quality_without_hints_does_not_fall_below_the_floor(hintless, answerable, out_of_scope, floors):
    report = evaluate(hintless, load_eval_set(EVAL / answerable), load_eval_set(EVAL / out_of_scope))
    figures = report.figures()
    for measure, floor in floors.items():
        assert figures[measure] >= floor, f"{measure} {figures[measure]} < {floor}"
