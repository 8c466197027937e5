"""The Lab's instant preview: a head-only run's curves, trained in milliseconds on cached features.

When every backbone group is frozen (and their output cannot drift: BatchNorm in eval mode, no
augmentation), a run trains one Dropout + Linear head on features that are fixed per image. Those
features are computed once per (backbone, weights, dataset, size, images per class, seed) and kept
in a bounded cache, so moving the learning rate, weight decay or epochs only reruns the head.

Why the numbers match a real run's: the head starts from the same weights (core.models.backbones.
fresh_model), the optimizer follows torch's arithmetic (core.train.head_steps), the rate follows the
same schedule factors, batches come from the same seeded permutation, and dropout draws its masks
from a private generator started in the state the engine's global one is in at its first training
step. So on a CPU the same seed gives the same curves up to rounding, without touching the server's
global random state (other sessions' threads share it).
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from core.cache import LRUCache, tensor_bytes
from core.data.datasets import prepare
from core.models import backbones as models
from core.train.config import TrainConfig
from core.train.events import best_epoch
from core.train.freezing import ever_trainable
from core.train.head_steps import HeadStep, softmax_step
from core.train.inputs import Inputs, configure_threads, torch_threads
from core.train.schedules import factors, steps_per_epoch

LABEL = "instant preview: head only"
PREVIEW_CACHE_MB = 256  # features of a few setups (200 images at 1,280 floats are 1 MB)


@dataclass(frozen=True)
class PreviewEpoch:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float


@dataclass(frozen=True)
class Preview:
    epochs: tuple[PreviewEpoch, ...]
    reason: str  # finished | early_stopped | diverged, as the engine names them
    n_val: int
    best_epoch: int | None

    @property
    def final(self) -> PreviewEpoch | None:
        """The epoch whose model the real run would hand back (the restored best after early stopping)."""
        if self.reason == "early_stopped" and self.best_epoch:
            return self.epochs[self.best_epoch - 1]
        return self.epochs[-1] if self.epochs else None


@dataclass(frozen=True)
class _Features:
    """Everything about a setup that the head's training rates and epochs cannot change."""

    train_x: torch.Tensor  # [N, C] pooled features of the frozen backbone
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    head: dict[str, torch.Tensor]  # the fresh head's weights, as fresh_model gives them
    rng: torch.Tensor  # the global CPU generator's state right after fresh_model: dropout's start
    dropout: float  # the head's dropout rate

    def nbytes(self) -> int:
        return sum(tensor_bytes(t) for t in (self.train_x, self.val_x, self.train_y, self.val_y))


_CACHE = LRUCache(PREVIEW_CACHE_MB * 1024 * 1024, weigh=lambda f: f.nbytes(), keep_newest=True)
# Finished previews by setting: the Lab's page reruns for controls the preview does not read (a chart
# picker, projector mode), and a learner sliding back to a value gets its curves at once.
_RESULTS = LRUCache(128)
_BUILD_LOCK = threading.Lock()  # one build at a time: two sessions asking for one setup build it once


def unavailable(cfg: TrainConfig) -> str | None:
    """Why this setup has no preview (a sentence), or None when it has one."""
    if ever_trainable(cfg) != {models.HEAD}:
        return "The preview needs every backbone group frozen (only the head trains)."
    if cfg.augment:
        return "Augmentation changes the images every epoch, so the frozen features cannot be computed once."
    if not cfg.frozen_bn_eval:
        return "Frozen BatchNorm in train mode changes the frozen features as it runs, so they cannot be cached."
    return None


def preview(cfg: TrainConfig, reuse: bool = True) -> Preview:
    """Train only the head of `cfg` on cached frozen features; the curves the real run would draw.
    reuse=False trains again even when this setting was previewed before (a benchmark's choice).
    Raises ValueError when `unavailable(cfg)`, and the engine's LearnerErrors for bad settings."""
    why = unavailable(cfg)
    if why:
        raise ValueError(why)
    cfg.validate()
    key = repr(cfg)  # the whole setting: a frozen dataclass with dict fields, so not hashable itself
    done = _RESULTS.get(key) if reuse else None
    if done is None:
        feats = features(cfg)
        with _one_thread(), torch.no_grad():
            done = _fit(cfg, feats)
        _RESULTS.put(key, done)
    return done


@contextmanager
def _one_thread():
    """Tensors of a few thousand numbers: a second thread only adds hand-offs, and on a loaded
    2-core machine they spin (a warm preview took 3 s on two threads, 0.27 s on one, at load 15).
    The web server's process runs no training (core.jobs.workers), so nothing else needs them meanwhile.
    Restored to the configured count, not to what was set on entry: two sessions' previews overlapping
    would otherwise leave the process on one thread."""
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads())


def features(cfg: TrainConfig) -> _Features:
    """The frozen backbone's pooled features for `cfg`'s data, computed once per setup."""
    key = (cfg.model, cfg.pretrained, cfg.dataset, cfg.image_size, cfg.per_class, cfg.val_per_class, cfg.seed)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    with _BUILD_LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = _build(cfg)
            _CACHE.put(key, hit)
    return hit


