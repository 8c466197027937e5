"""Which groups train and what can be cached: one rule, asked by the engine, the estimate and the Lab."""
import pytest

from core.runs.estimate import estimate_run_time
from core.train.config import TrainConfig
from core.train.freezing import (
    CACHE_ALL,
    CACHE_BN_TRAIN,
    CACHE_NO_PREFIX,
    CACHE_OFF,
    CACHE_VAL_ONLY,
    cache_plan,
    caches_train,
    caches_val,
    describe_cache,
    ever_trainable,
    prefix_end,
)

ORDER = ["stem", "stage1", "stage2", "head"]


def test_ever_trainable_joins_the_schedule():
    cfg = TrainConfig(trainable=("head",), unfreeze_at={3: ("stage2",), 5: ("stage1",)}, epochs=6)
    assert ever_trainable(cfg) == {"head", "stage2", "stage1"}
    assert ever_trainable(TrainConfig(trainable=("head",))) == {"head"}


@pytest.mark.parametrize("trainable, end", [({"head"}, 3), ({"stage1", "head"}, 1), ({"stem"}, 0), (set(), 3)])
def test_prefix_ends_at_the_first_trainable_group(trainable, end):
    assert prefix_end(ORDER, trainable) == end


@pytest.mark.parametrize("prefix, bn_eval, augment, use_cache, code, train, val", [
    (0, True, False, True, CACHE_NO_PREFIX, False, False),
    (2, True, False, False, CACHE_OFF, False, False),
    (2, False, False, True, CACHE_BN_TRAIN, False, False),
    (2, True, True, True, CACHE_VAL_ONLY, False, True),
    (2, True, False, True, CACHE_ALL, True, True),
])
def test_cache_plan(prefix, bn_eval, augment, use_cache, code, train, val):
    assert cache_plan(prefix, bn_eval, augment, use_cache) == code
    assert (caches_train(code), caches_val(code)) == (train, val)
    assert describe_cache(code, ("stem", "stage1")) and describe_cache(code) != code


def test_the_estimate_follows_the_same_plan():
    cached = estimate_run_time("mobilenet_v2", ORDER, {"head"}, 64, 100, 50, 2, augment=False)
    augmented = estimate_run_time("mobilenet_v2", ORDER, {"head"}, 64, 100, 50, 2, augment=True)
    assert cached.cached and not augmented.cached and augmented.seconds > cached.seconds
