"""Backbones: the torchvision networks cut into named layer groups with a new head (``backbones``), and
the offline ImageNet weights they start from (``weights``; ``python -m core.models.weights --install``).
"""

__all__ = ["backbones", "names", "weights"]
