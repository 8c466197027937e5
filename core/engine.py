"""The training engine: one fine-tune, from a config to an evaluated model, emitting events.

Built for short runs on a CPU: data arrives as uint8 tensors (decoded once), normalisation and
augmentation happen on the device, a frozen prefix of the network runs without autograd (and, when
its output cannot change, once per image via core.cache), the optimizer sees trainable parameters
only, and batches have a fixed shape. Nothing here knows about Streamlit: a page, a test, the CLI
and the benchmark all call ``run_training``.
"""
from __future__ import annotations

import copy
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core import models
from core.cache import FEATURES
from core.config import OPTIMIZERS, ConfigError, TrainConfig  # noqa: F401  (re-exported: core.engine's public names)
from core.data import PreparedData, prepare
from core.events import (BatchEnded, EpochEnded, EventSink, GroupCount, GroupsUnfrozen, RunEnded,  # noqa: F401
                         RunStarted)

NO_FLIP_DATASETS = {"mnist", "digits"}  # a mirrored digit is a different symbol (or none)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class RunResult:
    reason: str  # finished | early_stopped | stopped | diverged
    message: str
    config: TrainConfig
    class_names: list[str]
    epochs: list[EpochEnded]  # one per finished epoch
    batches: list[BatchEnded]  # one per batch
    val_true: list[int] = field(default_factory=list)
    val_pred: list[int] = field(default_factory=list)
    best_epoch: int | None = None
    device: str = "cpu"
    timings: dict = field(default_factory=dict)
    cache: str = ""  # how the frozen prefix was handled, in words
    model: nn.Module | None = None

    @property
    def final(self) -> EpochEnded | None:
        """Metrics of the model the run hands back: after early stopping, the restored best epoch."""
        if self.reason == "early_stopped" and self.best_epoch:
            return self.epochs[self.best_epoch - 1]
        return self.epochs[-1] if self.epochs else None

    def summary(self) -> dict:
        f = self.final
        return {
            "reason": self.reason, "message": self.message, "epochs_run": len(self.epochs),
            "best_epoch": self.best_epoch, "train_acc": f and f.train_acc, "val_acc": f and f.val_acc,
            "train_loss": f and f.train_loss, "val_loss": f and f.val_loss,
            "trainable_params": f and f.trainable_params, "total_params": f and f.total_params,
            "device": self.device, "cache": self.cache,
            "seconds": round(self.timings.get("total_s", 0.0), 2), "timings": self.timings,
        }


# ---- device and threads -------------------------------------------------------------------------

_threads_set = False


def configure_threads() -> None:
    """Use one thread per available core, once (2 threads are ~1.5x one on a 2-core machine)."""
    global _threads_set
    if not _threads_set:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        torch.set_num_threads(max(1, cores))
        _threads_set = True


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("No CUDA GPU is available on this machine; choose 'auto' or 'cpu'.")
    return torch.device(name)


# ---- input pipeline on the device ----------------------------------------------------------------

def normalise(x_uint8: torch.Tensor, device: torch.device) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return (x_uint8.to(device, non_blocking=True).float() / 255.0 - mean) / std


def augment_batch(x: torch.Tensor, gen: torch.Generator, flip: bool) -> torch.Tensor:
    """Per-sample random shift (pad + crop), optional horizontal flip, brightness/contrast jitter."""
    b, _, h, w = x.shape
    pad = max(1, h // 8)
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    offs = torch.randint(0, 2 * pad + 1, (b, 2), generator=gen).tolist()
    x = torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offs)])
    if flip:
        mask = (torch.rand(b, generator=gen) < 0.5).to(x.device).view(b, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    scale = (1 + 0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)).to(x.device)
    shift = (0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)).to(x.device)
    return x * scale + shift


# ---- the run --------------------------------------------------------------------------------------

def _group_vectors(model: models.GroupedNet) -> dict[str, torch.Tensor]:
    return {name: torch.cat([p.detach().flatten() for p in model.group(name).parameters()]).clone()
            for name in model.group_names if any(True for _ in model.group(name).parameters())}


