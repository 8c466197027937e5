"""Feature space before and after: why a linear head on frozen ImageNet features already works.

The head of a GroupedNet sees one vector per image: the pooled output of the last feature group.
This module computes those vectors for three backbones (the ImageNet one, a from-scratch one with
the run's seed, and the run's fine-tuned one), scores each with a linear probe (a logistic
regression trained on the training images' vectors, scored on the validation images') and lays the
validation vectors out in 2-D (PCA by default; t-SNE or UMAP on request). Classes that form
separate clusters are what a linear head can tell apart.

Nothing is trained twice: the engine's frozen-prefix cache (core.cache.FEATURES) usually already
holds the output of some prefix of groups for the pretrained backbone, so only the rest runs, and
the run's fine-tuned network shares that prefix when it was frozen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.cache import FEATURES
from core.data.datasets import PreparedData
from core.errors import MissingExtra, install_command
from core.models import backbones as models
from core.train.engine import RunResult
from core.train.freezing import ever_trainable
from core.train.inputs import inference_batch, normalise, prefix_key, resolve_device

METHODS = {"pca": "PCA (instant)", "tsne": "t-SNE (seconds per map)", "umap": "UMAP (a minute on first use)"}
PRETRAINED, SCRATCH, FINE_TUNED = "pretrained", "scratch", "fine-tuned"
TITLES = {
    PRETRAINED: "ImageNet backbone",
    SCRATCH: "Random backbone (from scratch)",
    FINE_TUNED: "This run's backbone (after training)",
}
SHOWN = (PRETRAINED, SCRATCH, FINE_TUNED)  # left to right: before, the alternative, after
# The engine's cache usually serves the ImageNet and the fine-tuned backbones' frozen prefix; a random
# backbone's features need a whole forward pass (2.2 of the 2.7 s of a first ask at load average 7).
CHEAPEST_FIRST = (PRETRAINED, FINE_TUNED, SCRATCH)
_CPU = torch.device("cpu")
# Validation images on a map, at most: 30 per class of the default 10-class run. A from-scratch
# backbone's features cannot come from any cache, and this cut 500 validation images to 300 (its
# forward pass ran over 700 images, now 500); 900 dots on three charts also draw faster than 1,500.
MAP_LIMIT = 300


@dataclass
class Panel:
    """One backbone's map: 2-D positions of the validation images and its linear-probe accuracy."""

    name: str  # PRETRAINED | SCRATCH | FINE_TUNED
    title: str
    index: np.ndarray  # [M] the validation images on the map (positions in data.val_x)
    xy: np.ndarray  # [M, 2]
    labels: np.ndarray  # [M] class indices
    probe_acc: float  # logistic regression on training features, scored on validation features
    seconds: float


# ---- the backbones ------------------------------------------------------------------------------

_START: dict[tuple, models.GroupedNet] = {}
_START_LOCK = threading.Lock()


def start_model(arch: str, pretrained: bool, seed: int) -> models.GroupedNet:
    """The backbone a run starts from (ImageNet weights, or the seed's random init), shared: do not
    train or hook it, copy it. The head is a 2-class placeholder; only the features are used."""
    key = (arch, pretrained, seed)
    with _START_LOCK:
        if key not in _START:
            with torch.random.fork_rng(devices=[]):  # build_model seeds torch; leave others' RNG alone
                _START[key] = models.build_model(arch, 2, pretrained, seed=seed).eval()
            while len(_START) > 4:
                _START.pop(next(iter(_START)))
        return _START[key]


def _init_name(pretrained: bool, seed: int) -> str:
    return "imagenet" if pretrained else f"scratch-seed{seed}"  # names this module's own cache keys


def frozen_prefix(result: RunResult) -> int:
    """Groups before the first one that ever trained: they are unchanged by the run (with their
    BatchNorm kept in eval mode, the default), so their cached output serves the fine-tuned net too."""
    cfg = result.config
    if not cfg.frozen_bn_eval:
        return 0
    names = models.group_names(cfg.model) if result.model is None else result.model.group_names
    return min((names.index(g) for g in ever_trainable(cfg) if g in names), default=len(names) - 1)


