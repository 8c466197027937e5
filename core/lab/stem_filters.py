"""The pretrained MobileNetV2's first layer, read from its real weights: evidence that early layers
detect edges and colour contrasts, for the lesson figure of kind `stem-filters`.

Why measured rather than asserted: "the first layers find edges" is said in every course; the 32 stem
kernels (3x3, one per RGB channel) are small enough to show whole, and simple arithmetic on them says
which kind each one is. A kernel is an **edge** detector when a flat patch leaves it almost silent
while a brightness step across it gives a strong response, a **colour** detector when most of its
weight is a difference between the channels (it cancels on grey), **nearly off** when its weights are
close to zero (training left it unused), and a **brightness** (blob) detector otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EDGE, COLOUR, BRIGHTNESS, OFF = "edge", "colour", "brightness", "nearly off"
OFF_NORM = 0.1  # weight norm below this: about 1% of the strongest kernels' (about 3)
EDGE_RATIO = 10.0  # a step edge moves it ten times more than a flat patch does
COLOUR_SHARE = 0.85  # share of the weight norm that cancels on a grey input
STEPS = (  # unit brightness steps across a 3x3 patch: vertical, horizontal and both diagonals
    np.array([[-1, 0, 1]] * 3, dtype=np.float32),
    np.array([[-1, 0, 1]] * 3, dtype=np.float32).T,
    np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]], dtype=np.float32),
    np.array([[1, 1, 0], [1, 0, -1], [0, -1, -1]], dtype=np.float32),
)


@dataclass(frozen=True)
class StemFilters:
    weights: np.ndarray  # [32, 3, 3, 3]: output channel, RGB, row, column
    kinds: tuple[str, ...]  # one of EDGE, COLOUR, BRIGHTNESS, OFF per kernel

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)


def kinds_of(kernels: np.ndarray) -> list[str]:
    """The kind of each [3, 3, 3] kernel in `kernels` [N, 3, 3, 3], by the rules in the module docstring."""
    norm = np.sqrt((kernels**2).sum(axis=(1, 2, 3)))
    grey = kernels.sum(axis=1)  # what each kernel does to a grey image (equal R, G and B)
    colour = np.sqrt(((kernels - grey[:, None] / 3) ** 2).sum(axis=(1, 2, 3)))
    flat = np.abs(grey.sum(axis=(1, 2)))
    edge = np.abs(np.einsum("nij,sij->ns", grey, np.stack(STEPS))).max(axis=1)
    kinds = np.where(edge >= EDGE_RATIO * flat, EDGE, BRIGHTNESS).astype(object)
    kinds[colour >= COLOUR_SHARE * norm] = COLOUR
    kinds[norm < OFF_NORM] = OFF
    return [str(k) for k in kinds]


@lru_cache(maxsize=1)
def stem_filters() -> StemFilters:
    """The 32 kernels of MobileNetV2's first convolution with its ImageNet weights (offline cache)."""
    import torch

    from core.models import backbones as models

    net = models.load_torchvision_model("mobilenet_v2", True)
    stem = net.get_submodule("features.0.0")  # torchvision's Conv2dNormActivation: the conv comes first
    assert isinstance(stem, torch.nn.Conv2d), type(stem)
    weights = stem.weight.detach().cpu().numpy().copy()
    return StemFilters(weights, tuple(kinds_of(weights)))


@lru_cache(maxsize=4)
def random_edge_counts(draws: int = 500, seed: int = 0) -> tuple[int, ...]:
    """Edge kernels among 32 drawn as torchvision initialises this layer (Kaiming normal, fan-out
    32 x 3 x 3), once per draw: what the test finds by chance, before any training."""
    rng = np.random.default_rng(seed)
    std = np.sqrt(2 / (32 * 9))
    return tuple(kinds_of(rng.normal(0, std, (32, 3, 3, 3))).count(EDGE) for _ in range(draws))


def describe_stem_filters(filters: StemFilters | None = None) -> str:
    f = filters or stem_filters()
    counts = ", ".join(f"{f.count(k)} {k}" for k in (EDGE, COLOUR, BRIGHTNESS, OFF))
    chance = random_edge_counts()
    at_least = sum(c >= f.count(EDGE) for c in chance) / len(chance)
    baseline = (
        f" Random kernels, drawn the way the layer starts before training, give {np.mean(chance):.1f} "
        f"edge kernels on average, and {f.count(EDGE)} or more in {at_least:.1%} of {len(chance)} draws."
    )
    return (
        f"The {len(f.weights)} kernels of the pretrained MobileNetV2's first convolution, each 3 by 3 pixels "
        f"over the red, green and blue channels, drawn as tiny colour images (grey is zero weight). Sorted "
        f"by what they respond to: {counts}. Edge kernels hardly react to a flat patch and strongly to a "
        f"change of brightness across it; colour kernels cancel on grey and react to one colour against "
        f"another." + baseline
    )
