"""The Lab's instant head-only preview (core.train.head_preview): when it applies, that its loop is the
engine's, and that it agrees with a real head-only run of the same setting on the real offline data."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from core.models import backbones as models
from core.runs.stats import wilson
from core.train import head_preview as hp
from core.train.config import LAB_DEFAULT, TrainConfig
from core.train.engine import run_training
from core.train.head_steps import HeadStep, softmax_step
from core.train.inputs import torch_threads
from core.train.optim import make_optimizer

HEAD_ONLY = replace(LAB_DEFAULT, trainable=("head",), device="cpu")


# ---- when there is a preview ---------------------------------------------------------------------


def test_preview_only_when_every_backbone_group_is_frozen():
    assert hp.unavailable(HEAD_ONLY) is None
    assert "frozen" in hp.unavailable(replace(HEAD_ONLY, trainable=("stage6", "head")))
    assert "frozen" in hp.unavailable(replace(HEAD_ONLY, unfreeze_at={3: ("stage6",)}))  # opens a group later
    assert "Augmentation" in hp.unavailable(replace(HEAD_ONLY, augment=True))
    assert "BatchNorm" in hp.unavailable(replace(HEAD_ONLY, frozen_bn_eval=False))
    with pytest.raises(ValueError, match="frozen"):
        hp.preview(replace(HEAD_ONLY, trainable=("stage6", "head")))


# ---- the loop on tiny inputs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer, weight_decay, momentum",
    [("adam", 0.0, 0.9), ("adam", 0.01, 0.9), ("adamw", 0.05, 0.9), ("sgd", 0.0, 0.0), ("sgd", 0.01, 0.9)],
)
def test_head_steps_follow_torch_optimizers_and_autograd(optimizer, weight_decay, momentum):
    cfg = replace(HEAD_ONLY, optimizer=optimizer, weight_decay=weight_decay, momentum=momentum, lr=0.05)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)
    linear = torch.nn.Linear(6, 3)
    mine = torch.cat([linear.weight.detach(), linear.bias.detach()[:, None]], 1)
    step = HeadStep(cfg, mine)
    net = models.GroupedNet([], torch.nn.Sequential(linear), arch=cfg.model)
    theirs = make_optimizer(cfg, net, {"head"})
    xa = torch.cat([x, torch.ones(16, 1)], 1)
    for i in range(5):
        lr = 0.05 * (i + 1) / 5  # a schedule's changing rate
        for group in theirs.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(linear(x), y)
        theirs.zero_grad()
        loss.backward()
        theirs.step()
        _, my_loss, grad = softmax_step(xa, y, mine)
        assert my_loss.item() == pytest.approx(loss.item(), rel=1e-6)
        step(grad, lr)
        assert torch.allclose(mine[:, :6], linear.weight, atol=1e-6), i
        assert torch.allclose(mine[:, 6], linear.bias, atol=1e-6), i


def test_dropout_masks_are_torchs_from_the_same_state():
    """nn.Dropout's CPU mask: Bernoulli(keep) scaled by 1/keep, drawn as the preview draws it."""
    x = torch.randn(32, 1280)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    want = F.dropout(x, 0.2, training=True)
    gen = torch.Generator()
    gen.set_state(state)
    assert torch.equal(x * torch.empty_like(x).bernoulli_(0.8, generator=gen).div_(0.8), want)


