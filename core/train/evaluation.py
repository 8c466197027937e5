"""Validation: precise BatchNorm statistics, then loss, accuracy and per-image probabilities.

Split from the training loop because both halves are subtle on their own: BatchNorm statistics lag
behind fast-moving weights (recalibrate_bn), and evaluation must give the same numbers whether the
frozen prefix's features come from the cache or from the images.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.data.datasets import PreparedData
from core.models import backbones as models
from core.train.inputs import Inputs, autocast, inference_batch


class Evaluation(NamedTuple):
    loss: float
    acc: float
    pred: list[int]
    probs: torch.Tensor | None  # softmax probabilities [N_val, n_classes], on the CPU (None: cut short)


PRECISE_BN_IMAGES = 256  # enough for stable mean/variance estimates; caps the per-epoch cost


def recalibrate_bn(
    model: models.GroupedNet,
    inputs: Inputs,
    trainable: set[str],
    n_train: int,
    device: torch.device,
    stop: threading.Event | None = None,
) -> None:
    """Recompute running statistics of BatchNorm layers in trainable groups over the training set.

    Running averages (momentum 0.1) lag behind weights that move fast, as in a short run from
    scratch: evaluated with such stale statistics a network that fits its training data can predict
    one class for everything. Averaging batch statistics over the training images once per epoch
    ("precise BN") makes evaluation reflect what the weights have actually learned.
    """
    names = model.group_names
    cut = inputs.cut
    bns = [
        m
        for g in trainable
        if names.index(g) >= cut
        for m in model.group(g).modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
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
    with torch.no_grad(), autocast(device):
        for i in range(0, len(sample), batch):
            if stop is not None and stop.is_set():
                break  # the run is ending: statistics no longer matter
            model.forward_from(inputs.train_batch(sample[i : i + batch], None), cut)
    for m, momentum, training in saved:
        m.momentum = momentum
        m.train(training)


def evaluate(
    model: models.GroupedNet,
    inputs: Inputs,
    val_y: torch.Tensor,
    device: torch.device,
    batch: int | None = None,
    stop: threading.Event | None = None,
) -> Evaluation:
    """Loss, accuracy, predictions and probabilities on the validation set, in eval mode. A set
    `stop` cuts it short (the caller then ends the run), so Stop is never stuck behind it."""
    batch = batch or inference_batch(device)
    return _score(model, inputs.val_batches(batch), val_y, device, stop)


def evaluate_test(model: models.GroupedNet, inputs: Inputs, data: PreparedData, device: torch.device) -> Evaluation:
    """The same on the held-out test images: once, at the end, on the model the run hands back."""
    return _score(model, inputs.test_batches(data, inference_batch(device)), data.test_y, device, None)


def _score(
    model: models.GroupedNet, batches, y: torch.Tensor, device: torch.device, stop: threading.Event | None
) -> Evaluation:
    model.eval()
    losses, preds, probs = [], [], []
    with torch.inference_mode(), autocast(device):
        for xb, start in batches:
            if stop is not None and stop.is_set():
                break
            logits = model.forward_from(xb, start).float()
            n = sum(len(p) for p in preds)
            yb = y[n : n + len(xb)].to(device)
            losses.append(F.cross_entropy(logits, yb, reduction="sum").item())
            preds.append(logits.argmax(1).cpu())
            probs.append(torch.softmax(logits, dim=1).cpu())
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    acc = float((pred == y).float().mean()) if len(pred) else 0.0
    return Evaluation(sum(losses) / max(1, len(pred)), acc, pred.tolist(), torch.cat(probs) if probs else None)
