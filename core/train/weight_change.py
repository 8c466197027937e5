"""How far fine-tuning moved each layer group from where it began: ||W - W0|| / ||W0|| per group."""

from __future__ import annotations

import torch

from core.models import backbones as models


def group_vectors(model: models.GroupedNet) -> dict[str, torch.Tensor]:
    """A flat copy of each group's parameters (groups without any are left out)."""
    return {
        name: torch.cat([p.detach().flatten() for p in model.group(name).parameters()]).clone()
        for name in model.group_names
        if any(True for _ in model.group(name).parameters())
    }


def weight_change(model: models.GroupedNet, start: dict[str, torch.Tensor]) -> dict[str, float]:
    """||W - W0|| / ||W0|| per group: how far fine-tuning moved each group from where it began."""
    out = {}
    for name, w0 in start.items():
        w = torch.cat([p.detach().flatten() for p in model.group(name).parameters()])
        out[name] = float((w - w0).norm() / (w0.norm() + 1e-12))
    return out
