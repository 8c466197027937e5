"""One bounded, thread-safe LRU, and the frozen-prefix feature cache built on it.

Why one class: the server keeps three kinds of things between runs (prepared image tensors, built
models, prefix features), each shared by every session and bounded so a classroom cannot fill the
memory. They differ only in how an item is weighed (bytes, or one per item) and in what happens to
an item heavier than the whole budget.

The feature cache: when the first k layer groups are frozen, in eval mode, and see the same image
every epoch (no random augmentation before them), their output is a fixed function of the image.
Computing it once and training the remaining groups on it changes no result and removes most of the
cost of a short fine-tune. The key names everything the features depend on, so a rerun with a new
learning rate or a new head reuses them, and a change of model, weights, cut, size or data does not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from core import settings


def tensor_bytes(t) -> int:
    return t.numel() * t.element_size()


class LRUCache:
    """Least-recently-used items up to `max_weight` in total (`weigh(item)` each, default 1).

    An item heavier than the whole budget is dropped (keep_newest=False: computing it again is the
    only option) or kept alone until the next put (keep_newest=True: the caller is about to use it).
    """

    def __init__(self, max_weight: float, weigh: Callable[[Any], float] = lambda _: 1, keep_newest: bool = False):
        self.max_weight, self.weigh, self.keep_newest = max_weight, weigh, keep_newest
        self._items: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()
        self._weight = 0.0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any) -> None:
        weight = self.weigh(value)
        if weight > self.max_weight and not self.keep_newest:
            return
        with self._lock:
            self._drop(key)
            self._items[key] = (value, weight)
            self._weight += weight
            while self._weight > self.max_weight and len(self._items) > 1:
                self._drop(next(iter(self._items)))
            if self._weight > self.max_weight and not self.keep_newest:
                self._drop(key)

    def _drop(self, key: Hashable) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]

    def items(self) -> list[tuple[Hashable, Any]]:
        """(key, value) pairs, oldest first (a copy)."""
        with self._lock:
            return [(k, v) for k, (v, _) in self._items.items()]

    def weight(self) -> float:
        return self._weight

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0.0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


FEATURES = LRUCache(settings.current().feature_cache_mb * 1024 * 1024, weigh=tensor_bytes)
