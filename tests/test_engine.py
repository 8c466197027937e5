"""The training engine on tiny inputs: events, stop flag, divergence, freezing, schedules."""
import os
import threading

import pytest
import torch

from core.train.config import ConfigError, TrainConfig
from core.train.engine import run_training
from core.train.events import BatchEnded, EpochEnded, RunEnded, RunStarted
from core.train.freezing import CACHE_ALL
from core.train.lr_finder import lr_range_test

TINY = dict(dataset="faces", per_class=8, val_per_class=6, image_size=32, epochs=2, batch_size=8, seed=0)


def test_events_and_result_shape():
    events = []
    r = run_training(TrainConfig(trainable=("head",), **TINY), on_event=events.append)
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-1] is RunEnded
    assert kinds.count(EpochEnded) == 2 and kinds.count(BatchEnded) == 2 * (16 // 8)
    assert r.reason == "finished" and len(r.epochs) == 2
    first_epoch = next(e for e in events if isinstance(e, EpochEnded))
    assert first_epoch.trainable_params == 1280 * 2 + 2
    assert first_epoch.weight_change["stem"] == 0.0 and first_epoch.weight_change["head"] > 0
    assert len(r.val_pred) == len(r.val_true) == 12
    assert r.cache == CACHE_ALL
    assert events[0].prefix == ("stem", "stage1", "stage2", "stage3", "stage4", "stage5", "stage6")


def test_stop_flag_ends_within_one_batch():
    stop = threading.Event()
    seen = []

    def on_event(e):
        if isinstance(e, BatchEnded):
            seen.append(e)
            stop.set()

    r = run_training(TrainConfig(trainable=("head",), **{**TINY, "epochs": 5}), on_event=on_event, stop=stop)
    assert r.reason == "stopped" and len(seen) == 1 and r.epochs == []
    assert r.message == "Stopped by request during epoch 1."


# Divergence to NaN (the message names the learning rate) is covered with the other bad inputs in
# tests/test_bad_inputs.py::test_divergence_to_nan_ends_diverged_naming_the_learning_rate.


@pytest.mark.parametrize("bad, match", [
    (dict(lr=0), "positive"), (dict(lr=-1e-3), "positive"), (dict(lr=1e3), "far too large"),
    (dict(lr=float("nan")), "positive"), (dict(epochs=0), "Epochs"), (dict(batch_size=0), "Batch size"),
    (dict(trainable=()), "nothing can learn"), (dict(optimizer="rmsprop"), "Unknown optimizer"),
    (dict(trainable=("head",), unfreeze_at={9: ("stage6",)}), "outside"),
])
def test_bad_settings_are_refused_with_a_reason(bad, match):
    with pytest.raises(ConfigError, match=match):
        run_training(TrainConfig(**{**TINY, **bad}))


def test_unknown_group_is_refused():
    with pytest.raises(ConfigError, match="Unknown layer group"):
        run_training(TrainConfig(trainable=("layer9",), **TINY))


def test_batch_larger_than_dataset_is_lowered_with_a_note():
    events = []
    r = run_training(TrainConfig(trainable=("head",), **{**TINY, "batch_size": 500}), on_event=events.append)
    assert r.reason == "finished"
    assert any("batch size lowered to 16" in n for n in events[0].notes)


def test_gradual_unfreezing_raises_trainable_params():
    cfg = TrainConfig(trainable=("head",), unfreeze_at={2: ("stage6",)}, **TINY)
    r = run_training(cfg)
    assert r.epochs[1].trainable_params > r.epochs[0].trainable_params
    assert r.epochs[0].weight_change["stage6"] == 0.0 and r.epochs[1].weight_change["stage6"] > 0


def test_discriminative_learning_rates_reach_the_optimizer():
    cfg = TrainConfig(trainable=("stage6", "head"), group_lr={"stage6": 1e-5}, lr=1e-3, **TINY)
    r = run_training(cfg)
    assert r.epochs[-1].lrs == {"stage6": 1e-5, "head": 1e-3}


def test_early_stopping_restores_the_best_epoch():
    # lr 0.5 SGD on the head: validation loss is best after epoch 1 and worse after epoch 2.
    cfg = TrainConfig(trainable=("head",), early_stopping=1, lr=0.5, optimizer="sgd", **{**TINY, "epochs": 12})
    r = run_training(cfg)
    assert r.reason == "early_stopped" and len(r.epochs) < 12
    assert r.best_epoch < len(r.epochs)
    best_loss = min(e.val_loss for e in r.epochs)
    assert r.epochs[r.best_epoch - 1].val_loss == best_loss
    assert r.final is r.epochs[r.best_epoch - 1]  # the summary reports the restored weights


def test_same_seed_same_result():
    a = run_training(TrainConfig(trainable=("stage6", "head"), **TINY))
    b = run_training(TrainConfig(trainable=("stage6", "head"), **TINY))
    assert [e.val_loss for e in a.epochs] == pytest.approx([e.val_loss for e in b.epochs], rel=1e-4)


def test_lr_finder_returns_a_curve_and_a_suggestion():
    out = lr_range_test(TrainConfig(trainable=("head",), **TINY), steps=30)
    assert len(out["lrs"]) == len(out["losses"]) >= 10
    assert out["lrs"] == sorted(out["lrs"])
    assert out["suggested_lr"] is not None and 1e-6 <= out["suggested_lr"] <= 1


def test_config_round_trips_through_a_dict():
    cfg = TrainConfig(trainable=("head",), unfreeze_at={3: ("stage6",)}, group_lr={"head": 0.01})
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_a_real_fine_tune_learns_well_above_chance():
    """The offline default (MNIST digits), pretrained MobileNetV2, last stages: far above 10%."""
    r = run_training(TrainConfig(dataset="mnist", per_class=20, val_per_class=20, image_size=64,
                                 trainable=("stage5", "stage6", "head"), epochs=6, seed=0))
    assert r.reason == "finished"
    assert r.final.val_acc >= 0.75, r.final
    assert torch.is_tensor(next(r.model.parameters()))


def test_stop_during_evaluation_ends_the_run():
    stop = threading.Event()
    from core.train import engine

    real = engine.evaluate

    def evaluate_then_stop(*args, **kwargs):
        stop.set()  # Stop pressed while the first evaluation runs
        return real(*args, **kwargs)

    import unittest.mock as mock
    with mock.patch.object(engine, "evaluate", evaluate_then_stop):
        r = run_training(TrainConfig(trainable=("stage6", "head"), **{**TINY, "epochs": 4}), stop=stop)
    assert r.reason == "stopped" and "end of epoch 1" in r.message and r.epochs == []


def test_torch_threads_follow_ftlab_torch_threads_else_one_per_core(monkeypatch):
    from core.train.inputs import torch_threads

    monkeypatch.setenv("FTLAB_TORCH_THREADS", "1")
    assert torch_threads() == 1
    monkeypatch.setenv("FTLAB_TORCH_THREADS", "many")  # not a number: one per core, as when unset
    assert torch_threads() == len(os.sched_getaffinity(0))
    monkeypatch.delenv("FTLAB_TORCH_THREADS")
    assert torch_threads() == len(os.sched_getaffinity(0))
