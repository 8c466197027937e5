"""Numbers the lab shows before a run: parameters per group, and the run-time estimate.

Both answer instantly while a learner flips freeze switches. Parameter counts come from a model on
the meta device. The time estimate is a model of the work the engine does (images x epochs x the cost
of the part that trains, the frozen prefix computed once when it is cached), in per-image costs this
server measured on its own device at start (``calibrate``, called by core.jobs.warmup): so a fast
machine is not told a busy one's figures, and no learner's run changes another's estimate.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

import torch

from core.models import backbones as models
from core.train.freezing import cache_plan, caches_train, ever_trainable, prefix_end

REF_MODEL, REF_SIZE = "mobilenet_v2", 64  # what the start-up measurement runs
PIXEL_EXPONENT = 1.5  # cost per image against (size / REF_SIZE), fitted by bench/estimate.py's 96 px setup
PRECISE_BN_IMAGES = 256  # core.train.evaluation: the images of the per-epoch BatchNorm pass
SETUP_S = 0.3  # a run's own set-up in a warm worker: the model copy, the optimizer, the first events
# Cost per image relative to MobileNetV2 on the same device (depthwise convolutions make MobileNetV2
# slow on a CPU, so ResNet18 costs about the same there despite 6x the FLOPs).
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


# ---- the device's speed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speeds:
    """Seconds of REF_MODEL at REF_SIZE on one device: per image and per call, training (forward,
    backward and an Adam step through the whole network) and inference (forward, no gradients)."""

    train_img_s: float
    train_step_s: float
    infer_img_s: float
    infer_batch_s: float
    source: str


# A quiet 2-core CPU (shared/notes/environment.md: 121 training and 934 inference images/s at 64 px):
# what an estimate uses where no measurement was made (the CLI, page tests). A GPU: about 25x.
BUILT_IN = {
    "cpu": Speeds(1 / 121, 0.004, 1 / 934, 0.002, "of a quiet 2-core CPU (this server has not measured its own)")
}
BUILT_IN["cuda"] = Speeds(
    1 / 121 / 25, 0.002, 1 / 934 / 25, 0.001, "of a typical GPU (this server has not measured its own)"
)
_measured: dict[str, Speeds] = {}
_lock = threading.Lock()


CAL_PER_CLASS = 5  # images per class of the start-up runs: 50 training and 50 validation images


def speeds_from_runs(
    full: dict[str, float], head: dict[str, float], n_train: int, n_val: int, batch: int, source: str
) -> Speeds:
    """Speeds from the timings of two one-epoch engine runs at REF_SIZE: every group training (its
    training pass and its evaluation passes, BatchNorm's and validation's, run the whole network) and
    the head alone (its frozen network runs once, into the cache, and a step costs only the step)."""
    steps = math.ceil(n_train / max(1, min(batch, n_train)))
    step_s = head["train_s"] / steps
    train_img_s = max(0.0, (full["train_s"] - steps * step_s) / n_train)
    inferred = min(n_train, PRECISE_BN_IMAGES) + n_val + (n_train + n_val)  # full's evaluation, head's cache
    infer_img_s = (full["eval_s"] + head.get("cache_s", 0.0)) / inferred
    return Speeds(train_img_s, step_s, infer_img_s, 0.0, source)


def measure(device: str = "cpu") -> Speeds:
    """Time the engine itself on two one-epoch runs of CAL_PER_CLASS images per class at REF_SIZE,
    after one that warms torch, the data and the weights: about 3-5 s on a 2-core CPU."""
    from dataclasses import replace

    from core.data.datasets import DATASETS
    from core.train.config import LAB_DEFAULT
    from core.train.engine import run_training

    base = replace(
        LAB_DEFAULT,
        model=REF_MODEL,
        image_size=REF_SIZE,
        per_class=CAL_PER_CLASS,
        val_per_class=CAL_PER_CLASS,
        epochs=1,
        early_stopping=0,
        device=device,
    )
    full = replace(base, trainable=tuple(name for name, _ in group_sizes(REF_MODEL, 2)))
    run_training(full)  # torch's first calls of each layer cost extra
    full_s, head_s = run_training(full).timings, run_training(replace(base, trainable=(models.HEAD,))).timings
    classes = DATASETS[base.dataset].num_classes
    return speeds_from_runs(
        full_s,
        head_s,
        CAL_PER_CLASS * classes,
        CAL_PER_CLASS * classes,
        base.batch_size,
        f"measured on this {device.upper()} at server start",
    )


def calibrate(device: str = "cpu", measurer=measure) -> Speeds:
    """Measure this server's device once (core.jobs.warmup calls it before the workers start, so
    nothing else runs beside it) and use that from now on. Returns the speeds."""
    found = measurer(device)
    with _lock:
        _measured[device] = found
    return found


def speeds(device: str = "cpu") -> Speeds:
    """The device's measured speeds, else the built-in figures."""
    return _measured.get(device) or BUILT_IN.get(device) or BUILT_IN["cpu"]


