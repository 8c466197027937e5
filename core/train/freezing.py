"""Which layer groups train, and whether the frozen part of the network can be computed once.

Why a module of its own: the engine, the LR finder, the time estimate, the run verdict and the Lab's
form all ask these two questions, and each used to answer them with its own copy of the rule.
Pure functions of a config and a group order (no torch), so a page can ask them while a learner
flips switches. The engine reports its cache plan as a code; ``describe_cache`` words it for the
Lab and the command line.
"""

from __future__ import annotations

from core.models.names import HEAD

# How the frozen prefix (the groups before the first one that ever trains) is handled in a run.
CACHE_NO_PREFIX = "no_prefix"  # every group trains: nothing is frozen in front
CACHE_OFF = "off"  # the learner switched the feature cache off
CACHE_BN_TRAIN = "bn_train"  # frozen BatchNorm in train mode: the prefix output drifts, nothing is cached
CACHE_VAL_ONLY = "val_only"  # augmentation changes training images every epoch; validation is cached
CACHE_ALL = "all"  # training and validation features computed once per image


def ever_trainable(cfg) -> frozenset[str]:
    """Groups that train at some epoch: the first ones and every group the schedule opens later."""
    return frozenset(cfg.trainable).union(*cfg.unfreeze_at.values())


def nothing_trains(groups) -> bool:
    """No group ever trains, the new head included: the run cannot learn and is refused."""
    return not groups


def head_frozen(groups) -> bool:
    """The new head never trains: its random outputs cannot learn the classes."""
    return HEAD not in groups


def prefix_end(group_order: list[str], trainable) -> int:
    """Index of the earliest trainable group: the groups before it form the frozen prefix. Capped
    at the head's index, so a run with nothing trainable still has a head to run."""
    idx = [group_order.index(g) for g in trainable if g in group_order]
    return min(idx) if idx else len(group_order) - 1


def cache_plan(prefix: int, frozen_bn_eval: bool, augment: bool, use_cache: bool = True) -> str:
    """Can the frozen prefix's output be computed once per image? One of the CACHE_* codes.

    Only when its output cannot change: its BatchNorm layers stay in eval mode (their statistics
    frozen too), and for training images, augmentation is off (else each epoch sees new pixels).
    """
    if prefix == 0:
        return CACHE_NO_PREFIX
    if not use_cache:
        return CACHE_OFF
    if not frozen_bn_eval:
        return CACHE_BN_TRAIN
    return CACHE_VAL_ONLY if augment else CACHE_ALL


def caches_train(code: str) -> bool:
    return code == CACHE_ALL


def caches_val(code: str) -> bool:
    return code in (CACHE_ALL, CACHE_VAL_ONLY)


def describe_cache(code: str, prefix_groups: tuple[str, ...] = ()) -> str:
    """The plan in words, for the Lab and the command line (the engine itself only returns the code)."""
    if code == CACHE_ALL:
        return (
            f"The frozen groups ({', '.join(prefix_groups)}) ran once per image; training reuses their cached output."
        )
    return _WORDS.get(code, code)


_WORDS = {
    CACHE_NO_PREFIX: "Every group trains, so the whole network runs on every batch.",
    CACHE_OFF: "Feature cache off: the frozen groups run (without gradients) on every batch.",
    CACHE_BN_TRAIN: (
        "Frozen groups' BatchNorm is in train mode, so their output changes as statistics drift: "
        "they run on every batch, nothing is cached."
    ),
    CACHE_VAL_ONLY: (
        "Augmentation is on, so training images differ every epoch: the frozen groups run on every "
        "batch (validation features are still cached)."
    ),
}
