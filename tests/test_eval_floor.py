"""A floor under answer quality on the repository's evaluation set (figures: `protocol-bot eval`)."""

from pathlib import Path

from protocol_bot.evaluation import evaluate, load_eval_set

EVAL = Path(__file__).resolve().parent.parent / "eval"


def test_eval_sets_are_big_enough():
    assert len(load_eval_set(EVAL / "answerable.yaml")) >= 60
    assert len(load_eval_set(EVAL / "out_of_scope.yaml")) >= 20


def test_quality_does_not_fall_below_the_floor(answerer):
    report = evaluate(answerer, load_eval_set(EVAL / "answerable.yaml"),
                      load_eval_set(EVAL / "out_of_scope.yaml"))
    figures = report.figures()
    assert figures["hit@3"] >= 0.85, report.misses()
    assert figures["hit@1"] >= 0.70, report.misses()
    assert figures["answered"] >= 0.93, report.misses()
    assert figures["declined"] >= 0.90, report.misses()