def _tiny_features(seed: int = 0, n_per_class: int = 12, dim: int = 16) -> hp._Features:
    """Three well-separated classes of random feature vectors, and a fresh head for them."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, dim, generator=g) * 3

    def split(n):
        y = torch.arange(3).repeat_interleave(n)
        return centres[y] + torch.randn(len(y), dim, generator=g), y

    (tx, ty), (vx, vy) = split(n_per_class), split(10)
    linear = torch.nn.Linear(dim, 3)
    head = {"1.weight": linear.weight.detach().clone(), "1.bias": linear.bias.detach().clone()}
    return hp._Features(tx, ty, vx, vy, head, torch.get_rng_state(), 0.2)


def _run_tiny(cfg: TrainConfig, feats: hp._Features) -> hp.Preview:
    return hp._fit(cfg, feats)


TINY = replace(HEAD_ONLY, epochs=6, batch_size=8, lr=0.05)


def test_the_head_learns_separable_features_and_the_same_seed_repeats_the_curves():
    feats = _tiny_features()
    first, again = _run_tiny(TINY, feats), _run_tiny(TINY, feats)
    assert first.reason == "finished" and len(first.epochs) == 6
    assert first.epochs[-1].val_acc > 0.9 > first.epochs[0].train_acc - 0.5
    assert first.epochs[-1].train_loss < first.epochs[0].train_loss
    assert first == again
    other_seed = _run_tiny(replace(TINY, seed=1), feats)  # another batch order
    assert other_seed.epochs[0].train_loss != first.epochs[0].train_loss


def test_learning_rate_weight_decay_and_epochs_each_change_the_curves():
    feats = _tiny_features()
    base = _run_tiny(TINY, feats)
    assert _run_tiny(replace(TINY, lr=0.001), feats).epochs[-1].val_loss > base.epochs[-1].val_loss
    assert _run_tiny(replace(TINY, weight_decay=0.5), feats).epochs != base.epochs
    assert len(_run_tiny(replace(TINY, epochs=3), feats).epochs) == 3


def test_early_stopping_hands_back_the_best_epoch_and_a_huge_rate_diverges():
    feats = _tiny_features()
    stopped = _run_tiny(replace(TINY, epochs=30, early_stopping=2, lr=1.0, optimizer="sgd", momentum=0.9), feats)
    assert stopped.reason == "early_stopped"
    assert len(stopped.epochs) == stopped.best_epoch + 2
    assert stopped.final == stopped.epochs[stopped.best_epoch - 1]
    wild = _run_tiny(
        replace(TINY, lr=10.0, optimizer="sgd", momentum=0.0), replace(feats, train_x=feats.train_x * 1e20)
    )
    assert wild.reason == "diverged"


# ---- agreement with the engine on the real offline data -------------------------------------------

AGREE = [
    replace(HEAD_ONLY, per_class=5, val_per_class=30, epochs=5),
    replace(
        HEAD_ONLY,
        per_class=5,
        val_per_class=30,
        epochs=4,
        optimizer="sgd",
        lr=0.05,
        weight_decay=0.01,
        schedule="cosine",
        warmup=0.2,
        seed=2,
    ),
]


@pytest.mark.parametrize("cfg", AGREE, ids=["adam-constant", "sgd-cosine-warmup"])
def test_preview_agrees_with_a_real_head_only_run(cfg):
    preview = hp.preview(cfg)
    real = run_training(cfg)
    assert real.cache == "all" and real.reason == preview.reason == "finished"
    final = real.final
    low, high = wilson(final.val_acc, len(real.val_true))
    assert low <= preview.final.val_acc <= high
    # the same loop and masks, so on one CPU the same curves up to rounding, not merely close ones
    for mine, theirs in zip(preview.epochs, real.epochs, strict=True):
        assert mine.train_loss == pytest.approx(theirs.train_loss, rel=1e-5)
        assert mine.val_loss == pytest.approx(theirs.val_loss, rel=1e-5)
        assert mine.val_acc == pytest.approx(theirs.val_acc, abs=1e-6)


def test_features_are_computed_once_per_setup_and_leave_the_global_random_state_alone():
    hp.clear_cache()
    cfg = AGREE[0]
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = hp.features(cfg)
    assert torch.equal(torch.get_rng_state(), before)
    assert hp.features(replace(cfg, lr=0.01, epochs=9, weight_decay=0.1)) is first  # head settings: a hit
    assert hp.features(replace(cfg, per_class=6)) is not first  # other images: built again


def test_a_setting_previewed_before_is_answered_from_memory_unless_asked_to_train_again():
    cfg = replace(AGREE[0], epochs=2)
    first = hp.preview(cfg)
    assert hp.preview(replace(cfg)) is first
    again = hp.preview(cfg, reuse=False)
    assert again is not first and again == first  # trained again, to the same curves
    assert torch.get_num_threads() == torch_threads()  # the loop's one thread is given back
