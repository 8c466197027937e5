"""A held-out test split (issue 26): images that neither train nor choose the epoch, scored once at the
end of a run, so the Lab can report a number that validation-based choices did not flatter."""
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.data import datasets as data
from core.train.engine import RunResult, TrainConfig, run_training
from core.train.events import RunEnded
from core.train.inputs import normalise

TINY = TrainConfig(dataset="faces", per_class=8, val_per_class=6, image_size=32, epochs=3, batch_size=8, seed=0,
                   lr=3e-4, trainable=("stage6", "head"))


def test_test_images_are_disjoint_and_leave_train_and_validation_as_they_were():
    labels = np.repeat(np.arange(3), 40)
    train, val, test, _ = data.split_with_test(labels, per_class=10, val_per_class=5, test_per_class=6, seed=2)
    assert not (set(train) & set(test)) and not (set(val) & set(test))
    assert np.bincount(labels[test]).tolist() == [6, 6, 6]
    old_train, old_val, _ = data.stratified_split(labels, per_class=10, val_per_class=5, seed=2)
    assert np.array_equal(train, old_train) and np.array_equal(val, old_val)  # earlier runs unchanged


def test_test_set_does_not_move_with_images_per_class_and_never_takes_training_images():
    labels = np.repeat(np.arange(2), 30)
    _, _, few = data.split_with_test(labels, 5, 5, 6, seed=0)[:3]
    _, _, more = data.split_with_test(labels, 15, 5, 6, seed=0)[:3]
    assert np.array_equal(few, more)
    train, _, squeezed, _ = data.split_with_test(labels, 22, 5, 6, seed=0)  # 25 left over 5: 22 train, 3 test
    assert np.bincount(labels[train]).tolist() == [22, 22] and np.bincount(labels[squeezed]).tolist() == [3, 3]
    assert len(data.split_with_test(labels, None, 5, 6, seed=0)[2]) == 0  # "all images" leaves none


def test_prepare_keeps_a_test_set_as_large_as_validation():
    d = data.prepare("faces", per_class=6, val_per_class=4, size=32, seed=0)
    assert d.test_x.shape == (8, 3, 32, 32) and d.test_y.bincount().tolist() == [4, 4]
    pixels = lambda x: {bytes(img.numpy()) for img in x}  # noqa: E731
    assert not pixels(d.test_x) & pixels(d.train_x) and not pixels(d.test_x) & pixels(d.val_x)


def _scored_by_hand(result: RunResult) -> float:
    d = data.prepare(TINY.dataset, TINY.per_class, TINY.val_per_class, TINY.image_size, TINY.seed)
    with torch.inference_mode():
        logits = result.model.eval()(normalise(d.test_x, torch.device("cpu")))
    return float((logits.argmax(1) == d.test_y).float().mean())


def test_a_run_reports_test_accuracy_of_the_model_it_hands_back():
    ended = []
    result = run_training(TINY, on_event=lambda e: ended.append(e) if isinstance(e, RunEnded) else None)
    assert result.test_images == 2 * TINY.val_per_class and result.timings["test_s"] >= 0  # as large as validation
    assert result.test_acc == pytest.approx(_scored_by_hand(result), abs=1e-6)  # cached prefix = full forward
    assert ended[0].summary["test_acc"] == result.test_acc


def test_no_images_left_over_no_test_score():
    result = run_training(TINY.__class__(**{**TINY.to_dict(), "trainable": ("head",), "per_class": 500,
                                            "unfreeze_at": {}, "epochs": 1}))
    assert result.test_acc is None and result.test_images == 0


# ---- the Lab's result summary --------------------------------------------------------------------

def _summary_page():
    import streamlit as st

    from ui.lab.results import test_accuracy

    test_accuracy(st.session_state["result"])


def _line(result: RunResult) -> str:
    at = AppTest.from_function(_summary_page, default_timeout=30)
    at.session_state["result"] = result
    at.run()
    assert not at.exception
    return " ".join(m.value for m in at.markdown)


def test_the_summary_puts_test_accuracy_next_to_validation():
    r = run_training(TINY)
    line = _line(r)
    assert f"Test accuracy {r.test_acc:.1%}" in line and f"{r.test_images} held-out test images" in line
    assert f"validation {r.final.val_acc:.1%}" in line and "Report the test score" in line


def test_the_summary_says_when_no_test_images_were_left_and_nothing_for_a_replay():
    r = run_training(TINY.__class__(**{**TINY.to_dict(), "per_class": 500, "epochs": 1}))
    assert "No test images" in _line(r)
    r.model = None  # a replay of a stored demo: no model, no test pass
    assert _line(r) == ""
