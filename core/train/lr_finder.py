"""Leslie Smith's learning-rate range test: a short probe run that suggests a learning rate.

Shares the engine's set-up (inputs, the frozen-prefix plan, the optimizer) so the probe trains the
same groups on the same inputs the real run will start with.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from core.data.datasets import PreparedData, prepare
from core.models import backbones as models
from core.train.config import TrainConfig
from core.train.freezing import cache_plan, caches_train, prefix_end
from core.train.inputs import Inputs, configure_threads, resolve_device
from core.train.optim import make_optimizer


def lr_range_test(
    cfg: TrainConfig,
    data: PreparedData | None = None,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    steps: int = 60,
    stop: threading.Event | None = None,
) -> dict:
    """Leslie Smith's LR range test: raise the LR exponentially over `steps` batches and record the
    loss. Suggests the LR where the smoothed loss falls fastest (a common, robust pick)."""
    probe = replace(cfg, lr=min_lr, group_lr={}, epochs=1, early_stopping=0)
    probe.validate()
    configure_threads()
    device = resolve_device(cfg.device)
    data = data or prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    model, inputs, optimizer = _probe(probe, data, device)
    cut = inputs.cut
    gen = torch.Generator().manual_seed(cfg.seed)
    batch = max(1, min(cfg.batch_size, len(data.train_y)))
    factor = (max_lr / min_lr) ** (1 / max(1, steps - 1))
    lrs, losses, smooth, best = [], [], None, math.inf
    perm = torch.randperm(len(data.train_y), generator=gen)
    models.train_mode(model, cfg.frozen_bn_eval)
    for i in range(steps):
        if stop is not None and stop.is_set():
            break
        lr = min_lr * factor**i
        for g in optimizer.param_groups:
            g["lr"] = lr
        start = (i * batch) % max(1, len(perm) - batch + 1)
        idx = perm[start : start + batch]
        loss = F.cross_entropy(
            model.forward_from(inputs.train_batch(idx, gen), cut).float(), data.train_y[idx].to(device)
        )
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
    return {"lrs": lrs, "losses": losses, "suggested_lr": suggest_lr(lrs, losses)}


def _probe(probe: TrainConfig, data: PreparedData, device: torch.device):
    """(model, inputs, optimizer) for the groups that train in the first epoch (the head if none)."""
    model = models.build_model(probe.model, data.num_classes, probe.pretrained, seed=probe.seed)
    trainable = set(probe.trainable) or {models.HEAD}
    models.set_trainable(model, trainable)
    model.to(device).to(memory_format=torch.channels_last)
    cut = prefix_end(model.group_names, trainable)
    plan = cache_plan(cut, probe.frozen_bn_eval, probe.augment, probe.use_cache)
    return (
        model,
        Inputs(probe, model, data, device, cut, caches_train(plan), False, {}),
        make_optimizer(probe, model, trainable),
    )


def suggest_lr(lrs: list[float], losses: list[float]) -> float | None:
    """The LR where the smoothed loss falls fastest, left of its minimum (None with under 5 points)."""
    if len(losses) < 5:
        return None
    grads = np.gradient(np.array(losses), np.log10(np.array(lrs)))
    end = int(np.argmin(losses))  # only look left of the minimum
    return float(lrs[int(np.argmin(grads[: max(1, end)]))])
