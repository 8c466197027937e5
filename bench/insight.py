"""How long the Lab's "Why it works" answers take after a run (issue 14 target: within 2 s).

    python -m bench.insight              the default Lab run (TrainConfig() as the Lab opens), then timings
    python -m bench.insight --epochs 1   the same setup, one epoch (the timings do not depend on epochs)
    python -m bench.insight --tsne       also t-SNE (and --umap: UMAP) for the three maps
    python -m bench.insight --threads 1  torch on one thread (the app uses one per core)

One process, as the server is: the run fills the engine's feature cache, then each answer is timed
from the request to its arrays, as the page asks for it, after the libraries the page imports in the
background when the results appear (their import time is printed on its own). "first" is the learner's first click after
the run (the start backbones are built, the from-scratch backbone's features are computed); "again"
is the same question asked again (the section keeps answers per result; this times the core alone).
The load average is printed before and after: the machine is shared, and torch's two threads slow
down many times over when other processes keep both cores busy.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import torch

from core.runs import feature_map, gradcam
from core.runs.analysis import data_for
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.inputs import configure_threads

TARGET_S = 2.0
VAL_IMAGES = 4  # the page shows four validation images at once (ui.lab.insight.CAM_IMAGES)


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - t0, 3), out


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--tsne", action="store_true")
    ap.add_argument("--umap", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: one per core, as the app)")
    args = ap.parse_args()
    configure_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = replace(TrainConfig(), epochs=args.epochs)
    report = {"config": {"dataset": cfg.dataset, "size": cfg.image_size, "per_class": cfg.per_class,
                         "val_per_class": cfg.val_per_class, "trainable": list(cfg.trainable),
                         "epochs": cfg.epochs}, "threads": torch.get_num_threads(), "load_before": load()}
    print(f"load average before: {report['load_before']}", flush=True)
    report["train_s"], result = _timed(lambda: run_training(cfg))
    data = data_for(result)
    print(f"default run: {report['train_s']} s, {len(data.train_y)} training and {len(data.val_y)} validation "
          f"images", flush=True)
    # The page imports scikit-learn and Captum in the background when the results appear (see
    # ui.lab.insight._preload); timed here on its own, then the answers.
    report["preload_s"], _ = _timed(lambda: (feature_map.preload(), gradcam.preload()))
    print(f"imports (done in the background when the results appear): {report['preload_s']} s", flush=True)
    times = {}
    t0, ready = time.perf_counter(), []  # the page draws each map as it is ready
    times["feature_map_pca_first"], panels = _timed(lambda: feature_map.feature_maps(
        result, data, "pca", on_panel=lambda p: ready.append(round(time.perf_counter() - t0, 3))))
    times["feature_map_pca_1st_drawn"], times["feature_map_pca_2nd_drawn"] = ready[0], ready[1]
    times["feature_map_pca_again"], _ = _timed(lambda: feature_map.feature_maps(result, data, "pca"))
    report["probes"] = {p.name: round(p.probe_acc, 3) for p in panels}
    report["panel_s"] = {p.name: round(p.seconds, 3) for p in panels}
    val4 = data.val_x[:VAL_IMAGES]
    times["gradcam_4_val_first"], out = _timed(lambda: gradcam.compare(result, val4))
    times["gradcam_4_val_again"], _ = _timed(lambda: gradcam.compare(result, val4, out["layer"]))
    times["gradcam_photo"], _ = _timed(lambda: gradcam.compare(result, data.val_x[:1], out["layer"]))
    for method, wanted in (("tsne", args.tsne), ("umap", args.umap)):
        if wanted:
            times[f"feature_map_{method}"], _ = _timed(lambda: feature_map.feature_maps(result, data, method))
    report["seconds"] = times
    report["load_after"] = load()
    for name, s in times.items():
        mark = "" if "tsne" in name or "umap" in name else ("  ok" if s <= TARGET_S else f"  over {TARGET_S} s")
        print(f"{name:24s} {s:7.3f} s{mark}")
    print(f"linear probes: {report['probes']}  (layer for Grad-CAM: {out['layer']})")
    print(f"load average after: {report['load_after']}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