def _weight_change(model: models.GroupedNet, start: dict[str, torch.Tensor]) -> dict[str, float]:
    """||W - W0|| / ||W0|| per group: how far fine-tuning moved each group from where it began."""
    out = {}
    for name, w0 in start.items():
        w = torch.cat([p.detach().flatten() for p in model.group(name).parameters()])
        out[name] = float((w - w0).norm() / (w0.norm() + 1e-12))
    return out


def _make_optimizer(cfg: TrainConfig, model: models.GroupedNet, trainable: set[str]) -> torch.optim.Optimizer:
    groups = []
    for name in model.group_names:
        params = [p for p in model.group(name).parameters() if p.requires_grad]
        if name in trainable and params:
            groups.append({"params": params, "lr": float(cfg.group_lr.get(name, cfg.lr)), "name": name})
    # foreach=True: one batched update per parameter group instead of a Python loop over tensors
    # (PyTorch picks it only for GPU tensors). Same arithmetic, bit-identical weights; on this CPU
    # about 30% less time per step when the last stages train.
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, foreach=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)


_MODEL_TEMPLATES: "OrderedDict[tuple, tuple[models.GroupedNet, torch.Tensor]]" = OrderedDict()
_MODEL_TEMPLATES_LOCK = threading.Lock()


def _fresh_model(name: str, num_classes: int, pretrained: bool, seed: int) -> models.GroupedNet:
    """models.build_model(name, num_classes, pretrained, seed=seed), from an in-memory template.

    Building constructs the torchvision network, initialises it and reads the weights file (about
    50 ms, a quarter of a head-only rerun). A deep copy of the first build gives the same weights
    and new head, and restoring the random state build_model left behind keeps everything after it
    (dropout masks) exactly as with a fresh build.
    """
    key = (name, num_classes, pretrained, seed)
    with _MODEL_TEMPLATES_LOCK:
        hit = _MODEL_TEMPLATES.get(key)
        if hit is not None:
            _MODEL_TEMPLATES.move_to_end(key)
            torch.manual_seed(seed)  # as build_model does (also seeds CUDA generators)
            torch.set_rng_state(hit[1])
            return copy.deepcopy(hit[0])
    model = models.build_model(name, num_classes, pretrained, seed=seed)
    rng = torch.get_rng_state()
    with _MODEL_TEMPLATES_LOCK:
        _MODEL_TEMPLATES[key] = (copy.deepcopy(model), rng)
        while len(_MODEL_TEMPLATES) > 4:
            _MODEL_TEMPLATES.popitem(last=False)
    return model


