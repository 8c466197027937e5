"""Where the model looks: Grad-CAM maps from Captum, before and after fine-tuning.

Grad-CAM weighs a layer's activation maps by how much each one raises the score of a class, so a
class needs a head. "Before" is therefore the backbone the run started from, read through the run's
own trained head; "after" is the run's fine-tuned network. When the run kept the backbone frozen the
two networks are the same function and their maps are identical: only training the backbone can
move where the model looks. The attribution itself is Captum's (LayerGradCam, then
LayerAttribution.interpolate to the input size), never hand-written.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from core.models import backbones as models
from core.runs.feature_map import start_model
from core.train.engine import RunResult
from core.train.inputs import normalise


def preload() -> None:
    """Import Captum now (it brings matplotlib: 2 s on the loaded 2-core machine), so that the
    Lab page does not wait for it on load, nor the first heat map on its first click."""
    import captum.attr  # noqa: F401


MIN_SIDE = 4  # a 2x2 map (the last stage at 64 px) says little; 4x4 is the coarsest worth showing


def before_model(result: RunResult) -> models.GroupedNet:
    """The run's starting backbone with the run's trained head: the 'before' network (a copy)."""
    if result.model is None:
        raise ValueError("This run has no model (it stopped before training): nothing to explain.")
    cfg = result.config
    base = start_model(cfg.model, cfg.pretrained, cfg.seed)
    groups = [(name, copy.deepcopy(mod)) for name, mod in base.groups.items()]
    return models.GroupedNet(groups, copy.deepcopy(result.model.head), cfg.model).eval()


def layer_sides(model: models.GroupedNet, image_size: int) -> dict[str, int]:
    """Side of each feature group's output map for square inputs of `image_size` pixels."""
    sides, x = {}, torch.zeros(1, 3, image_size, image_size)
    model.eval()
    with torch.inference_mode():
        for name, mod in model.groups.items():
            x = mod(x)
            sides[name] = int(x.shape[-1])
    return sides


def default_layer(model: models.GroupedNet, image_size: int) -> str:
    """The deepest group whose map is at least MIN_SIDE wide (Grad-CAM's usual pick is the last
    convolution, but at small inputs that map is 2x2 or 1x1)."""
    sides = layer_sides(model, image_size)
    wide = [name for name, side in sides.items() if side >= MIN_SIDE]
    return wide[-1] if wide else next(iter(sides))


def grad_cam(model: models.GroupedNet, images: torch.Tensor, targets: list[int], layer: str) -> np.ndarray:
    """[N, S, S] Grad-CAM maps (ReLU'd, not rescaled) of uint8 images [N, 3, S, S] for the given
    target classes, at group `layer`, upsampled to the input size."""
    from captum.attr import LayerAttribution, LayerGradCam

    if layer not in model.groups:
        raise ValueError(f"Unknown layer group {layer!r}; this model has {list(model.groups)}.")
    model.eval()
    device = next(model.parameters()).device
    x = normalise(images, device).requires_grad_(True)  # frozen weights: the graph starts at the input
    cam = LayerGradCam(model, model.groups[layer])
    with torch.enable_grad():
        attr = cam.attribute(x, target=list(targets), relu_attributions=True)
    up = LayerAttribution.interpolate(attr, tuple(images.shape[-2:]), interpolate_mode="bilinear")
    return up[:, 0].detach().cpu().numpy()


def predictions(model: nn.Module, images: torch.Tensor) -> list[int]:
    """Predicted class of each uint8 image (the class both maps explain)."""
    model.eval()
    with torch.inference_mode():
        return model(normalise(images, next(model.parameters()).device)).argmax(1).tolist()


def compare(
    result: RunResult, images: torch.Tensor, layer: str | None = None, before: models.GroupedNet | None = None
) -> dict:
    """Maps of the same images and target (the fine-tuned model's prediction) before and after."""
    after = result.model
    if after is None:
        raise ValueError("This run has no model (it stopped before training): nothing to explain.")
    before = before if before is not None else before_model(result)
    layer = layer or default_layer(after, int(images.shape[-1]))
    targets = predictions(after, images)
    return {
        "layer": layer,
        "targets": targets,
        "before": grad_cam(before, images, targets, layer),
        "after": grad_cam(after, images, targets, layer),
    }


# ---- drawing -------------------------------------------------------------------------------------
# A perceptually ordered palette (dark blue, purple, orange, yellow: matplotlib's "inferno" at five
# points), so "more" reads as "brighter" in colour and in grey print.
_PALETTE = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], float)


def colorize(cam: np.ndarray, scale: float | None = None) -> np.ndarray:
    """HxW map -> HxWx3 uint8 colours; `scale` (default: the map's max) maps to the top colour."""
    top = float(scale if scale is not None else cam.max())
    v = np.clip(cam / top, 0, 1) if top > 0 else np.zeros_like(cam)
    pos = v * (len(_PALETTE) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(_PALETTE) - 2)
    frac = (pos - lo)[..., None]
    return (_PALETTE[lo] * (1 - frac) + _PALETTE[lo + 1] * frac).round().astype(np.uint8)


def overlay(image: np.ndarray, cam: np.ndarray, scale: float | None = None, alpha: float = 0.55) -> np.ndarray:
    """The heat map blended over the image (HxWx3 uint8)."""
    return (alpha * colorize(cam, scale) + (1 - alpha) * image.astype(float)).round().astype(np.uint8)
