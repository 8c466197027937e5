"""Backbones as named layer groups: build, replace the head, freeze and count by group.

Every network is rebuilt as a ``GroupedNet``: an ordered list of feature groups (stem, stages), a
pooling step, and a head. Groups are the unit the lessons talk about ("freeze the stem, train the
last stages") and the unit the engine caches: the output of a frozen prefix of groups is a fixed
function of the image, so it can be computed once per image.
"""

from __future__ import annotations

import copy
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
from torch import nn
from torchvision import models as tvm

from core.cache import LRUCache
from core.data.imagefiles import DataError
from core.errors import LearnerError
from core.models.names import DEFAULT_BACKBONE as DEFAULT_BACKBONE  # re-exported: callers name it here
from core.models.names import HEAD
from core.models.weights import WeightsUnavailable, check_weights_file


class UnknownName(LearnerError, ValueError):
    """A model or layer-group name this app does not know; the message lists the known ones."""


@dataclass(frozen=True)
class BackboneSpec:
    """A backbone as the app uses it. Facts about the pretrained weights (parameter count,
    normalisation) are read from torchvision's weights enum, which carries them without a download."""

    name: str
    label: str
    builder: Callable[..., nn.Module]
    weights: Any  # a torchvision WeightsEnum member
    split: Callable[[nn.Module], list[tuple[str, nn.Module]]]  # feature groups in order
    head_in: Callable[[nn.Module], int]
    offline: bool  # weights ship with the app
    note: str

    @property
    def num_params(self) -> int:
        """Parameters of the ImageNet model (1000-class head)."""
        return self.weights.meta["num_params"]

    @property
    def title(self) -> str:
        return f"{self.label} ({self.num_params / 1e6:.1f}M params, {'offline' if self.offline else 'download'})"

    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) per RGB channel that the weights were trained with."""
        preset = self.weights.transforms()
        return tuple(preset.mean), tuple(preset.std)


def _seq(*mods: nn.Module) -> nn.Sequential:
    return nn.Sequential(*mods)


def _split_mobilenet_v2(m: nn.Module) -> list[tuple[str, nn.Module]]:
    f = m.features  # 0: stem conv, 1-17: inverted residual blocks, 18: final 1x1 conv
    return [
        ("stem", f[0:2]),
        ("stage1", f[2:4]),
        ("stage2", f[4:7]),
        ("stage3", f[7:11]),
        ("stage4", f[11:14]),
        ("stage5", f[14:17]),
        ("stage6", f[17:19]),
    ]


def _split_resnet(m: nn.Module) -> list[tuple[str, nn.Module]]:
    return [
        ("stem", _seq(m.conv1, m.bn1, m.relu, m.maxpool)),
        ("stage1", m.layer1),
        ("stage2", m.layer2),
        ("stage3", m.layer3),
        ("stage4", m.layer4),
    ]


def _split_efficientnet(m: nn.Module) -> list[tuple[str, nn.Module]]:
    f = m.features  # 0: stem, 1-7: MBConv stages, 8: final 1x1 conv
    return [("stem", f[0])] + [(f"stage{i}", f[i]) for i in range(1, 7)] + [("stage7", f[7:9])]


BACKBONES: dict[str, BackboneSpec] = {
    "mobilenet_v2": BackboneSpec(
        "mobilenet_v2",
        "MobileNetV2",
        tvm.mobilenet_v2,
        tvm.MobileNet_V2_Weights.IMAGENET1K_V1,
        _split_mobilenet_v2,
        lambda m: m.classifier[-1].in_features,
        True,
        "Small and fast; its ImageNet weights ship with the app.",
    ),
    "resnet18": BackboneSpec(
        "resnet18",
        "ResNet18",
        tvm.resnet18,
        tvm.ResNet18_Weights.IMAGENET1K_V1,
        _split_resnet,
        lambda m: m.fc.in_features,
        False,
        "A classic; trains about as fast as MobileNetV2 on a CPU.",
    ),
    "resnet50": BackboneSpec(
        "resnet50",
        "ResNet50",
        tvm.resnet50,
        tvm.ResNet50_Weights.IMAGENET1K_V2,
        _split_resnet,
        lambda m: m.fc.in_features,
        False,
        "Bigger and slower; wants a GPU.",
    ),
    "efficientnet_b0": BackboneSpec(
        "efficientnet_b0",
        "EfficientNet-B0",
        tvm.efficientnet_b0,
        tvm.EfficientNet_B0_Weights.IMAGENET1K_V1,
        _split_efficientnet,
        lambda m: m.classifier[-1].in_features,
        False,
        "Accurate for its size; slow on a CPU (depthwise convolutions).",
    ),
}


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise UnknownName(f"Unknown model {name!r}; choose one of {', '.join(BACKBONES)}.") from None


def weights_filename(spec: BackboneSpec) -> str:
    return spec.weights.url.rsplit("/", 1)[-1]


def load_torchvision_model(name: str, pretrained: bool = True) -> nn.Module:
    """The untouched torchvision model (ImageNet head), loaded through torchvision's weights API."""
    spec = backbone_spec(name)
    if not pretrained:
        return spec.builder(weights=None)
    try:
        return spec.builder(weights=spec.weights)
    except (urllib.error.URLError, ConnectionError) as exc:
        # The download failed: say which file is missing and where it belongs.
        check_weights_file(weights_filename(spec))
        raise WeightsUnavailable(f"Could not load {weights_filename(spec)}: {exc}") from exc
    except Exception as exc:  # a truncated or corrupt file: unpickling/zip/hash errors of many kinds
        check_weights_file(weights_filename(spec))  # a missing file gets the "download it" message
        raise WeightsUnavailable(
            f"The weights file for {spec.title} is damaged ({type(exc).__name__}: {exc}). Delete "
            f"{check_weights_file(weights_filename(spec))} and run `./ftlab setup` (MobileNetV2) or "
            f"download it again."
        ) from exc


