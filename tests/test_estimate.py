"""The run-time estimate learns this server's speed from its finished runs (core.runs.estimate.record_run)."""
import math

import pytest

from core.runs import estimate
from core.train.config import TrainConfig


@pytest.fixture(autouse=True)
def fresh_calibration():
    estimate.reset_calibration()
    yield
    estimate.reset_calibration()


def _default_estimate() -> float:
    cfg = TrainConfig(dataset="mnist", per_class=20, val_per_class=30, image_size=64, epochs=8)
    return estimate.estimate_config(cfg, 200, 300).seconds


def test_after_one_finished_run_the_same_setup_is_estimated_at_its_real_time():
    # The quiet 2-core machine: the built-in speeds say about 37 s for the Lab's default run, which
    # takes about 4.3 s. A floor of 0.2 on the factor kept the estimate at 7.4 s or more for ever.
    before = _default_estimate()
    estimate.record_run(before, before / 8.6)
    assert _default_estimate() == pytest.approx(before / 8.6)


def test_later_runs_move_the_factor_halfway_in_log_space():
    before = _default_estimate()
    estimate.record_run(before, before / 4)  # factor 1/4
    estimate.record_run(before / 4, before)  # this run took 4x the corrected estimate: halfway is 2x
    assert estimate.calibration() == pytest.approx(0.25 * 2)


def test_the_factor_stays_in_its_range_and_ignores_runs_it_cannot_use():
    estimate.record_run(100.0, 0.001)
    assert estimate.calibration() == estimate.CALIBRATION_RANGE[0]
    for predicted, actual in ((0.0, 5.0), (10.0, 0.0), (10.0, math.nan), (10.0, math.inf), (-1.0, 3.0)):
        estimate.record_run(predicted, actual)
    assert estimate.calibration() == estimate.CALIBRATION_RANGE[0]
    estimate.reset_calibration()
    estimate.record_run(1.0, 1e6)
    assert estimate.calibration() == estimate.CALIBRATION_RANGE[1]