def _build(cfg: TrainConfig) -> _Features:
    """Run the frozen groups once over the training and validation images, as the engine's cache does
    (core.train.inputs.Inputs, on the CPU); the global random state is left as it was."""
    configure_threads()
    data = prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    with torch.random.fork_rng(devices=[]):
        model = models.fresh_model(cfg.model, data.num_classes, cfg.pretrained, cfg.seed)
        rng = torch.get_rng_state()
    cut = len(model.group_names) - 1  # the head's index: features_until pools there
    plain = replace(cfg, device="cpu")
    inputs = Inputs(plain, model, data, torch.device("cpu"), cut, True, True, {})
    inputs.ensure_val_features()
    assert inputs.train_feats is not None and inputs.val_feats is not None
    head = {k: v.detach().clone() for k, v in model.head.state_dict().items()}
    dropout = next(m.p for m in model.head.modules() if isinstance(m, nn.Dropout))
    return _Features(inputs.train_feats, data.train_y, inputs.val_feats, data.val_y, head, rng, dropout)


def _dropout_gen(feats: _Features) -> torch.Generator:
    """Dropout's generator, in the state the engine's global one is in at its first training step."""
    gen = torch.Generator()
    gen.set_state(feats.rng)
    return gen


def _fit(cfg: TrainConfig, feats: _Features) -> Preview:
    """The engine's loop (core.train.engine) with nothing but the head: the same batch order, dropout
    masks, rates per step and early stopping; its optimizer's arithmetic in core.train.head_steps."""
    n, dim = feats.train_x.shape
    batch = max(1, min(int(cfg.batch_size), n))
    steps = steps_per_epoch(n, cfg.batch_size)
    curve = factors(cfg.schedule, cfg.epochs * steps, cfg.warmup)
    peak = float(cfg.group_lr.get(models.HEAD, cfg.lr))
    order, gen = torch.Generator().manual_seed(cfg.seed), _dropout_gen(feats)  # order: the engine's run.gen
    w = torch.cat([feats.head["1.weight"], feats.head["1.bias"][:, None]], 1)  # the bias as a last column
    step_fn = HeadStep(cfg, w)
    xa = torch.ones(batch, dim + 1)  # a batch after dropout, and the bias's column of ones
    val_x = torch.cat([feats.val_x, torch.ones(len(feats.val_x), 1)], 1)
    keep = 1 - feats.dropout
    rows = torch.arange(batch)
    epochs: list[PreviewEpoch] = []
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(n, generator=order)[: steps * batch]
        shuffled_x, shuffled_y = feats.train_x[perm], feats.train_y[perm]  # one gather per epoch; steps slice it
        loss_sum, correct = 0.0, torch.zeros((), dtype=torch.long)
        for step in range(steps):
            xb, yb = shuffled_x[step * batch : (step + 1) * batch], shuffled_y[step * batch : (step + 1) * batch]
            if feats.dropout:  # nn.Dropout's CPU arithmetic: a Bernoulli mask scaled by 1/keep
                torch.mul(xb, torch.empty_like(xb).bernoulli_(keep, generator=gen).div_(keep), out=xa[:, :dim])
            else:
                xa[:, :dim] = xb
            logits, loss, grad = softmax_step(xa, yb, w, rows)
            value = loss.item()
            if not math.isfinite(value):
                return Preview(tuple(epochs), "diverged", len(feats.val_y), None)
            step_fn(grad, peak * curve[(epoch - 1) * steps + step])
            loss_sum += value * batch
            correct += (logits.argmax(1) == yb).sum()
        val_loss, val_acc = _score(w, val_x, feats.val_y)
        epochs.append(
            PreviewEpoch(epoch, loss_sum / (steps * batch), int(correct) / (steps * batch), val_loss, val_acc)
        )
        if not math.isfinite(val_loss):
            return Preview(tuple(epochs), "diverged", len(feats.val_y), None)
        if _patience_out(cfg, epochs):
            best = best_epoch(epochs)
            return Preview(tuple(epochs), "early_stopped", len(feats.val_y), best.epoch if best else None)
    best = best_epoch(epochs)
    return Preview(tuple(epochs), "finished", len(feats.val_y), best.epoch if best else None)


def _score(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    logits = x @ w.T
    return F.cross_entropy(logits, y).item(), float((logits.argmax(1) == y).float().mean())


def _patience_out(cfg: TrainConfig, epochs: list[PreviewEpoch]) -> bool:
    """The engine's early stopping: no new lowest validation loss for `early_stopping` epochs."""
    best = best_epoch(epochs)
    return bool(cfg.early_stopping) and best is not None and epochs[-1].epoch - best.epoch >= cfg.early_stopping


def clear_cache() -> None:
    _CACHE.clear()
    _RESULTS.clear()
