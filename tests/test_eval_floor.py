"""A floor under answer quality on the repository's evaluation sets (figures: `protocol-bot eval`)."""

from pathlib import Path

import pytest

from protocol_bot.evaluation import evaluate, load_eval_set

EVAL = Path(__file__).resolve().parent.parent / "eval"

# (answerable file, out-of-scope file, floors) - a little under the measured figures in the README.
SETS = [
    ("answerable.yaml", "out_of_scope.yaml",
     {"hit@3": 0.93, "hit@1": 0.85, "answered": 0.95, "declined": 0.90}),
    ("blind.yaml", "blind_out_of_scope.yaml",
     {"hit@3": 0.93, "hit@1": 0.80, "answered": 0.93, "declined": 0.92}),
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