def _cached_prefix(
    cfg, pretrained: bool, data: PreparedData, split: str, max_cut: int
) -> tuple[int, torch.Tensor | None]:
    """The deepest prefix output (cut <= max_cut) the engine already cached for these images."""
    device = resolve_device(cfg.device)
    for cut in range(max_cut, 0, -1):
        feats = FEATURES.get(prefix_key(cfg.model, pretrained, cfg.seed, cut, data.key, split, device))
        if feats is not None:
            return cut, feats
    return 0, None


def _pool_from(model: models.GroupedNet, x: torch.Tensor, cut: int) -> torch.Tensor:
    """Pooled head input from the output of groups [0, cut) (cut 0: normalised images)."""
    mods = list(model.groups.values())
    if cut >= len(mods):
        return x  # the cache already holds pooled vectors
    for mod in mods[cut:]:
        x = mod(x)
    return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def pooled_features(
    model: models.GroupedNet, images: torch.Tensor, prefix: torch.Tensor | None = None, cut: int = 0
) -> np.ndarray:
    """[N, C] pooled features, in eval mode, from uint8 images or from a cached prefix output."""
    model.eval()
    source, cut = (images, 0) if prefix is None else (prefix, cut)
    step = inference_batch(_CPU)
    outs = []
    with torch.inference_mode():
        for i in range(0, len(source), step):
            x = normalise(source[i : i + step], _CPU) if prefix is None else source[i : i + step].to(_CPU)
            if x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)  # as the engine lays out its batches
            outs.append(_pool_from(model, x, cut).float())
    return torch.cat(outs).numpy() if outs else np.zeros((0, 0), np.float32)


def class_turns(labels: np.ndarray) -> np.ndarray:
    """Indices taken class by class in turn (first of each class, then second of each...)."""
    labels = np.asarray(labels)
    rank = np.zeros(len(labels), int)
    for c in np.unique(labels):
        rank[labels == c] = np.arange(int((labels == c).sum()))
    return np.lexsort((labels, rank))


def map_indices(val_y: np.ndarray, limit: int = MAP_LIMIT) -> np.ndarray:
    """At most `limit` validation images, every class keeping its share, in their original order."""
    return np.sort(class_turns(val_y)[:limit])


def _split_features(
    model,
    result: RunResult,
    data: PreparedData,
    split: str,
    pretrained: bool,
    max_cut: int,
    own_key: tuple | None,
    index: np.ndarray | None,
) -> np.ndarray:
    images = data.train_x if split == "train" else data.val_x
    chosen = torch.from_numpy(index) if split == "val" and index is not None else None
    own_key = None if own_key is None else own_key + (split, None if chosen is None else index.tobytes())
    if own_key is not None:
        hit = FEATURES.get(own_key)
        if hit is not None:
            return hit.numpy()
    cut, prefix = _cached_prefix(result.config, pretrained, data, split, max_cut)
    if chosen is not None:
        images, prefix = images[chosen], None if prefix is None else prefix[chosen.to(prefix.device)]
    feats = pooled_features(model, images, prefix, cut)
    if own_key is not None:  # our own key: the engine's keys stay exactly what the engine computed
        FEATURES.put(own_key, torch.from_numpy(feats))
    return feats


