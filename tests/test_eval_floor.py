"""A floor under answer quality on the repository's evaluation sets (figures: `protocol-bot eval`).

All four pairs were tuned or fitted on (README, "Quality"): the floors guard against regressions, they do
not measure how the bot does on new questions.
"""

from pathlib import Path

import pytest

from protocol_bot.answering import Answerer
from protocol_bot.evaluation import evaluate, load_eval_set, without_hints

EVAL = Path(__file__).resolve().parent.parent / "eval"

# (answerable file, out-of-scope file, floors) - a little under the measured figures in the README.
SETS = [
    ("answerable.yaml", "out_of_scope.yaml",
     {"hit@3": 0.93, "hit@1": 0.85, "answered": 0.95, "declined": 0.86}),
    ("blind.yaml", "blind_out_of_scope.yaml",
     {"hit@3": 0.93, "hit@1": 0.80, "answered": 0.95, "declined": 0.92}),
    # answered 0.85 -> 0.82 on purpose: fitted with the training pair too, the decision declines
    # more (on the tune set, fitted without it: declined 0.897 -> 0.955, answered 0.819 -> 0.794).
    ("tune_answerable.yaml", "tune_out_of_scope.yaml",
     {"hit@3": 0.66, "hit@1": 0.50, "answered": 0.82, "declined": 0.92}),
    ("train_answerable.yaml", "train_out_of_scope.yaml",
     {"hit@3": 0.72, "hit@1": 0.52, "answered": 0.88, "declined": 0.81}),
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
