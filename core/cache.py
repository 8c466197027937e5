"""Frozen-prefix feature cache.

When the first k layer groups are frozen, in eval mode, and see the same image every epoch (no
random augmentation before them), their output is a fixed function of the image. Computing it once
and training the remaining groups on it changes no result and removes most of the cost of a short
fine-tune. The key names everything the features depend on, so a rerun with a new learning rate or
a new head reuses them, and a change of model, weights, cut, size or data does not.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import torch


class FeatureCache:
    """Thread-safe LRU of feature tensors, bounded in bytes, shared by all jobs of a process."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> torch.Tensor | None:
        with self._lock:
            t = self._items.get(key)
            if t is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return t

    def put(self, key: tuple, value: torch.Tensor) -> None:
        nbytes = value.numel() * value.element_size()
        if nbytes > self.max_bytes:
            return  # larger than the whole budget: computing it again is the only option
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while self.nbytes() > self.max_bytes:
                self._items.popitem(last=False)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


FEATURES = FeatureCache(max_bytes=int(os.environ.get("FTLAB_FEATURE_CACHE_MB", "1024")) * 1024 * 1024)
