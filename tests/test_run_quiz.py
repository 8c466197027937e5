"""core.runs.run_quiz: questions made from a run's own epochs, checked against those numbers; ambiguous
data (ties, one epoch, disagreeing signals) leave a question out instead of grading a guess."""
import math

import pytest

from core.classroom.progress import ProgressStore, build_report
from core.content.lessons import load_lessons
from core.runs.run_quiz import (
    NOT_OVERFITTING,
    RUN_PREFIX,
    is_run_question,
    moved_most_question,
    overfitting_question,
    questions_for,
    val_loss_min_question,
)
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.events import EpochEnded

GROUPS = ("stem", "stage1", "stage2", "head")


def run(val_loss, train_loss=None, val_acc=None, train_acc=None, change=None):
    """Synthetic epochs as the engine reports them; weight change of the last epoch from `change`."""
    n = len(val_loss)
    train_loss = train_loss or [1.0 - 0.1 * i for i in range(n)]
    val_acc = val_acc or [0.5 + 0.04 * i for i in range(n)]
    train_acc = train_acc or [a + 0.02 for a in val_acc]
    change = change or {"stem": 0.0, "stage1": 0.0, "stage2": 0.02, "head": 0.4}
    return [EpochEnded(i + 1, n, train_loss[i], train_acc[i], val_loss[i], val_acc[i], 100, 1000,
                       ("stage2", "head"), {g: v * (i + 1) / n for g, v in change.items()}, {"head": 1e-3},
                       float(i), 100.0) for i in range(n)]


def by_kind(epochs):
    return {q.kind: q for q in questions_for(epochs)}


# ---- in which epoch did validation loss bottom out? -------------------------------------------------

def test_val_loss_minimum_is_the_epoch_with_the_lowest_validation_loss():
    q = val_loss_min_question(run([1.0, 0.6, 0.45, 0.5, 0.6, 0.7]))
    assert q.right_option == "Epoch 3" and q.check("Epoch 3") and not q.check("Epoch 4")
    assert set(q.options) == {"Epoch 1", "Epoch 2", "Epoch 3", "Epoch 4"}  # neighbours, then the run's ends
    assert "epoch 3 (0.45)" in q.explanation and "star" in q.explanation and q.chart == "Loss"


def test_val_loss_minimum_in_the_last_epoch_of_a_long_run():
    q = val_loss_min_question(run([2.0 - 0.1 * i for i in range(12)]))
    assert q.right_option == "Epoch 12" and len(q.options) == 4 and "Epoch 1" in q.options
    assert "still falling" in q.explanation


@pytest.mark.parametrize("losses", [[0.9], [1.0, 0.500, 0.503, 0.7], [0.5, 0.5, 0.5]])
def test_val_loss_minimum_skipped_for_one_epoch_or_a_tie(losses):
    assert val_loss_min_question(run(losses)) is None


def test_a_diverged_last_epoch_does_not_hide_the_minimum():
    q = val_loss_min_question(run([1.0, 0.7, 0.8, math.nan]))
    assert q.right_option == "Epoch 2" and "Epoch 4" not in q.options


# ---- which group's weights moved most? ----------------------------------------------------------------

def test_moved_most_is_the_group_with_the_largest_relative_change():
    q = moved_most_question(run([1.0, 0.8], change={"stem": 0.0, "stage1": 0.0, "stage2": 0.3, "head": 0.1}))
    assert q.right_option == "stage2"
    assert sorted(q.options) == sorted(GROUPS)
    assert "stage2 ends highest (0.3" in q.explanation and "(stem, stage1) stay at 0" in q.explanation


def test_moved_most_shows_the_top_movers_when_there_are_many_groups():
    change = {f"g{i}": 0.01 * i for i in range(8)}
    q = moved_most_question(run([1.0, 0.8], change=change))
    assert set(q.options) == {"g4", "g5", "g6", "g7"} and q.right_option == "g7"


@pytest.mark.parametrize("change", [{"stage2": 0.30, "head": 0.29}, {"stage2": 0.0, "head": 0.0}, {"head": 0.3}])
def test_moved_most_skipped_for_a_tie_nothing_moved_or_one_group(change):
    assert moved_most_question(run([1.0, 0.8], change=change)) is None


# ---- is this run overfitting, and from which epoch? ---------------------------------------------------

def test_overfitting_from_the_epoch_after_validation_loss_bottomed_out():
    q = overfitting_question(run([1.0, 0.6, 0.45, 0.5, 0.6, 0.7]))
    assert q.right_option == "Yes, from epoch 4" and NOT_OVERFITTING in q.options
    assert len(q.options) == 4 and "bottoms out in epoch 3" in q.explanation


def test_not_overfitting_while_validation_loss_still_falls():
    q = overfitting_question(run([1.0, 0.8, 0.6, 0.5]))
    assert q.right_option == NOT_OVERFITTING
    assert set(q.options) - {NOT_OVERFITTING} == {"Yes, from epoch 2", "Yes, from epoch 3", "Yes, from epoch 4"}


