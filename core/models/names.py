"""The backbone registry's names, importable without torch (core.models.backbones holds the builders).

A config, a lesson check or a link needs only the names; backbones.py imports torch and torchvision.
tests/test_models.py keeps BACKBONE_NAMES equal to backbones.BACKBONES.
"""

HEAD = "head"  # the new classifier's layer group
BACKBONE_NAMES: tuple[str, ...] = ("mobilenet_v2", "resnet18", "resnet50", "efficientnet_b0")
DEFAULT_BACKBONE = "mobilenet_v2"
