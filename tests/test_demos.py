"""Each classroom demo's claimed effect, checked by running it (seeded, small, on the CPU).

These are the lessons' claims that the lab can show; if a change to the engine or a preset breaks
one, the build breaks. Margins are well inside what was measured (see the closing notes of the lab
issue): a demo is tuned until its effect is clear, never the threshold until it passes.
"""
import pytest

from core.presets import DEMO_IDS, PRESETS, run_preset

pytestmark = pytest.mark.demo


def by_label(preset_id):
    return {label: result for label, result in run_preset(preset_id)}


def test_every_demo_has_a_watch_for_paragraph_and_at_least_two_runs():
    for pid in DEMO_IDS:
        assert len(PRESETS[pid].runs) >= 2 and len(PRESETS[pid].watch_for) > 100, pid


def test_pretrained_beats_scratch_by_15_points():
    runs = by_label("pretrained-vs-scratch")
    pre, scratch = runs["pretrained"].final["val_acc"], runs["from scratch"].final["val_acc"]
    assert pre - scratch >= 0.15, (pre, scratch)
    assert pre >= 0.75


def test_too_high_learning_rate_ends_30_points_lower():
    runs = by_label("lr-too-high")
    high, good = runs["lr 0.1"].final["val_acc"], runs["lr 0.001"].final["val_acc"]
    assert good - high >= 0.30, (good, high)
    # The wreck shows in the weights too: lr 0.1 moves the earliest group far more.
    assert runs["lr 0.1"].final["weight_change"]["stem"] > 5 * runs["lr 0.001"].final["weight_change"]["stem"]


def test_tiny_data_overfits_and_early_stopping_helps():
    runs = by_label("overfit-tiny")
    plain, stopped = runs["no remedy"], runs["early stopping"]
    assert plain.final["train_acc"] - plain.final["val_acc"] >= 0.10, plain.final
    # Overfitting in the loss: validation loss ends well above its best value.
    best_plain_loss = min(e["val_loss"] for e in plain.epochs)
    assert plain.final["val_loss"] >= best_plain_loss + 0.15, [e["val_loss"] for e in plain.epochs]
    # Early stopping stops sooner, hands back the best weights: lower validation loss, accuracy as good.
    assert stopped.reason == "early_stopped" and len(stopped.epochs) < len(plain.epochs)
    assert stopped.final["val_loss"] <= plain.final["val_loss"] - 0.15, (stopped.final, plain.final)
    assert stopped.final["val_acc"] >= plain.final["val_acc"] - 0.02, (stopped.final, plain.final)


def test_opening_the_last_stages_beats_head_only_and_all_layers_costs_more():
    runs = by_label("layers-compare")
    head, last, full = runs["head only"], runs["last two stages"], runs["all layers"]
    assert last.final["val_acc"] >= head.final["val_acc"] + 0.03, (head.final, last.final)
    assert head.final["trainable_params"] < last.final["trainable_params"] < full.final["trainable_params"]
    assert full.timings["train_s"] > 3 * head.timings["train_s"]


def test_frozen_batchnorm_in_train_mode_hurts():
    runs = by_label("bn-train-mode")
    drift, kept = runs["BatchNorm in train mode"], runs["BatchNorm kept in eval mode"]
    assert kept.final["val_acc"] - drift.final["val_acc"] >= 0.03, (kept.final, drift.final)