class GroupedNet(nn.Module):
    """features (ordered groups) -> global average pool -> head. Forward can start at any group."""

    def __init__(self, groups: list[tuple[str, nn.Module]], head: nn.Module, arch: str):
        super().__init__()
        self.arch = arch
        self.groups = nn.ModuleDict(groups)
        self.head = head

    @property
    def group_names(self) -> list[str]:
        return list(self.groups.keys()) + [HEAD]

    def features_until(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Run groups [0, cut). cut == number of feature groups also pools (head input)."""
        mods = list(self.groups.values())
        for mod in mods[:cut]:
            x = mod(x)
        if cut >= len(mods):
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return x

    def forward_from(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Run the rest of the network from group index `cut` (input = features_until(., cut))."""
        mods = list(self.groups.values())
        if cut < len(mods):
            for mod in mods[cut:]:
                x = mod(x)
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0)

    def group(self, name: str) -> nn.Module:
        return self.head if name == HEAD else self.groups[name]


def make_head(in_features: int, num_classes: int, dropout: float = 0.2) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_features, num_classes))


def build_model(name: str, num_classes: int, pretrained: bool = True, seed: int | None = None) -> GroupedNet:
    """A backbone with its ImageNet head replaced by a fresh one for `num_classes` classes."""
    if num_classes < 2:
        raise DataError("A classifier needs at least two classes: add a folder of images for another class.")
    if seed is not None:
        torch.manual_seed(seed)  # the new head (and a from-scratch backbone) start the same each run
    base = load_torchvision_model(name, pretrained)
    spec = backbone_spec(name)
    head = make_head(spec.head_in(base), num_classes)
    return GroupedNet(spec.split(base), head, arch=name)


# A few built models, kept to copy from: building one constructs the torchvision network,
# initialises it and reads the weights file (about 50 ms, a quarter of a head-only rerun).
_TEMPLATES = LRUCache(4)


def fresh_model(name: str, num_classes: int, pretrained: bool, seed: int) -> GroupedNet:
    """build_model(name, num_classes, pretrained, seed=seed), from an in-memory template.

    A deep copy of the first build gives the same weights and new head, and restoring the random
    state build_model left behind keeps everything after it (dropout masks) exactly as with a fresh
    build.
    """
    key = (name, num_classes, pretrained, seed)
    hit = _TEMPLATES.get(key)
    if hit is not None:
        torch.manual_seed(seed)  # as build_model does (also seeds CUDA generators)
        torch.set_rng_state(hit[1])
        return copy.deepcopy(hit[0])
    model = build_model(name, num_classes, pretrained, seed=seed)
    _TEMPLATES.put(key, (copy.deepcopy(model), torch.get_rng_state()))
    return model


# ---- freezing and counting -------------------------------------------------------------------


@dataclass(frozen=True)
class GroupInfo:
    name: str
    total: int
    trainable: int

    @property
    def frozen(self) -> bool:
        return self.trainable == 0


def group_table(model: GroupedNet) -> list[GroupInfo]:
    """Total and trainable parameter counts per group, in network order."""
    rows = []
    for name in model.group_names:
        params = list(model.group(name).parameters())
        rows.append(GroupInfo(name, sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)))
    return rows


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total


def set_trainable(model: GroupedNet, trainable_groups) -> None:
    """requires_grad=True exactly for the parameters of the named groups; the rest are frozen."""
    wanted = set(trainable_groups)
    unknown = wanted - set(model.group_names)
    if unknown:
        raise UnknownName(f"Unknown layer group(s) {sorted(unknown)}; this model has {model.group_names}.")
    for name in model.group_names:
        for p in model.group(name).parameters():
            p.requires_grad_(name in wanted)


def frozen_groups(model: GroupedNet) -> list[str]:
    return [g.name for g in group_table(model) if g.frozen and g.total > 0]


def train_mode(model: GroupedNet, frozen_bn_eval: bool = True) -> None:
    """model.train(), then put BatchNorm of fully frozen groups back in eval mode.

    requires_grad=False does not stop BatchNorm from updating its running statistics, and
    model.train() switches every module back to training: without this step a "frozen" layer
    would still drift towards the new data's statistics.
    """
    model.train()
    if not frozen_bn_eval:
        return
    for name in frozen_groups(model):
        for mod in model.group(name).modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.eval()


def group_names(name: str) -> list[str]:
    """Layer-group names of a backbone, without loading any weights."""
    return list(_group_names(name))


@cache
def _group_names(name: str) -> tuple[str, ...]:
    # Lesson figures and every Lab page ask for these. The empty model is built on the meta device
    # (shapes only, no memory, no random init): ResNet-50 took 0.28 s on the CPU, 0.08 s on meta.
    spec = backbone_spec(name)
    with torch.device("meta"):
        net = spec.builder(weights=None)
    return tuple(g for g, _ in spec.split(net)) + (HEAD,)