def backbone_features(
    result: RunResult, data: PreparedData, name: str, val_index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) pooled features of one of the three backbones for the run's images (the
    validation images in `val_index` only, when given)."""
    cfg = result.config
    if name == FINE_TUNED:
        if result.model is None:
            raise ValueError("This run has no model (it stopped before training): nothing to map.")
        model, pretrained, max_cut, own = result.model, cfg.pretrained, frozen_prefix(result), None
    else:
        pretrained = name == PRETRAINED
        model = start_model(cfg.model, pretrained, cfg.seed)
        max_cut = len(model.groups)
        own = ("feature-map", cfg.model, _init_name(pretrained, cfg.seed), data.key)
    return tuple(_split_features(model, result, data, s, pretrained, max_cut, own, val_index) for s in ("train", "val"))


# ---- scores and layouts ---------------------------------------------------------------------------
# scikit-learn is imported on first use, not with this module: the Lab page imports this module, and
# scikit-learn's estimators took 5 s to import on the loaded 2-core machine (8 s inside the first
# probe). preload() imports them ahead of a learner's first click (ui.lab.insight calls it in a
# background thread when the results appear).


def preload() -> None:
    """Import what the maps need, so that the first map does not wait for it."""
    import sklearn.decomposition  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.manifold  # noqa: F401
    import sklearn.pipeline  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    import threadpoolctl  # noqa: F401


# ONE_THREAD: scikit-learn's OpenMP/BLAS threads spin while they wait. On the shared 2-core machine
# (load average 7) the probe's 8 lbfgs iterations took 1.5-2.4 s with two threads and 0.1 s with one.
def linear_probe(train: np.ndarray, train_y: np.ndarray, val: np.ndarray, val_y: np.ndarray) -> float:
    """Validation accuracy of a logistic regression fitted on the training features: how much a
    linear head can get out of these features, with no fine-tuning at all."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if len(np.unique(train_y)) < 2 or not len(val):
        return float("nan")
    # Standardised features: a from-scratch net's raw features are orders of magnitude smaller.
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    with threadpool_limits(1):  # see ONE_THREAD
        probe.fit(train, train_y)
        return float(probe.score(val, val_y))


def project(feats: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """[N, 2] layout of the features: PCA (linear, instant), t-SNE or UMAP (neighbourhoods)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # see ONE_THREAD
        return _project(feats, method, seed)


def _project(feats: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method not in METHODS:
        raise ValueError(f"Unknown map method {method!r}; choose one of {', '.join(METHODS)}.")
    n = len(feats)
    if n < 3:
        return np.zeros((n, 2))
    from sklearn.decomposition import PCA

    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(feats)
    # Both neighbour methods start from 50 principal components: same picture, a fraction of the time.
    reduced = PCA(n_components=min(50, n - 1, feats.shape[1]), random_state=seed).fit_transform(feats)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed).fit_transform(
            reduced
        )
    umap = _umap()
    # n_jobs=1: a seeded UMAP runs on one thread anyway (and warns when asked for more).
    return umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed, n_jobs=1).fit_transform(reduced)


def _umap():
    """umap-learn, imported on request: an optional install (requirements-umap.txt) whose first use
    compiles with numba (78 s here, load 11)."""
    try:
        import umap
    except ImportError as exc:
        raise MissingExtra(
            "UMAP maps need the optional umap-learn package, which this server does not have. "
            "Pick PCA or t-SNE, which need nothing more, or ask whoever runs the server to "
            f"install it: {install_command('umap')}."
        ) from exc
    return umap


def panel(result: RunResult, data: PreparedData, name: str, method: str = "pca") -> Panel:
    t0 = time.perf_counter()
    index = map_indices(data.val_y.numpy())
    train, val = backbone_features(result, data, name, index)
    labels = data.val_y.numpy()[index]
    acc = linear_probe(train, data.train_y.numpy(), val, labels)
    xy = project(val, method, result.config.seed)
    return Panel(name, TITLES[name], index, xy, labels, acc, time.perf_counter() - t0)


def feature_maps(
    result: RunResult,
    data: PreparedData,
    method: str = "pca",
    progress: Callable[[int, int, str], None] | None = None,
    on_panel: Callable[[Panel], None] | None = None,
) -> list[Panel]:
    """The three panels in SHOWN order. They are computed cheapest first, and `on_panel(panel)` is
    called as each is ready, so a page can draw two maps while the third is still computed;
    `progress(done, total, title)` is called before each one (t-SNE and UMAP take seconds each)."""
    if method == "umap":
        _umap()  # missing: say so before seconds of features are computed for nothing
    done: dict[str, Panel] = {}
    for i, name in enumerate(CHEAPEST_FIRST):
        if progress is not None:
            progress(i, len(CHEAPEST_FIRST), TITLES[name])
        done[name] = panel(result, data, name, method)
        if on_panel is not None:
            on_panel(done[name])
    if progress is not None:
        progress(len(CHEAPEST_FIRST), len(CHEAPEST_FIRST), "done")
    return [done[name] for name in SHOWN]
