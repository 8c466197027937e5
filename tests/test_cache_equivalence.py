"""The frozen-prefix feature cache changes speed, never results.

Small seeded runs on the CPU (faces, 32 px, a few images per class): the cached features are what
the frozen prefix computes, a cached and an uncached run agree, and the cache key reuses features
exactly when nothing they depend on changed.
"""
from dataclasses import replace

import pytest
import torch

from core.cache import FEATURES
from core.data.datasets import prepare
from core.models import backbones as models
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.freezing import CACHE_ALL, CACHE_OFF, prefix_end
from core.train.inputs import normalise

SMALL = TrainConfig(dataset="faces", per_class=10, val_per_class=30, image_size=32, epochs=3, batch_size=8,
                    trainable=("stage6", "head"), seed=0, device="cpu")


@pytest.fixture(autouse=True)
def empty_cache():
    FEATURES.clear()
    yield
    FEATURES.clear()


def _cached(data_key: str, split: str) -> tuple[tuple, torch.Tensor]:
    hits = [(k, v) for k, v in FEATURES.items() if k[3] == data_key and k[4] == split]
    assert len(hits) == 1, f"expected one cached {split} entry, found {[k for k, _ in hits]}"
    return hits[0]


def test_cached_prefix_features_equal_recomputed_ones():
    r = run_training(SMALL)
    data = prepare(SMALL.dataset, SMALL.per_class, SMALL.val_per_class, SMALL.image_size, SMALL.seed)
    cut = prefix_end(r.model.group_names, SMALL.trainable)
    assert cut == r.model.group_names.index("stage6") > 0
    fresh = models.build_model(SMALL.model, data.num_classes, SMALL.pretrained, seed=SMALL.seed).eval()
    with torch.inference_mode():
        for split, x in (("train", data.train_x), ("val", data.val_x)):
            key, feats = _cached(data.key, split)
            assert key[2] == cut
            want = fresh.features_until(normalise(x, torch.device("cpu")), cut)
            assert feats.shape == want.shape
            assert torch.allclose(feats, want, rtol=1e-4, atol=1e-5), (feats - want).abs().max()
            # training left the frozen prefix (weights and BatchNorm statistics) exactly as it was
            after = r.model.eval().features_until(normalise(x, torch.device("cpu")), cut)
            assert torch.allclose(feats, after, rtol=1e-4, atol=1e-5)


def test_cached_and_uncached_runs_agree():
    cached = run_training(SMALL)
    assert cached.cache == CACHE_ALL
    uncached = run_training(replace(SMALL, use_cache=False))
    assert uncached.cache == CACHE_OFF
    assert len(FEATURES) == 3  # only the cached run stored features (train, val and test)
    a, b = cached.final, uncached.final
    assert abs(a.val_acc - b.val_acc) <= 0.02
    assert a.val_loss == pytest.approx(b.val_loss, rel=1e-2, abs=1e-3)
    assert a.train_loss == pytest.approx(b.train_loss, rel=1e-2, abs=1e-3)
    assert cached.test_acc == pytest.approx(uncached.test_acc, abs=0.02)


def test_new_learning_rate_reuses_the_cache_new_size_or_dataset_does_not():
    run_training(SMALL)  # train, val and test features: three entries
    assert (FEATURES.hits, FEATURES.misses, len(FEATURES)) == (0, 3, 3)

    run_training(replace(SMALL, lr=3e-4, epochs=1))  # a learner tweaking the learning rate
    assert (FEATURES.hits, FEATURES.misses, len(FEATURES)) == (3, 3, 3)

    run_training(replace(SMALL, image_size=40, epochs=1))  # other pixels: other features
    assert (FEATURES.hits, FEATURES.misses, len(FEATURES)) == (3, 6, 6)

    run_training(replace(SMALL, dataset="textures", per_class=8, val_per_class=10, epochs=1))
    assert (FEATURES.hits, FEATURES.misses, len(FEATURES)) == (3, 9, 9)

    run_training(replace(SMALL, trainable=("stage5", "stage6", "head"), epochs=1))  # another cut
    assert (FEATURES.hits, FEATURES.misses) == (3, 12)


def test_a_warm_up_fills_the_caches_and_changes_no_result():
    """What a training worker does before its first task (core.jobs.workers): the run after it reuses the
    warm-up's features, and its numbers are those of a run in a process that never warmed up."""
    from core.train.engine import warm_up

    cold = run_training(SMALL)
    FEATURES.clear()
    timings = warm_up(replace(SMALL, unfreeze_at={3: ("stage5",)}, early_stopping=2))  # schedules beyond epoch 1 are dropped
    assert timings["train_s"] > 0 and (FEATURES.hits, FEATURES.misses, len(FEATURES)) == (0, 3, 3)
    warm = run_training(SMALL)
    assert (FEATURES.hits, FEATURES.misses) == (3, 3)
    assert [(e.train_loss, e.val_loss, e.val_acc) for e in warm.epochs] == \
        [(e.train_loss, e.val_loss, e.val_acc) for e in cold.epochs]
    assert warm.val_pred == cold.val_pred and warm.test_acc == cold.test_acc
