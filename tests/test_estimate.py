"""The run-time estimate (core.runs.estimate): a model of the work, in per-image costs measured on the
server's device at start, never moved by other browsers' runs."""
import math
from dataclasses import replace

import pytest

from core.runs import estimate
from core.train.config import LAB_DEFAULT

GROUPS = ["stem", "stage1", "stage2", "stage3", "stage4", "stage5", "stage6", "head"]
# A made-up device: 10 ms per trained image plus 5 ms per step; 1 ms per inferred image plus 2 ms per batch.
FAKE = estimate.Speeds(train_img_s=0.010, train_step_s=0.005, infer_img_s=0.001, infer_batch_s=0.002, source="fake")


@pytest.fixture(autouse=True)
def built_in_speeds():
    estimate.forget_calibration()
    yield
    estimate.forget_calibration()


def test_the_fit_recovers_the_speeds_from_two_engine_runs():
    """Timings of the start-up runs as a device with FAKE's speeds gives them (50 training and 50
    validation images, batch 32: 2 steps) give FAKE's speeds back."""
    n, steps, sp = 50, 2, replace(FAKE, infer_batch_s=0.0)
    full = {"train_s": steps * sp.train_step_s + n * sp.train_img_s, "eval_s": (n + n) * sp.infer_img_s,
            "cache_s": 0.0, "model_s": 0.1}
    head = {"train_s": steps * sp.train_step_s, "eval_s": 0.0001, "cache_s": (n + n) * sp.infer_img_s}
    found = estimate.speeds_from_runs(full, head, n, n, 32, "fake")
    assert found.train_img_s == pytest.approx(sp.train_img_s) and found.train_step_s == pytest.approx(sp.train_step_s)
    assert found.infer_img_s == pytest.approx(sp.infer_img_s, rel=0.01)
    # a disturbed measurement (the head's steps slower than the whole network's) never gives a negative cost
    slow_head = dict(head, train_s=10.0)
    assert estimate.speeds_from_runs(full, slow_head, n, n, 32, "fake").train_img_s == 0.0


def test_calibration_replaces_the_built_in_figures_and_scales_the_estimate():
    before = estimate.estimate_config(LAB_DEFAULT, 200, 300)
    assert "not measured" in before.source or "has not measured" in before.source
    estimate.calibrate("cpu", measurer=lambda device: FAKE)
    fake = estimate.estimate_config(LAB_DEFAULT, 200, 300)
    estimate.calibrate("cpu", measurer=lambda device: replace(FAKE, train_img_s=0.005, train_step_s=0.0025,
                                                               infer_img_s=0.0005, infer_batch_s=0.001))
    twice_as_fast = estimate.estimate_config(LAB_DEFAULT, 200, 300)
    assert fake.source == "fake"
    # everything but the fixed set-up halves on a device twice as fast
    assert twice_as_fast.seconds - estimate.SETUP_S == pytest.approx((fake.seconds - estimate.SETUP_S) / 2)


def test_the_default_run_is_the_work_it_does():
    """The Lab's default run (last two stages + head, cached prefix) at the fake speeds, by hand."""
    estimate.calibrate("cpu", measurer=lambda device: FAKE)
    est = estimate.estimate_config(LAB_DEFAULT, 200, 300)
    prefix = estimate.PREFIX_SHARE["mobilenet_v2"][4]  # stem..stage4 frozen: their share runs once
    rest = 1 - prefix
    cache = (200 + 300) * prefix * 0.001 + math.ceil(500 / 64) * 0.002
    train = math.ceil(200 / 32) * 0.005 + 200 * rest * 0.010
    val = 300 * rest * 0.001 + math.ceil(300 / 64) * 0.002
    bn = 200 * rest * 0.001 + math.ceil(200 / 64) * 0.002
    assert est.cached
    assert est.setup_s == pytest.approx(estimate.SETUP_S + cache)
    assert est.per_epoch_s == pytest.approx(train + val + bn)
    assert est.seconds == pytest.approx(estimate.SETUP_S + cache + LAB_DEFAULT.epochs * (train + val + bn))


def test_more_layers_epochs_pixels_and_augmentation_cost_more():
    estimate.calibrate("cpu", measurer=lambda device: FAKE)

    def secs(trainable, size=64, epochs=8, augment=False):
        return estimate.estimate_run_time("mobilenet_v2", GROUPS, set(trainable), size, 200, 300, epochs, augment).seconds

    head, last, full = secs({"head"}), secs({"stage5", "stage6", "head"}), secs(GROUPS)
    assert head < last < full and full > 3 * head
    assert secs(GROUPS, size=128) > 2.5 * full  # cost grows with pixels
    assert secs({"head"}, epochs=16) - head == pytest.approx(head - secs({"head"}, epochs=0))  # linear in epochs
    assert secs({"head"}, augment=True) > 3 * head  # augmentation: the frozen prefix runs on every batch


def test_finished_runs_do_not_move_the_estimate():
    """No learning from runs: one browser's slow or fast run must not change what another is told."""
    assert not hasattr(estimate, "record_run")
