"""The Lab's instant preview: a head-only run's curves, trained in milliseconds on cached features.

When every backbone group is frozen (and their output cannot drift: BatchNorm in eval mode, no
augmentation), a run trains one Dropout + Linear head on features that are fixed per image. Those
features are computed once per (backbone, weights, dataset, size, images per class, seed) and kept
in a bounded cache, so moving the learning rate, weight decay or epochs only reruns the head.

Why the numbers match a real run's: the head starts from the same weights (core.models.backbones.
fresh_model), the optimizer is built by the engine's own core.train.optim over the same parameter
group, the rate follows the same schedule factors, batches come from the same seeded permutation,
and dropout draws from a private generator started in the state the engine's global one is in at its
first training step. So on a CPU the same seed gives the same curves, without touching the server's
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
from core.train.freezing import CACHE_ALL, cache_plan, ever_trainable, prefix_end
from core.train.inputs import Inputs, configure_threads
from core.train.optim import make_optimizer
from core.train.schedules import factors, set_rates, steps_per_epoch

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


def preview(cfg: TrainConfig) -> Preview:
    """Train only the head of `cfg` on cached frozen features; the curves the real run would draw.
    Raises ValueError when `unavailable(cfg)`, and the engine's LearnerErrors for bad settings."""
    why = unavailable(cfg)
    if why:
        raise ValueError(why)
    cfg.validate()
    feats = features(cfg)
    head, gen = _fresh_head(cfg, feats)
    optimizer = make_optimizer(cfg, head, {models.HEAD})
    with _one_thread():
        return _fit(cfg, feats, head, optimizer, gen)


@contextmanager
def _one_thread():
    """Tensors of a few thousand numbers: a second thread only adds hand-offs, and on a loaded
    2-core machine they spin (a warm preview took 3 s on two threads, 0.27 s on one, at load 15).
    The web server's process runs no training (core.jobs.workers), so nothing else needs them meanwhile."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    assert cache_plan(prefix_end(model.group_names, {models.HEAD}), True, False) == CACHE_ALL
    plain = replace(cfg, device="cpu")
    inputs = Inputs(plain, model, data, torch.device("cpu"), cut, True, True, {})
    inputs.ensure_val_features()
    assert inputs.train_feats is not None and inputs.val_feats is not None
    head = {k: v.detach().clone() for k, v in model.head.state_dict().items()}
    dropout = next(m.p for m in model.head.modules() if isinstance(m, nn.Dropout))
    return _Features(inputs.train_feats, data.train_y, inputs.val_feats, data.val_y, head, rng, dropout)


class _SeededDropout(nn.Module):
    """nn.Dropout's CPU arithmetic (a Bernoulli mask scaled by 1/(1-p)) on a generator of its own."""

    def __init__(self, p: float, gen: torch.Generator):
        super().__init__()
        self.p, self.gen = p, gen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        noise = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.gen)
        return x * noise.div_(1 - self.p)


def _fresh_head(cfg: TrainConfig, feats: _Features) -> tuple[models.GroupedNet, torch.Generator]:
    """A network of just the head (so the engine's optimizer code applies as is), and its dropout's generator."""
    gen = torch.Generator()
    gen.set_state(feats.rng)
    weight = feats.head["1.weight"]
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    linear.load_state_dict({"weight": weight, "bias": feats.head["1.bias"]})
    head = nn.Sequential(_SeededDropout(feats.dropout, gen), linear)
    return models.GroupedNet([], head, arch=cfg.model), gen


def _fit(
    cfg: TrainConfig, feats: _Features, net: models.GroupedNet, optimizer: torch.optim.Optimizer, gen: torch.Generator
) -> Preview:
    """The engine's loop (core.train.engine) with nothing but the head: same permutation, rates and
    early stopping."""
    n = len(feats.train_y)
    batch = max(1, min(int(cfg.batch_size), n))
    steps = steps_per_epoch(n, cfg.batch_size)
    curve = factors(cfg.schedule, cfg.epochs * steps, cfg.warmup)
    order = torch.Generator().manual_seed(cfg.seed)  # the engine's run.gen: batches in the same order
    epochs: list[PreviewEpoch] = []
    reason = "finished"
    for epoch in range(1, cfg.epochs + 1):
        net.head.train()
        perm = torch.randperm(n, generator=order)
        loss_sum, correct = 0.0, 0
        for step in range(steps):
            idx = perm[step * batch : (step + 1) * batch]
            set_rates(optimizer, curve[(epoch - 1) * steps + step])
            logits = net.head(feats.train_x[idx])
            loss = F.cross_entropy(logits, feats.train_y[idx])
            if not torch.isfinite(loss):
                return Preview(tuple(epochs), "diverged", len(feats.val_y), None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == feats.train_y[idx]).sum())
        val_loss, val_acc = _score(net.head, feats)
        epochs.append(PreviewEpoch(epoch, loss_sum / (steps * batch), correct / (steps * batch), val_loss, val_acc))
        if not math.isfinite(val_loss):
            return Preview(tuple(epochs), "diverged", len(feats.val_y), None)
        if _patience_out(cfg, epochs):
            reason = "early_stopped"
            break
    best = best_epoch(epochs)
    return Preview(tuple(epochs), reason, len(feats.val_y), best.epoch if best else None)


def _score(head: nn.Module, feats: _Features) -> tuple[float, float]:
    head.eval()
    with torch.inference_mode():
        logits = head(feats.val_x)
        loss = F.cross_entropy(logits, feats.val_y).item()
        acc = float((logits.argmax(1) == feats.val_y).float().mean())
    return loss, acc


def _patience_out(cfg: TrainConfig, epochs: list[PreviewEpoch]) -> bool:
    """The engine's early stopping: no new lowest validation loss for `early_stopping` epochs."""
    best = best_epoch(epochs)
    return bool(cfg.early_stopping) and best is not None and epochs[-1].epoch - best.epoch >= cfg.early_stopping


def clear_cache() -> None:
    _CACHE.clear()
