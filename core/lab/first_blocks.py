"""A learner's own image through the first blocks of the ImageNet-pretrained MobileNetV2: the
activation maps after the stem and after blocks 1 and 2, and how much more they respond along the
image's edges than on its flat areas.

Why measured on the learner's image: the stem figure (core.lab.stem_filters) shows what the kernels
*could* detect; running a picture the learner chose through them shows what they *do*, and the
edge-to-flat ratio turns "early layers detect edges" into a number computed from that picture.
Edges are where the image's brightness gradient (Sobel) is strong, flat areas where it is nearly zero;
the maps' outer ring is left out because zero padding makes an edge of the image's border.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.data.datasets import load_raw, to_square_tensor
from core.lab.stem_filters import EDGE, stem_filters
from core.runs.analysis import read_image_bytes
from core.train.inputs import normalise

__all__ = [
    "SAMPLES",
    "SIZE",
    "STAGES",
    "FirstBlocks",
    "StageMaps",
    "describe",
    "response",
    "edge_share",
    "edge_strength",
    "first_blocks",
    "from_upload",
    "sample_image",
]

SIZE = 128  # pixels fed in: the stem's maps are then 64x64, large enough to see shapes on
TOP = 8  # channels shown per stage, the most active first
STAGES = (  # (name, how many of torchvision's `features` modules it has run)
    ("stem", 1),
    ("block 1", 2),
    ("block 2", 3),
)
STRONG_EDGE = 0.25  # gradient at least this share of the image's strongest: an edge
FLAT = 0.05  # gradient at most this share: a flat area
CLEAR = 1.5  # edges holding this many times their share of the picture: a clear effect to point at
MIN_GRADIENT = 0.1  # strongest Sobel gradient (of a 0-1 grey image) below this: the image has no edges
_CPU = torch.device("cpu")
SAMPLES = {  # label -> (offline dataset, class number): its first image of that class; every installation has them
    "a handwritten 7 (MNIST, the Lab's default dataset)": ("mnist", 7),
    "a face (faces)": ("faces", 0),
    "a brick wall (textures)": ("textures", 0),
}


@dataclass(frozen=True)
class StageMaps:
    name: str
    maps: np.ndarray  # [TOP, H, W] float32: the channels that respond most (response()), strongest first
    channels: tuple[int, ...]  # their channel numbers
    strength: tuple[float, ...]  # their response()
    total: int  # channels in the stage
    receptive_field: int  # input pixels (a square's side) one value of a map depends on
    edge_share: float  # share of all its channels' response that lies on the image's edges; NaN: no edges


@dataclass(frozen=True)
class FirstBlocks:
    view: np.ndarray  # SxSx3 uint8: the image as the network received it
    stages: tuple[StageMaps, ...]
    edge_area: float  # share of the stem's map that is edges (NaN: no edges or no flat area)
    stem_edge_share: float  # edge_share of the stem's edge-detecting channels only
    stem_edge_channels: int


@lru_cache(maxsize=1)
def _first_modules() -> nn.Sequential:
    """The pretrained network's features[:3], in eval mode (BatchNorm on its ImageNet statistics)."""
    from core.models import backbones as models

    features = models.load_torchvision_model("mobilenet_v2", True).get_submodule("features")
    assert isinstance(features, nn.Sequential), type(features)
    return features[: STAGES[-1][1]].eval()


def receptive_field(modules: nn.Module) -> int:
    """The side of the input square one output value depends on, from the convolutions in order."""
    field, jump = 1, 1
    for m in modules.modules():
        if isinstance(m, nn.Conv2d):
            k, s = m.kernel_size[0], m.stride[0]
            field += (k - 1) * jump
            jump *= s
    return field


