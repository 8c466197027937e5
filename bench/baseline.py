"""The reference loop: fine-tuning written the way the PyTorch transfer-learning tutorial writes it.

https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html: a Dataset of PIL images,
torchvision transforms applied per sample in ``__getitem__``, a shuffling DataLoader, ``model.train()``
on the whole model, every parameter handed to the optimizer (frozen ones have requires_grad False,
as in the tutorial's fixed-feature-extractor variant), and an evaluation pass over a DataLoader after
every epoch. It uses the same network (core.models.backbones.build_model), the same images and split
(core.data.datasets.stratified_split), size, epochs, batch size, optimizer and threads as the engine, so the
benchmark compares only *how* the work is done. Augmentation is off.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from core.data.datasets import load_raw, stratified_split
from core.models import backbones as models
from core.train.config import TrainConfig
from core.train.inputs import IMAGENET_MEAN, IMAGENET_STD, configure_threads, resolve_device


class PILDataset(Dataset):
    """Images as PIL objects (what ImageFolder hands out after opening a file), transformed per sample."""

    def __init__(self, images: list[Image.Image], labels: list[int], transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), self.labels[i]


@dataclass
class BaselineResult:
    val_acc: float
    train_images: int  # images pushed through a training step (all epochs)
    timings: dict = field(default_factory=dict)  # data_s, model_s, train_s, eval_s, total_s
    epochs: list[dict] = field(default_factory=list)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def to_pil(arr: np.ndarray) -> Image.Image:
    """One source image as the RGB PIL image a file on disk would open to."""
    return Image.fromarray(np.ascontiguousarray(arr)).convert("RGB")


def run_baseline(cfg: TrainConfig) -> BaselineResult:
    """Fine-tune `cfg` tutorial-style; time from request to evaluated model (data prep included)."""
    configure_threads()
    device = resolve_device(cfg.device)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    # Data: the same source images and split as the engine, converted to PIL once up front.
    t = time.perf_counter()
    raw = load_raw(cfg.dataset)
    train_idx, val_idx, _ = stratified_split(raw.labels, cfg.per_class, cfg.val_per_class, cfg.seed)
    train_imgs = [to_pil(raw.read(int(i))) for i in train_idx]
    val_imgs = [to_pil(raw.read(int(i))) for i in val_idx]
    tf = transforms.Compose([
        transforms.Resize(cfg.image_size),
        transforms.CenterCrop(cfg.image_size),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    g = torch.Generator().manual_seed(cfg.seed)
    loaders = {
        "train": DataLoader(PILDataset(train_imgs, raw.labels[train_idx].tolist(), tf),
                            batch_size=cfg.batch_size, shuffle=True, num_workers=0, generator=g),
        "val": DataLoader(PILDataset(val_imgs, raw.labels[val_idx].tolist(), tf),
                          batch_size=cfg.batch_size, shuffle=False, num_workers=0),
    }
    timings["data_s"] = time.perf_counter() - t

    # Model: the same GroupedNet; the tutorial's freeze (requires_grad False), all params to the optimizer.
    t = time.perf_counter()
    model = models.build_model(cfg.model, len(raw.class_names), cfg.pretrained, seed=cfg.seed)
    models.set_trainable(model, set(cfg.trainable))
    model = model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    _sync(device)
    timings["model_s"] = time.perf_counter() - t
    timings["train_s"] = timings["eval_s"] = 0.0

    torch.manual_seed(cfg.seed)
    epochs, seen, val_acc = [], 0, 0.0
    for epoch in range(cfg.epochs):
        for phase in ("train", "val"):
            t = time.perf_counter()
            if phase == "train":
                model.train()
            else:
                model.eval()
            running_loss, running_corrects, n = 0.0, 0, 0
            for inputs, labels in loaders[phase]:
                inputs, labels = inputs.to(device), labels.to(device)
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data).item()
                n += inputs.size(0)
            _sync(device)
            timings[f"{phase if phase == 'train' else 'eval'}_s"] += time.perf_counter() - t
            if phase == "train":
                seen += n
                row = {"epoch": epoch + 1, "train_loss": running_loss / n, "train_acc": running_corrects / n}
            else:
                val_acc = running_corrects / n
                row.update(val_loss=running_loss / n, val_acc=val_acc)
                epochs.append(row)
    timings["total_s"] = time.perf_counter() - t_start
    return BaselineResult(val_acc, seen, {k: round(v, 3) for k, v in timings.items()}, epochs)
