"""Lab presets and classroom demos: named configurations with what to watch for.

A preset is one or more runs. The lab opens the first; a demo runs them all and overlays their
curves. Each demo's claim is checked by tests/test_demos.py, which runs it and asserts the effect
with a margin, so a change that breaks a lesson's claim breaks the build.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from core.engine import TrainConfig

MOBILENET_ALL = ("stem", "stage1", "stage2", "stage3", "stage4", "stage5", "stage6", "head")

# Shared base of the demos: 20 training images per class of MNIST digits at 64 px, a fixed
# validation set of 30 per class, seeded. Small enough to run in seconds on a 2-core CPU.
BASE = TrainConfig(dataset="mnist", per_class=20, val_per_class=30, image_size=64, epochs=8, seed=0)


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    watch_for: str
    runs: tuple[tuple[str, TrainConfig], ...]  # (label, config); the first is what the lab loads
    demo: bool = True  # listed among the classroom demos

    @property
    def config(self) -> TrainConfig:
        return replace(self.runs[0][1])


def _cfg(**kw) -> TrainConfig:
    return replace(BASE, **kw)


PRESETS: dict[str, Preset] = {p.id: p for p in [
    Preset(
        "pretrained-vs-scratch", "Pretrained vs from scratch, 20 images per class",
        "Both runs train every layer with the same settings; only the starting weights differ. The "
        "ImageNet-pretrained network reaches high validation accuracy within a few epochs. The "
        "randomly initialised one can fit its 200 training images but stays far lower on validation "
        "images: 200 images are not enough to learn visual features from nothing.",
        (("pretrained", _cfg(trainable=MOBILENET_ALL, epochs=10)),
         ("from scratch", _cfg(trainable=MOBILENET_ALL, pretrained=False, epochs=10))),
    ),
    Preset(
        "layers-compare", "Head only vs last blocks vs all layers",
        "Training only the new head is fastest (the frozen network runs once per image) and already "
        "works. Opening the last stages adapts the task-specific features and usually gains several "
        "points. Opening everything costs far more time per epoch for a small further gain at best.",
        (("head only", _cfg(trainable=("head",), epochs=10)),
         ("last two stages", _cfg(trainable=("stage5", "stage6", "head"), epochs=10)),
         ("all layers", _cfg(trainable=MOBILENET_ALL, epochs=10))),
    ),
    Preset(
        "head-only", "Feature extractor: train only the new head",
        "Only the head's 12,810 parameters learn; the backbone's 2.2 million stay exactly as ImageNet "
        "left them (their weight change stays at zero).",
        (("head only", _cfg(trainable=("head",), epochs=10)),), demo=False,
    ),
    Preset(
        "lr-too-high", "A learning rate far too high, on all layers",
        "With lr 0.1 on every layer, the first updates are so large that the pretrained features are "
        "wrecked: the loss jumps, the early groups' weight change shoots up, and accuracy collapses "
        "towards chance. The same run at lr 0.001 keeps the features and learns.",
        (("lr 0.1", _cfg(trainable=MOBILENET_ALL, lr=0.1, epochs=6)),
         ("lr 0.001", _cfg(trainable=MOBILENET_ALL, lr=1e-3, epochs=6))),
    ),
    Preset(
        "overfit-tiny", "Tiny data, all layers: overfitting, and early stopping as a remedy",
        "With 5 images per class and every layer training for 25 epochs, training accuracy climbs "
        "towards 100% while validation accuracy stalls far below it: that gap is overfitting. The "
        "validation loss shows it best: it bottoms out after a few epochs, then climbs while the "
        "training loss keeps falling, as the network grows confident about the few images it has "
        "memorised. Early stopping watches the validation loss, stops a few epochs after its best "
        "value and restores those weights: a lower validation loss, at least as good accuracy, in "
        "fewer epochs. Augmentation and weight decay are other remedies: try them with the toggles.",
        (("no remedy", _cfg(per_class=5, val_per_class=20, trainable=MOBILENET_ALL, epochs=25, batch_size=16)),
         ("early stopping", _cfg(per_class=5, val_per_class=20, trainable=MOBILENET_ALL, epochs=25,
                                 batch_size=16, early_stopping=4))),
    ),
    Preset(
        "bn-train-mode", "Frozen layers with BatchNorm left in train mode",
        "requires_grad=False stops the weights, not BatchNorm's running statistics. With the frozen "
        "groups' BatchNorm left in train mode, small batches of the new data keep shifting those "
        "statistics, so the features the head learns from drift from epoch to epoch and differ between "
        "training (batch statistics) and evaluation (running statistics).",
        (("BatchNorm in train mode", _cfg(trainable=("head",), frozen_bn_eval=False, batch_size=8)),
         ("BatchNorm kept in eval mode", _cfg(trainable=("head",), batch_size=8))),
    ),
    Preset(
        "gradual-unfreeze", "Gradual unfreezing: the head first, then deeper stages",
        "Epochs 1-2 train only the head. Then stage 6 opens, then stage 5: the trainable-parameter "
        "chart steps up at each opening, and the new head is already sensible before deeper layers "
        "start to move, so their pretrained features are not shaken by a random head's gradients.",
        (("gradual", _cfg(trainable=("head",), unfreeze_at={3: ("stage6",), 5: ("stage5",)}, epochs=8)),),
        demo=False,
    ),
    Preset(
        "discriminative-lr", "Layer-wise (discriminative) learning rates",
        "Early groups learn general features and get a learning rate 100x smaller than the head; the "
        "middle stages 10x smaller. Watch the weight-change chart: early groups move least.",
        (("discriminative", _cfg(trainable=("stage4", "stage5", "stage6", "head"), lr=1e-3,
                                 group_lr={"stage4": 1e-5, "stage5": 1e-4, "stage6": 1e-4})),),
        demo=False,
    ),
    Preset(
        "head-frozen", "The pitfall: the new head frozen along with the backbone",
        "Every group is frozen, the new head too. The Lab refuses to start and says why, as PyTorch "
        "does when an optimizer is handed an empty parameter list: with nothing trainable no step can "
        "change anything, and the head keeps its random weights, so its answers stay a guess (10% for "
        "ten digits). The fix: switch on the head (or press \"Feature extractor (head only)\") and watch "
        "the trainable count go from 0 to 12,810.",
        (("everything frozen", _cfg(trainable=(), epochs=10)),), demo=False,
    ),
]}

DEMO_IDS = tuple(p.id for p in PRESETS.values() if p.demo)


def preset_config(preset_id: str) -> TrainConfig:
    if preset_id not in PRESETS:
        raise KeyError(f"Unknown preset {preset_id!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[preset_id].config


def run_preset(preset_id: str, **overrides) -> list[tuple[str, "RunResult"]]:
    """Run every variant of a preset in order (for tests, the CLI and classroom preparation)."""
    from core.engine import run_training

    return [(label, run_training(replace(cfg, **overrides))) for label, cfg in PRESETS[preset_id].runs]