def edge_strength(view: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude [S, S] of the image's grey version, on a 0-1 brightness scale."""
    grey = torch.from_numpy(view.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255)
    sx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 4
    kernels = torch.stack([sx, sx.T])[:, None]
    g = F.conv2d(F.pad(grey[None, None], (1, 1, 1, 1), mode="replicate"), kernels)[0]
    return g.pow(2).sum(0).sqrt().numpy()


def _masks(edges: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(strong-edge, flat) masks at a map's size, outer ring dropped; None when either is empty."""
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(edges)[None, None], shape)[0, 0].numpy()[1:-1, 1:-1]
    top = float(pooled.max()) if pooled.size else 0.0
    if top < MIN_GRADIENT:
        return None
    strong, flat = pooled >= STRONG_EDGE * top, pooled <= FLAT * top
    return (strong, flat) if strong.any() and flat.any() else None


def edge_share(acts: np.ndarray, edges: np.ndarray) -> tuple[float, float]:
    """(share of the response on edges, share of the map that is edges) for `acts` [C, H, W].

    A channel's response is how far it departs from what it gives on a flat area (its median there):
    BatchNorm and ReLU6 give most channels a constant output on flat colour, which is not a detection.
    NaNs when the image has no edge or no flat area to compare."""
    masks = _masks(edges, acts.shape[1:])
    if masks is None:
        return float("nan"), float("nan")
    strong, flat = masks
    inner = acts[:, 1:-1, 1:-1]
    baseline = np.median(inner[:, flat], axis=1)[:, None, None]
    response = np.abs(inner - baseline)
    total = float(response.sum())
    return (float(response[:, strong].sum()) / total if total else float("nan")), float(strong.mean())


def response(acts: np.ndarray) -> np.ndarray:
    """Each channel's mean departure from its own median [C]: how much it reacts to what is in the
    image. Its plain mean would rank first the channels that BatchNorm leaves at a constant level."""
    return np.abs(acts - np.median(acts, axis=(1, 2), keepdims=True)).mean(axis=(1, 2))


def _stage(name: str, acts: np.ndarray, edges: np.ndarray, field: int, top: int, first: list[int]) -> StageMaps:
    """The `top` channels to show: those in `first` (the stem's edge detectors), then the rest, each
    group by response, strongest first."""
    strength = response(acts)
    rest = [c for c in range(len(acts)) if c not in first]
    order = [c for group in (first, rest) for c in sorted(group, key=lambda c: -strength[c])][:top]
    return StageMaps(
        name,
        acts[order].astype(np.float32),
        tuple(order),
        tuple(float(strength[c]) for c in order),
        len(acts),
        field,
        edge_share(acts, edges)[0],
    )


def first_blocks(image: np.ndarray, size: int = SIZE, top: int = TOP) -> FirstBlocks:
    """Run `image` (HxW or HxWx3 uint8) through the stem and blocks 1-2 of the pretrained MobileNetV2.
    The stem shows its edge-detecting channels first: a brightness channel's map of a bright object
    reacts more in total, but the edge channels are the point of the figure this sits under."""
    x = to_square_tensor(np.array(image, dtype=np.uint8), size)  # a copy: a decoded image can be read-only
    view = x.permute(1, 2, 0).numpy()
    edges = edge_strength(view)
    modules = _first_modules()
    edge_channels = [i for i, k in enumerate(stem_filters().kinds) if k == EDGE]
    stages, h = [], normalise(x[None], _CPU)
    with torch.inference_mode():
        done = 0
        for name, upto in STAGES:
            h = modules[done:upto](h)
            done = upto
            acts = h[0].float().numpy()
            first = edge_channels if name == "stem" else []
            stages.append(_stage(name, acts, edges, receptive_field(modules[:upto]), top, first))
            if name == "stem":
                stem_share, area = edge_share(acts[edge_channels], edges)
    return FirstBlocks(view, tuple(stages), area, stem_share, len(edge_channels))


def sample_image(label: str) -> np.ndarray:
    """One of SAMPLES, as its dataset stores it (HxW grey or HxWx3 uint8)."""
    dataset, label_number = SAMPLES[label]
    raw = load_raw(dataset)
    return np.asarray(raw.read(int(np.flatnonzero(raw.labels == label_number)[0])))


def from_upload(content: bytes, name: str) -> FirstBlocks:
    """first_blocks of an uploaded file, read with the Lab's photo checks (formats, size, pixels, EXIF
    turn); DataError, saying what to do, for a file that cannot be used."""
    return first_blocks(read_image_bytes(content, name, max_short_side=2 * SIZE))


def describe(fb: FirstBlocks) -> str:
    """What to notice, from the numbers measured on this image."""
    stem, last = fb.stages[0], fb.stages[-1]
    if np.isnan(fb.stem_edge_share):
        return (
            "This image has no clear edge next to a flat area (it is flat all over, or texture everywhere), "
            "so there is nothing to compare: try a picture with clear outlines, such as a digit or an object "
            "on a plain background."
        )
    measured = (
        f"its edges cover {fb.edge_area:.0%} of the picture and hold {fb.stem_edge_share:.0%} of the response "
        f"of the stem's {fb.stem_edge_channels} edge-detecting channels ({stem.edge_share:.0%} for all "
        f"{stem.total} stem channels)"
    )
    if fb.stem_edge_share >= CLEAR * fb.edge_area:
        first = (
            f"Look for your image's outlines in the stem's maps. Measured on this image: {measured}. The first "
            f"layer reacts where brightness changes and stays quiet on flat areas."
        )
    else:
        first = (
            f"Measured on this image: {measured}, not much more than their share of the picture, so the effect "
            f"is weak here (soft edges, noise or fine texture). A picture with sharp outlines on a plain "
            f"background shows it clearly."
        )
    return (
        f"{first} Each stem value sees only a {stem.receptive_field}x{stem.receptive_field}-pixel patch, far "
        f"too little to know what the object is. After {last.name} the maps are {last.maps.shape[-1]}x"
        f"{last.maps.shape[-2]} and each value sees {last.receptive_field}x{last.receptive_field} pixels: "
        f"its channels combine the stem's edges into slightly larger patterns. Nothing here depends on "
        f"your classes, which is why these layers transfer to almost any task and are usually frozen."
    )