class _Inputs:
    """What the trainable part of the network is fed: cached prefix features, or images."""

    def __init__(self, cfg, model, data, device, cut, cacheable_train, cacheable_val, timings):
        self.cfg, self.model, self.device, self.cut = cfg, model, device, cut
        self.flip = cfg.dataset not in NO_FLIP_DATASETS
        t0 = time.perf_counter()
        self.train_feats = self._features(data, "train", data.train_x) if cacheable_train else None
        timings["cache_s"] = time.perf_counter() - t0
        self.train_x, self.val_x = data.train_x, data.val_x
        # Validation features are built on first use (after the first epoch's training), so the first
        # training point does not wait for them. The prefix is frozen, so they come out the same.
        self.val_feats = None
        self._val_pending = (data, timings) if cacheable_val else None

    def ensure_val_features(self) -> None:
        """Build (or fetch) the cached validation features if they are due; time counts as cache_s."""
        if self._val_pending is None:
            return
        data, timings = self._val_pending
        self._val_pending = None
        t0 = time.perf_counter()
        self.val_feats = self._features(data, "val", data.val_x)
        timings["cache_s"] = timings.get("cache_s", 0.0) + time.perf_counter() - t0

    def _key(self, data: PreparedData, split: str) -> tuple:
        init = "imagenet" if self.cfg.pretrained else f"scratch-seed{self.cfg.seed}"
        return (self.cfg.model, init, self.cut, data.key, split, str(self.device))

    def _features(self, data: PreparedData, split: str, x: torch.Tensor) -> torch.Tensor:
        key = self._key(data, split)
        cached = FEATURES.get(key) if self.cfg.use_cache else None
        if cached is not None:
            return cached
        self.model.eval()
        outs = []
        with torch.inference_mode(), _autocast(self.device):
            step = inference_batch(self.device)
            for i in range(0, len(x), step):
                xb = _layout(normalise(x[i:i + step], self.device))
                outs.append(self.model.features_until(xb, self.cut).float())
        feats = torch.cat(outs) if outs else torch.zeros(0)
        feats = feats.contiguous(memory_format=torch.channels_last) if feats.ndim == 4 else feats
        if self.cfg.use_cache:
            FEATURES.put(key, feats)
        return feats

    def train_batch(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Input of group `cut` for these training images (no autograd through frozen groups)."""
        if self.train_feats is not None:
            return self.train_feats[idx.to(self.train_feats.device)]
        x = normalise(self.train_x[idx], self.device)
        if self.cfg.augment and gen is not None:  # gen=None: the plain images (BN recalibration)
            x = augment_batch(x, gen, self.flip)
        x = _layout(x)
        if self.cut == 0:
            return x
        with torch.no_grad(), _autocast(self.device):
            return self.model.features_until(x, self.cut).float()

    def val_batches(self, batch: int):
        self.ensure_val_features()
        n = len(self.val_x)
        for i in range(0, n, batch):
            if self.val_feats is not None:
                yield self.val_feats[i:i + batch], self.cut
            else:
                yield _layout(normalise(self.val_x[i:i + batch], self.device)), 0


def inference_batch(device: torch.device) -> int:
    """Batch size for passes without gradients (cache building, BN recalibration, evaluation).

    On a CPU, batches of 64 images keep activations in cache: at 64 px a MobileNetV2 forward over
    batches of 128 or 256 measured about 2x slower per image. Outputs in eval mode do not depend on
    the batch size. GPUs prefer large batches.
    """
    return 256 if device.type == "cuda" else 64


def _layout(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def _autocast(device: torch.device):
    # bf16 autocast pays off on GPUs; on this CPU it measured 0.9x, so the CPU stays in fp32.
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


PRECISE_BN_IMAGES = 256  # enough for stable mean/variance estimates; caps the per-epoch cost


def recalibrate_bn(model: models.GroupedNet, inputs: "_Inputs", trainable: set[str], n_train: int,
                   device: torch.device, stop: threading.Event | None = None) -> None:
    """Recompute running statistics of BatchNorm layers in trainable groups over the training set.

    Running averages (momentum 0.1) lag behind weights that move fast, as in a short run from
    scratch: evaluated with such stale statistics a network that fits its training data can predict
    one class for everything. Averaging batch statistics over the training images once per epoch
    ("precise BN") makes evaluation reflect what the weights have actually learned.
    """
    names = model.group_names
    cut = inputs.cut
    bns = [m for g in trainable if names.index(g) >= cut for m in model.group(g).modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [(m, m.momentum, m.training) for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all batches seen
        m.train()
    # Evenly spaced training images: the training set is ordered by class, so a prefix would not be.
    sample = torch.linspace(0, n_train - 1, min(n_train, PRECISE_BN_IMAGES)).round().long().unique()
    batch = inference_batch(device)
    with torch.no_grad(), _autocast(device):
        for i in range(0, len(sample), batch):
            if stop is not None and stop.is_set():
                break  # the run is ending: statistics no longer matter
            model.forward_from(inputs.train_batch(sample[i:i + batch], None), cut)
    for m, momentum, training in saved:
        m.momentum = momentum
        m.train(training)


def evaluate(model: models.GroupedNet, inputs: _Inputs, val_y: torch.Tensor, device: torch.device,
             batch: int | None = None, stop: threading.Event | None = None) -> tuple[float, float, list[int]]:
    """(loss, accuracy, predictions) on the validation set, in eval mode. A set `stop` cuts it
    short (the caller then ends the run), so Stop is never stuck behind a long evaluation."""
    batch = batch or inference_batch(device)
    model.eval()
    losses, preds = [], []
    with torch.inference_mode(), _autocast(device):
        for xb, start in inputs.val_batches(batch):
            if stop is not None and stop.is_set():
                break
            logits = model.forward_from(xb, start).float()
            n = len(preds) and sum(len(p) for p in preds)
            yb = val_y[n:n + len(xb)].to(device)
            losses.append(F.cross_entropy(logits, yb, reduction="sum").item())
            preds.append(logits.argmax(1).cpu())
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    n = max(1, len(pred))
    return sum(losses) / n, float((pred == val_y).float().mean()) if len(pred) else 0.0, pred.tolist()


def run_training(cfg: TrainConfig, on_event: EventSink | None = None, stop: threading.Event | None = None,
                 data: PreparedData | None = None) -> RunResult:
    """Run one fine-tune, sending core.events to `on_event`. Raises ConfigError,
    DataError or WeightsUnavailable before training starts; never in the middle of a run."""
    cfg.validate()
    emit = on_event or (lambda e: None)
    stop = stop or threading.Event()
    configure_threads()
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    device = resolve_device(cfg.device)

    t = time.perf_counter()
    data = data or prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    timings["data_s"] = time.perf_counter() - t

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    t = time.perf_counter()
    model = _fresh_model(cfg.model, data.num_classes, cfg.pretrained, cfg.seed)
    unknown = (set(cfg.trainable) | {g for gs in cfg.unfreeze_at.values() for g in gs}) - set(model.group_names)
    if unknown:
        raise ConfigError(f"Unknown layer group(s) {sorted(unknown)}; {cfg.model} has {model.group_names}.")
    trainable = set(cfg.trainable)
    models.set_trainable(model, trainable)
    model.to(device).to(memory_format=torch.channels_last)
    timings["model_s"] = time.perf_counter() - t

    ever_trainable = trainable | {g for gs in cfg.unfreeze_at.values() for g in gs}
    cut = models.first_trainable_index(model, ever_trainable)
    n_feature_groups = len(model.group_names) - 1
    cut = min(cut, n_feature_groups)
    prefix_fixed = cut > 0 and cfg.frozen_bn_eval and cfg.use_cache
    inputs = _Inputs(cfg, model, data, device, cut, prefix_fixed and not cfg.augment, prefix_fixed, timings)
    if cut == 0:
        cache_note = "Every group trains, so the whole network runs on every batch."
    elif not cfg.use_cache:
        cache_note = "Feature cache off: the frozen groups run (without gradients) on every batch."
    elif not cfg.frozen_bn_eval:
        cache_note = ("Frozen groups' BatchNorm is in train mode, so their output changes as statistics "
                      "drift: they run on every batch, nothing is cached.")
    elif cfg.augment:
        cache_note = ("Augmentation is on, so training images differ every epoch: the frozen groups run "
                      "on every batch (validation features are still cached).")
    else:
        cache_note = (f"The frozen groups ({', '.join(model.group_names[:cut])}) ran once per image; "
                      f"training reuses their cached output.")

    batch_size = max(1, min(int(cfg.batch_size), len(data.train_y)))
    notes = list(data.notes)
    if batch_size < cfg.batch_size:
        notes.append(f"batch size lowered to {batch_size}: the training set has only {len(data.train_y)} images")
    start_vectors = _group_vectors(model)
    optimizer = _make_optimizer(cfg, model, trainable)
    train_params, total_params = models.count_params(model)
    emit(RunStarted(str(device), len(data.train_y), len(data.val_y), tuple(data.class_names), cache_note,
                    train_params, total_params, tuple(notes),
                    tuple(GroupCount(g.name, g.total, g.trainable) for g in models.group_table(model)),
                    time.perf_counter() - t_start))

    epochs: list[EpochEnded] = []
    batches: list[BatchEnded] = []
    reason, message = "finished", f"Finished {cfg.epochs} epochs."
    best = (math.inf, None, None)  # (val loss, epoch, state)
    val_pred: list[int] = []
    n_train = len(data.train_y)
    steps_per_epoch = max(1, n_train // batch_size)  # fixed batch shapes: the ragged tail is dropped
    t_train = time.perf_counter()
    timings["train_s"] = timings["eval_s"] = 0.0
    images_seen = 0

    for epoch in range(1, cfg.epochs + 1):
        if epoch in cfg.unfreeze_at and epoch > 1:
            trainable |= set(cfg.unfreeze_at[epoch])
            models.set_trainable(model, trainable)
            optimizer = _make_optimizer(cfg, model, trainable)  # new parameters need optimizer state
            emit(GroupsUnfrozen(epoch, tuple(cfg.unfreeze_at[epoch])))
        elif epoch in cfg.unfreeze_at:
            trainable |= set(cfg.unfreeze_at[epoch])
            models.set_trainable(model, trainable)
            optimizer = _make_optimizer(cfg, model, trainable)
        models.train_mode(model, cfg.frozen_bn_eval)
        perm = torch.randperm(n_train, generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        t_epoch = time.perf_counter()
        for step in range(steps_per_epoch):
            if stop.is_set():
                reason, message = "stopped", f"Stopped by request during epoch {epoch}."
                break
            idx = perm[step * batch_size:(step + 1) * batch_size]
            yb = data.train_y[idx].to(device)
            xb = inputs.train_batch(idx, gen)
            with _autocast(device):
                logits = model.forward_from(xb, cut).float()
            loss = F.cross_entropy(logits, yb)
            if not torch.isfinite(loss):
                reason = "diverged"
                message = (f"Training diverged in epoch {epoch}: the loss became {loss.item()}. The learning "
                           f"rate ({cfg.lr:g}) is most likely too high for these layers; try 10x smaller "
                           f"(1e-3 or 1e-4 suit fine-tuning).")
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
            images_seen += len(idx)
            elapsed_train = time.perf_counter() - t_train
            row = BatchEnded(epoch, step + 1, steps_per_epoch, (epoch - 1) * steps_per_epoch + step + 1,
                             loss.item(), float((logits.argmax(1) == yb).float().mean()),
                             images_seen / max(elapsed_train, 1e-9), time.perf_counter() - t_start)
            batches.append(row)
            emit(row)
        timings["train_s"] += time.perf_counter() - t_epoch
        if reason in ("stopped", "diverged"):
            break
        inputs.ensure_val_features()  # first epoch only: timed as cache_s, not eval_s
        t_eval = time.perf_counter()
        if cfg.precise_bn:
            recalibrate_bn(model, inputs, trainable, n_train, device, stop=stop)
        val_loss, val_acc, val_pred = evaluate(model, inputs, data.val_y, device, stop=stop)
        timings["eval_s"] += time.perf_counter() - t_eval
        if stop.is_set():
            reason, message = "stopped", f"Stopped by request at the end of epoch {epoch}."
            val_pred = []
            break
        if not math.isfinite(val_loss):
            reason = "diverged"
            message = (f"The validation loss became {val_loss} in epoch {epoch}: the weights blew up. The "
                       f"learning rate ({cfg.lr:g}) is most likely too high; try 10x smaller.")
        tp, tot = models.count_params(model)
        row = EpochEnded(epoch, cfg.epochs, loss_sum / max(seen, 1), correct / max(seen, 1), val_loss, val_acc,
                         tp, tot, tuple(sorted(trainable, key=model.group_names.index)),
                         _weight_change(model, start_vectors), {g["name"]: g["lr"] for g in optimizer.param_groups},
                         time.perf_counter() - t_start, images_seen / max(time.perf_counter() - t_train, 1e-9))
        epochs.append(row)
        emit(row)
        if reason == "diverged":
            break
        if val_loss < best[0]:
            keep = {k: v.detach().clone() for k, v in model.state_dict().items()} if cfg.early_stopping else None
            best = (val_loss, epoch, keep)
        elif cfg.early_stopping and epoch - best[1] >= cfg.early_stopping:
            reason = "early_stopped"
            message = (f"Early stopping after epoch {epoch}: validation loss has not improved for "
                       f"{cfg.early_stopping} epochs. Weights restored from epoch {best[1]}.")
            break

    if reason == "early_stopped" and best[2] is not None:
        model.load_state_dict(best[2])
        t_eval = time.perf_counter()
        _, _, val_pred = evaluate(model, inputs, data.val_y, device)
        timings["eval_s"] += time.perf_counter() - t_eval
    timings["total_s"] = time.perf_counter() - t_start
    result = RunResult(reason, message, cfg, data.class_names, epochs, batches,
                       data.val_y.tolist() if val_pred else [], val_pred, best[1], str(device),
                       {k: round(v, 3) for k, v in timings.items()}, cache_note, model.cpu().eval())
    emit(RunEnded(reason, message, result.summary()))
    return result


def lr_range_test(cfg: TrainConfig, data: PreparedData | None = None, min_lr: float = 1e-6,
                  max_lr: float = 1.0, steps: int = 60, stop: threading.Event | None = None) -> dict:
    """Leslie Smith's LR range test: raise the LR exponentially over `steps` batches and record the
    loss. Suggests the LR where the smoothed loss falls fastest (a common, robust pick)."""
    probe = replace(cfg, lr=min_lr, group_lr={}, epochs=1, early_stopping=0)
    probe.validate()
    configure_threads()
    device = resolve_device(cfg.device)
    data = data or prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    model = models.build_model(cfg.model, data.num_classes, cfg.pretrained, seed=cfg.seed)
    trainable = set(cfg.trainable) or {models.HEAD}
    models.set_trainable(model, trainable)
    model.to(device).to(memory_format=torch.channels_last)
    cut = min(models.first_trainable_index(model, trainable), len(model.group_names) - 1)
    inputs = _Inputs(probe, model, data, device, cut, cut > 0 and cfg.frozen_bn_eval and not cfg.augment
                     and cfg.use_cache, False, {})
    optimizer = _make_optimizer(probe, model, trainable)
    gen = torch.Generator().manual_seed(cfg.seed)
    batch = max(1, min(cfg.batch_size, len(data.train_y)))
    factor = (max_lr / min_lr) ** (1 / max(1, steps - 1))
    lrs, losses, smooth, best = [], [], None, math.inf
    perm = torch.randperm(len(data.train_y), generator=gen)
    models.train_mode(model, cfg.frozen_bn_eval)
    for i in range(steps):
        if stop is not None and stop.is_set():
            break
        lr = min_lr * factor ** i
        for g in optimizer.param_groups:
            g["lr"] = lr
        start = (i * batch) % max(1, len(perm) - batch + 1)
        idx = perm[start:start + batch]
        loss = F.cross_entropy(model.forward_from(inputs.train_batch(idx, gen), cut).float(),
                               data.train_y[idx].to(device))
        if not torch.isfinite(loss):
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        smooth = loss.item() if smooth is None else 0.7 * smooth + 0.3 * loss.item()
        lrs.append(lr)
        losses.append(smooth)
        best = min(best, smooth)
        if smooth > 4 * best and i > 5:
            break  # the loss has blown up: the rest of the range says nothing new
    suggestion = None
    if len(losses) >= 5:
        grads = np.gradient(np.array(losses), np.log10(np.array(lrs)))
        end = int(np.argmin(losses))  # only look left of the minimum
        k = int(np.argmin(grads[: max(1, end)]))
        suggestion = float(lrs[k])
    return {"lrs": lrs, "losses": losses, "suggested_lr": suggestion}