@pytest.mark.parametrize("kw", [
    dict(val_loss=[1.0, 0.6]),  # too short to see a turn
    dict(val_loss=[1.0, 0.6, 0.61, 0.62]),  # a plateau: risen by under 5%
    dict(val_loss=[1.0, 0.6, 0.7, 0.9], train_loss=[1.0, 0.5, 0.6, 0.8]),  # both rise: unstable, not overfitting
    dict(val_loss=[1.0, 0.8, 0.6, 0.5], val_acc=[0.5, 0.6, 0.6, 0.6], train_acc=[0.6, 0.8, 0.9, 1.0]),  # gap
    dict(val_loss=[1.0, 0.6, math.inf, 0.5]),  # diverged on the way
])
def test_overfitting_skipped_when_the_signals_are_ambiguous(kw):
    assert overfitting_question(run(**kw)) is None


# ---- all together -----------------------------------------------------------------------------------

def test_same_run_same_questions_and_ids_another_run_other_ids():
    first, again = questions_for(run([1.0, 0.6, 0.45, 0.5])), questions_for(run([1.0, 0.6, 0.45, 0.5]))
    assert first == again and len(first) == 3
    other = questions_for(run([1.0, 0.6, 0.44, 0.5]))
    assert {q.id for q in first}.isdisjoint({q.id for q in other})
    assert all(q.id.startswith(RUN_PREFIX) and is_run_question(q.id) for q in first)
    assert all(q.options.count(q.right_option) == 1 for q in first)


def test_the_right_option_sits_at_every_position_across_runs():
    """Options come in an order keyed by the run: across runs the answer's place varies, while one run
    always shows the same order (built in natural order, the right epoch sat at option 3 nearly always)."""
    places = {kind: set() for kind in ("val_loss_min", "moved_most", "overfitting")}
    for shift in range(30):
        losses = [1.0, 0.6, 0.45 + 0.001 * shift, 0.5, 0.6, 0.7]
        for q in questions_for(run(losses, change={"stem": 0.0, "stage1": 0.1, "stage2": 0.2, "head": 0.4})):
            places[q.kind].add(q.answer)
            assert q == next(p for p in questions_for(run(losses, change={
                "stem": 0.0, "stage1": 0.1, "stage2": 0.2, "head": 0.4})) if p.kind == q.kind)
    assert all(p == {0, 1, 2, 3} for p in places.values()), places


def test_no_epoch_no_questions():
    assert questions_for([]) == []


def test_a_real_tiny_run_answers_match_its_numbers():
    # Measured: validation loss lowest in epoch 1 (0.30), 0.45 by epoch 4; training loss 0.64 -> 0.50.
    r = run_training(TrainConfig(dataset="faces", per_class=8, val_per_class=6, image_size=32, epochs=4,
                                 batch_size=8, seed=0, lr=3e-4, trainable=("stage6", "head")))
    qs = by_kind(r.epochs)
    assert set(qs) == {"val_loss_min", "moved_most", "overfitting"}
    change = r.epochs[-1].weight_change
    assert qs["moved_most"].right_option == max(change, key=change.get)  # the random new head moves most
    lowest = min(r.epochs, key=lambda e: e.val_loss)
    assert qs["val_loss_min"].right_option == f"Epoch {lowest.epoch}"
    last = r.epochs[-1]
    assert last.val_loss >= 1.05 * lowest.val_loss and last.train_loss < lowest.train_loss
    assert qs["overfitting"].right_option == f"Yes, from epoch {lowest.epoch + 1}"
    assert questions_for(r.epochs) == questions_for(list(r.epochs))


# ---- progress: run-quiz answers next to lesson answers ----------------------------------------------

def test_progress_copes_with_run_quiz_ids(tmp_path):
    store = ProgressStore(str(tmp_path / "p.sqlite3"))
    lessons = load_lessons()
    q = overfitting_question(run([1.0, 0.6, 0.45, 0.5, 0.6, 0.7]))
    store.record_quiz_answer("ada", q.id, NOT_OVERFITTING, False)
    store.record_quiz_answer("ada", lessons.questions[0].id, "x", False)
    report = build_report(store, "ada", lessons)
    assert report.quiz_answers == 2 and report.quiz_correct == 0  # counted like other quiz answers
    assert [qid for qid, _ in report.review_questions] == [lessons.questions[0].id]  # not offered for review
    assert q.id in store.missed_questions("ada")  # the raw record is kept


def test_class_report_counts_run_quiz_answers_but_lists_only_lesson_questions(tmp_path):
    from core.classroom.class_report import build_class_report

    store = ProgressStore(str(tmp_path / "p.sqlite3"))
    lessons = load_lessons()
    for q in questions_for(run([1.0, 0.6, 0.45, 0.5, 0.6, 0.7])):
        store.record_quiz_answer("ada", q.id, q.right_option, True)
    report = build_class_report(store, lessons)
    assert report.questions == () and report.unanswered_questions == len(lessons.questions)
    assert report.learners[0].quiz_answers == 3
