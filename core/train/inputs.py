"""What the trainable part of the network is fed, and where it runs.

Built for short runs on a CPU: data arrives as uint8 tensors (decoded once), normalisation and
augmentation happen on the device, and a frozen prefix of the network runs without autograd and,
when its output cannot change (core.train.freezing.cache_plan), once per image via core.cache. Batches for
passes without gradients are sized for the device.
"""

from __future__ import annotations

import os
import time

import torch
import torch.nn.functional as F

from core import settings
from core.cache import FEATURES
from core.data.datasets import PreparedData
from core.models import backbones as models
from core.train import precision
from core.train.config import ConfigError

NO_FLIP_DATASETS = {"mnist", "digits"}  # a mirrored digit is a different symbol (or none)
# What the pretrained weights expect, from torchvision's weights enum; the weights of every backbone
# here were trained with the same ImageNet statistics (tests/test_models.py checks), so one pair serves all.
IMAGENET_MEAN, IMAGENET_STD = models.backbone_spec(models.DEFAULT_BACKBONE).normalisation()


# ---- device and threads -------------------------------------------------------------------------

_threads_set = False


def configure_threads() -> None:
    """Use one thread per available core, once (2 threads are ~1.5x one on a 2-core machine), or
    FTLAB_TORCH_THREADS where set."""
    global _threads_set
    if not _threads_set:
        torch.set_num_threads(torch_threads())
        _threads_set = True


def torch_threads() -> int:
    """FTLAB_TORCH_THREADS, else one per available core."""
    configured = settings.current().torch_threads
    if configured is not None:
        return configured
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


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
    x = torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offs)])
    if flip:
        mask = (torch.rand(b, generator=gen) < 0.5).to(x.device).view(b, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    scale = (1 + 0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)).to(x.device)
    shift = (0.2 * (torch.rand(b, 1, 1, 1, generator=gen) - 0.5)).to(x.device)
    return x * scale + shift


def inference_batch(device: torch.device) -> int:
    """Batch size for passes without gradients (cache building, BN recalibration, evaluation).

    On a CPU, batches of 64 images keep activations in cache: at 64 px a MobileNetV2 forward over
    batches of 128 or 256 measured about 2x slower per image. Outputs in eval mode do not depend on
    the batch size. GPUs prefer large batches.
    """
    return 256 if device.type == "cuda" else 64


def layout(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def autocast(device: torch.device):
    """The precision policy's autocast (core.train.precision: bf16, scaled fp16 or fp32)."""
    return precision.autocast(device)


# ---- what the trainable groups see --------------------------------------------------------------


def prefix_key(model: str, pretrained: bool, seed: int, cut: int, data_key, split: str, device) -> tuple:
    """The feature cache's key for a frozen prefix's output: the one place that spells it, so the
    Lab's feature maps (core.runs.feature_map) find exactly what a run cached."""
    init = "imagenet" if pretrained else f"scratch-seed{seed}"
    return (model, init, cut, data_key, split, str(device))


class Inputs:
    """What the trainable part of the network is fed: cached prefix features, or images."""

    def __init__(
        self,
        cfg,
        model,
        data: PreparedData,
        device: torch.device,
        cut: int,
        cache_train: bool,
        cache_val: bool,
        timings: dict[str, float],
    ):
        self.cfg, self.model, self.device, self.cut = cfg, model, device, cut
        self.flip = cfg.dataset not in NO_FLIP_DATASETS
        t0 = time.perf_counter()
        self.train_feats = self._features(data, "train", data.train_x) if cache_train else None
        timings["cache_s"] = time.perf_counter() - t0
        self.train_x, self.val_x = data.train_x, data.val_x
        # Validation features are built on first use (after the first epoch's training), so the first
        # training point does not wait for them. The prefix is frozen, so they come out the same.
        self.val_feats = None
        self._val_pending = (data, timings) if cache_val else None

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
        return prefix_key(self.cfg.model, self.cfg.pretrained, self.cfg.seed, self.cut, data.key, split, self.device)

    def _features(self, data: PreparedData, split: str, x: torch.Tensor) -> torch.Tensor:
        key = self._key(data, split)
        cached = FEATURES.get(key) if self.cfg.use_cache else None
        if cached is not None:
            return cached
        self.model.eval()
        outs = []
        with torch.inference_mode(), autocast(self.device):
            step = inference_batch(self.device)
            for i in range(0, len(x), step):
                xb = layout(normalise(x[i : i + step], self.device))
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
        x = layout(x)
        if self.cut == 0:
            return x
        with torch.no_grad(), autocast(self.device):
            return self.model.features_until(x, self.cut).float()

    def test_batches(self, data: PreparedData, batch: int):
        """The held-out test images, through the cached prefix when validation uses it (same frozen
        prefix, so the same features as the images would give)."""
        feats = self._features(data, "test", data.test_x) if self.val_feats is not None else None
        for i in range(0, len(data.test_x), batch):
            if feats is not None:
                yield feats[i : i + batch], self.cut
            else:
                yield layout(normalise(data.test_x[i : i + batch], self.device)), 0

    def val_batches(self, batch: int):
        self.ensure_val_features()
        n = len(self.val_x)
        for i in range(0, n, batch):
            if self.val_feats is not None:
                yield self.val_feats[i : i + batch], self.cut
            else:
                yield layout(normalise(self.val_x[i : i + batch], self.device)), 0
