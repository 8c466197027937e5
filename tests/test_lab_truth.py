"""Issue 24: everything the Lab says must be true. Core-level checks of the items that do not need a
browser: one "best epoch", Compare showing the model a run handed back, no green tick near chance,
a readable gradual-unfreezing plan, honest link banners, and the small ones."""
from __future__ import annotations

import pytest

from core.train.events import EpochEnded, best_epoch, from_row


def ep(i, val_acc, val_loss, train_acc=None, train_loss=None):
    return from_row(EpochEnded, {"epoch": i, "epochs": 8, "val_acc": val_acc, "val_loss": val_loss,
                                 "train_acc": train_acc if train_acc is not None else val_acc,
                                 "train_loss": train_loss if train_loss is not None else val_loss / 2,
                                 "weight_change": {"head": 0.1 * i}, "lrs": {"head": 1e-3}})


# The default run as the issue saw it: validation loss lowest in epoch 2, accuracy highest in epoch 7.
ISSUE_RUN = [ep(1, 0.85, 0.60), ep(2, 0.893, 0.40), ep(3, 0.88, 0.45), ep(4, 0.89, 0.47), ep(5, 0.873, 0.50),
             ep(6, 0.89, 0.48), ep(7, 0.903, 0.46), ep(8, 0.873, 0.52)]


# ---- item 3: one best epoch ------------------------------------------------------------------------

def test_best_epoch_is_the_first_lowest_validation_loss_for_events_and_rows():
    from core.train.events import as_row

    assert best_epoch(ISSUE_RUN).epoch == 2
    assert best_epoch([as_row(e) for e in ISSUE_RUN])["epoch"] == 2
    tie = [ep(1, 0.5, 0.3), ep(2, 0.6, 0.3)]
    assert best_epoch(tie).epoch == 1  # as early stopping: a later epoch must be strictly lower
    assert best_epoch([ep(1, 0.1, float("nan"))]) is None


def test_summary_chart_quiz_agree_on_the_best_epoch():
    from core.runs.analysis import best_vs_final
    from core.train.events import as_row
    from core.runs.run_quiz import val_loss_min_question
    from ui.lab import charts as charts

    note = best_vs_final("finished", ISSUE_RUN)
    assert "best epoch (lowest validation loss) was epoch 2 (89.3%)" in note
    assert "best epoch (7" not in note
    assert "highest validation accuracy was in epoch 7 (90.3%)" in note
    rows = [as_row(e) for e in ISSUE_RUN]
    marks = [a.text for a in charts.accuracy_figure(rows, 8).layout.annotations if "best epoch" in a.text]
    assert marks == ["best epoch 2 (lowest val loss)"]
    assert "lowest validation loss 0.4 at epoch 2" in charts.loss_summary(rows, [], 8)
    q = val_loss_min_question(ISSUE_RUN)
    assert q.options[q.answer] == "Epoch 2"


def test_early_stopped_run_names_no_other_best_epoch():
    from core.runs.analysis import best_vs_final

    stopped = ISSUE_RUN[:5]
    assert "lowest validation loss" not in best_vs_final("early_stopped", stopped, best_epoch=2)


@pytest.fixture(scope="module")
def early_stopped_run():
    from core.train.engine import TrainConfig, run_training

    return run_training(TrainConfig(dataset="faces", image_size=32, per_class=6, val_per_class=6, epochs=12,
                                    early_stopping=1, lr=0.03, trainable=("head",)))


def test_engine_keeps_the_epoch_best_epoch_names(early_stopped_run):
    result = early_stopped_run
    assert result.best_epoch == best_epoch(result.epochs).epoch
