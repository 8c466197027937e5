"""Numbers the lab shows before a run: parameters per group, and a rough run-time estimate.

Both must answer instantly while a learner flips freeze switches, so nothing here trains or loads
weights. Parameter counts come from an uninitialised model (counts do not depend on the weights).
The time estimate is a simple model built on throughput measured on a busy 2-core CPU, corrected by
how long this server's finished runs actually took (``record_run``): an estimate, good to a factor
of about two, and the page says so.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache

import torch

from core.models import backbones as models
from core.train.freezing import cache_plan, caches_train, ever_trainable, prefix_end

# MobileNetV2 at 64 px, batch 32, 2 CPU cores shared with other work (a classroom server is rarely
# idle): training and inference images per second, measured with the engine. An idle machine is
# 2-4x faster; record_run() learns the real ratio from finished runs.
CPU_TRAIN_IPS_64 = 20.0
CPU_INFER_IPS_64 = 100.0
PIXEL_EXPONENT = 1.5  # cost grows slower than pixel count at these small sizes (per-call overheads)
GPU_SPEEDUP = 25.0  # a mid-range GPU against 2 CPU cores, for these small inputs (rough)
# Cost per image relative to MobileNetV2 on a CPU (depthwise convolutions make MobileNetV2 slow there,
# so ResNet18 costs about the same despite 6x the FLOPs).
MODEL_COST = {"mobilenet_v2": 1.0, "resnet18": 1.0, "resnet50": 3.0, "efficientnet_b0": 1.6}
# Cumulative share of forward compute after each feature group (from FLOP counts; head ~ 0).
PREFIX_SHARE = {
    "mobilenet_v2": [0.10, 0.25, 0.38, 0.50, 0.70, 0.85, 1.0],
    "resnet18": [0.12, 0.32, 0.55, 0.77, 1.0],
    "resnet50": [0.06, 0.30, 0.55, 0.85, 1.0],
    "efficientnet_b0": [0.08, 0.20, 0.32, 0.45, 0.62, 0.80, 0.92, 1.0],
}


@dataclass(frozen=True)
class GroupCount:
    name: str
    total: int
    trainable: bool


@lru_cache(maxsize=16)
def group_sizes(model_name: str, num_classes: int) -> tuple[tuple[str, int], ...]:
    """(group, parameter count) in network order; the head is sized for `num_classes`. Built on the
    meta device: shapes only, no memory, no random init (and the server's random state untouched)."""
    with torch.device("meta"):
        model = models.build_model(model_name, num_classes, pretrained=False)
    return tuple((g.name, g.total) for g in models.group_table(model))


def param_counts(model_name: str, num_classes: int, trainable: set[str]) -> list[GroupCount]:
    return [GroupCount(name, total, name in trainable) for name, total in group_sizes(model_name, num_classes)]


@dataclass(frozen=True)
class TimeEstimate:
    seconds: float
    per_epoch_s: float
    setup_s: float  # building the frozen-prefix cache (or nothing)
    cached: bool
    device: str

    def describe(self) -> str:
        return _fmt_seconds(self.seconds)


def _fmt_seconds(s: float) -> str:
    if s < 60:
        return f"about {max(1, round(s))} s"
    if s < 3600:
        return f"about {s / 60:.0f} min" if s >= 600 else f"about {s / 60:.1f} min"
    return f"about {s / 3600:.1f} h"


def estimate_run_time(
    model_name: str,
    group_order: list[str],
    trainable: set[str],
    image_size: int,
    train_images: int,
    val_images: int,
    epochs: int,
    augment: bool,
    frozen_bn_eval: bool = True,
    device: str = "cpu",
) -> TimeEstimate:
    """Seconds for a run: the frozen prefix costs inference once (cached) or on every batch, the
    trainable rest costs training; validation runs every epoch. Scales with pixels (size^2)."""
    pixels = (image_size / 64) ** PIXEL_EXPONENT
    cost = MODEL_COST.get(model_name, 1.5) * pixels / (GPU_SPEEDUP if device != "cpu" else 1.0)
    train_s_per_img = cost / CPU_TRAIN_IPS_64
    infer_s_per_img = cost / CPU_INFER_IPS_64
    shares = PREFIX_SHARE.get(model_name) or [1.0] * (len(group_order) - 1)
    first = prefix_end(group_order, trainable)
    prefix = shares[first - 1] if 0 < first <= len(shares) else (1.0 if first > len(shares) else 0.0)
    cached = caches_train(cache_plan(first, frozen_bn_eval, augment))
    rest = 1.0 - prefix
    per_train_img = rest * train_s_per_img + (0.0 if cached else prefix * infer_s_per_img)
    per_epoch = train_images * per_train_img + val_images * infer_s_per_img * (rest if first > 0 else 1.0)
    setup = (train_images + val_images) * prefix * infer_s_per_img if first > 0 else 0.0
    overhead = 2.0  # building the model, preparing data
    k = calibration()
    total = (overhead + setup + epochs * per_epoch) * k
    return TimeEstimate(total, per_epoch * k, setup * k, cached, device)


# ---- learning from finished runs -------------------------------------------------------------------

_calibration = 1.0
_runs_seen = 0
_calibration_lock = threading.Lock()
# How far the learned factor may move from the built-in speeds. A quiet 2-core machine runs the Lab's
# default setup about 8x faster than the busy one they were measured on (4.3 s against "about 37 s"),
# so a floor of 0.2 kept every estimate there at 1.7x or more, however many runs had finished.
CALIBRATION_RANGE = (0.02, 5.0)


def calibration() -> float:
    return _calibration


def record_run(predicted_s: float, actual_s: float) -> float:
    """Move the correction factor towards actual/predicted, so estimates on this server follow its
    real speed and load. The first finished run sets it (the built-in speeds are only a starting
    point); later ones move it halfway, a moving average in log space that follows a change of load
    without jumping at one slow run. Bounded by CALIBRATION_RANGE. Returns the new factor."""
    global _calibration, _runs_seen
    if predicted_s <= 0 or actual_s <= 0 or not math.isfinite(actual_s) or not math.isfinite(predicted_s):
        return _calibration
    with _calibration_lock:
        ratio = actual_s / (predicted_s / _calibration)  # against the uncorrected model
        weight = 1.0 if _runs_seen == 0 else 0.5
        log_k = (1 - weight) * math.log(_calibration) + weight * math.log(ratio)
        _calibration = min(CALIBRATION_RANGE[1], max(CALIBRATION_RANGE[0], math.exp(log_k)))
        _runs_seen += 1
        return _calibration


def reset_calibration() -> None:
    """Back to the built-in speeds (tests; a server whose hardware changed under it)."""
    global _calibration, _runs_seen
    with _calibration_lock:
        _calibration, _runs_seen = 1.0, 0


def estimate_config(cfg, train_images: int, val_images: int, device: str = "cpu") -> TimeEstimate:
    """estimate_run_time for a TrainConfig (groups opened at any epoch count as trainable)."""
    groups = [name for name, _ in group_sizes(cfg.model, 2)]
    return estimate_run_time(
        cfg.model,
        groups,
        ever_trainable(cfg),
        cfg.image_size,
        train_images,
        val_images,
        cfg.epochs,
        cfg.augment,
        cfg.frozen_bn_eval,
        device,
    )
