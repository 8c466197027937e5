"""The one LRU behind the feature cache, the prepared-data cache and the model templates."""
import torch

from core.cache import LRUCache, tensor_bytes
from core.data.datasets import PREPARED_CACHE
from core.models.backbones import _TEMPLATES


def test_least_recently_used_goes_first_and_counts_hits():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # now "b" is the oldest
    c.put("c", 3)
    assert (c.get("b"), c.get("a"), c.get("c")) == (None, 1, 3)
    assert (c.hits, c.misses, len(c)) == (3, 1, 2)
    c.put("a", 10)  # replacing keeps the count right
    assert len(c) == 2 and c.weight() == 2 and c.get("a") == 10


def test_a_byte_budget_and_items_over_it():
    four = torch.zeros(4, dtype=torch.uint8)
    c = LRUCache(10, weigh=tensor_bytes)
    c.put("x", four)
    c.put("y", four)
    c.put("z", four)  # 12 bytes > 10: "x" goes
    assert [k for k, _ in c.items()] == ["y", "z"] and c.weight() == 8
    c.put("huge", torch.zeros(11, dtype=torch.uint8))  # heavier than the budget: never stored
    assert c.get("huge") is None and len(c) == 2
    keep = LRUCache(10, weigh=tensor_bytes, keep_newest=True)
    keep.put("x", four)
    keep.put("huge", torch.zeros(11, dtype=torch.uint8))  # the caller is about to use it: kept alone
    assert [k for k, _ in keep.items()] == ["huge"]
    keep.clear()
    assert len(keep) == 0 and keep.weight() == 0 and keep.hits == keep.misses == 0


def test_the_three_caches_are_that_class():
    from core.cache import FEATURES
    assert all(isinstance(c, LRUCache) for c in (FEATURES, PREPARED_CACHE, _TEMPLATES))
    assert PREPARED_CACHE.keep_newest and not FEATURES.keep_newest and _TEMPLATES.max_weight == 4