def forget_calibration() -> None:
    """Back to the built-in figures (tests)."""
    with _lock:
        _measured.clear()


# ---- the model of a run's work ---------------------------------------------------------------------


@dataclass(frozen=True)
class TimeEstimate:
    seconds: float
    per_epoch_s: float
    setup_s: float  # the run's set-up and building the frozen-prefix cache (or nothing)
    cached: bool
    device: str
    source: str = ""

    def describe(self) -> str:
        return _fmt_seconds(self.seconds)


def _fmt_seconds(s: float) -> str:
    if s < 60:
        return f"about {max(1, round(s))} s"
    if s < 3600:
        return f"about {s / 60:.0f} min" if s >= 600 else f"about {s / 60:.1f} min"
    return f"about {s / 3600:.1f} h"


@dataclass(frozen=True)
class Work:
    """One run's shape: images, batches and which share of the network trains."""

    train_images: int
    val_images: int
    epochs: int
    batch: int
    prefix: float  # share of the forward compute in front of the first trainable group
    cached: bool  # the frozen prefix computed once (else on every batch)
    bn_pass: bool  # the per-epoch BatchNorm pass over trainable groups (precise BN)
    scale: float  # cost per image against REF_MODEL at REF_SIZE


def _inference(images: float, share: float, batch: int, sp: Speeds, scale: float) -> float:
    return images * share * scale * sp.infer_img_s + math.ceil(images / batch) * sp.infer_batch_s if images else 0.0


def time_of(work: Work, sp: Speeds, infer_batch: int = 64) -> tuple[float, float, float]:
    """(total, per epoch, set-up) seconds of `work` at speeds `sp`."""
    rest = 1.0 - work.prefix
    steps = math.ceil(work.train_images / max(1, min(work.batch, work.train_images)))
    train = steps * sp.train_step_s + work.train_images * rest * work.scale * sp.train_img_s
    if not work.cached:  # the frozen prefix runs, without gradients, on every batch
        train += work.train_images * work.prefix * work.scale * sp.infer_img_s
    val = _inference(work.val_images, rest if work.cached else 1.0, infer_batch, sp, work.scale)
    bn = (
        _inference(min(work.train_images, PRECISE_BN_IMAGES), rest, infer_batch, sp, work.scale)
        if work.bn_pass
        else 0.0
    )
    setup = SETUP_S
    if work.cached and work.prefix > 0:
        setup += _inference(work.train_images + work.val_images, work.prefix, infer_batch, sp, work.scale)
    # the held-out test images (as many as validation's), once at the end, through the whole network
    # (with a cached prefix, their features are computed then)
    test = _inference(work.val_images, 1.0, infer_batch, sp, work.scale)
    per_epoch = train + val + bn
    return setup + work.epochs * per_epoch + test, per_epoch, setup


def estimate_run_time(
    model_name: str,
    group_order: list[str],
    trainable: AbstractSet[str],
    image_size: int,
    train_images: int,
    val_images: int,
    epochs: int,
    augment: bool,
    frozen_bn_eval: bool = True,
    device: str = "cpu",
    batch_size: int = 32,
    precise_bn: bool = True,
) -> TimeEstimate:
    """Seconds for a run: the frozen prefix costs inference once (cached) or on every batch, the
    trainable rest costs training; validation runs every epoch."""
    shares = PREFIX_SHARE.get(model_name) or [1.0] * (len(group_order) - 1)
    first = prefix_end(group_order, trainable)
    prefix = shares[first - 1] if 0 < first <= len(shares) else (1.0 if first > len(shares) else 0.0)
    cached = caches_train(cache_plan(first, frozen_bn_eval, augment))
    scale = MODEL_COST.get(model_name, 1.5) * (image_size / REF_SIZE) ** PIXEL_EXPONENT
    bn_pass = precise_bn and bool(trainable - {models.HEAD})
    work = Work(train_images, val_images, epochs, batch_size, prefix, cached, bn_pass, scale)
    sp = speeds(device)
    total, per_epoch, setup = time_of(work, sp, 256 if device == "cuda" else 64)
    return TimeEstimate(total, per_epoch, setup, cached, device, sp.source)


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
        cfg.batch_size,
        cfg.precise_bn,
    )
