"""Speed benchmark: the engine against a tutorial-style loop, in one process, interleaved.

    python -m bench.speed              full run (several minutes on a 2-core CPU)
    python -m bench.speed --quick      smoke test: fewer configs, fewer epochs, small scaling sizes
    python -m bench.speed --json-only  only the final JSON line

Per configuration (MNIST, 500 training images, 64 px, 5 epochs, Adam, batch 32, augmentation off):
engine cold (every cache cleared: dataset loading, decoding and cache building count), baseline
(bench/baseline.py, its own data preparation included) and engine warm (the same run with a new
learning rate: prepared data and cached features are reused). Times run from the request to an
evaluated model. Then the default lab run (TrainConfig() as the Lab opens it), the time to its first
training point, scaling of engine time with the number of training images, peak memory and device.
The last line of output is one JSON object (see bench/README.md).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from bench.baseline import run_baseline
from core.cache import FEATURES
from core.data import datasets as data_mod
from core.data.datasets import RawDataset, load_raw, prepare
from core.models import backbones as models
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.events import BatchEnded, Event
from core.train.inputs import configure_threads, resolve_device

PARTIAL = ("stage5", "stage6", "head")


def clear_caches() -> None:
    """Forget everything a previous run left: raw datasets, prepared tensors, cached features."""
    FEATURES.clear()
    data_mod.PREPARED_CACHE.clear()
    with data_mod._raw_lock:
        data_mod._raw_cache.clear()
    gc.collect()


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024  # macOS reports bytes


def job_peak_rss_mb(device: str) -> float:
    """Peak RSS of ONE job: the default lab demo run alone in a fresh child process.

    The benchmark process itself holds the baseline, several datasets and caches at once, so its own
    peak says little about what one learner's run costs a server. The child reports its own high-water
    mark (VmHWM): RUSAGE_CHILDREN would count the parent's pages copied at fork time.
    """
    import subprocess

    code = ("import resource, sys\n"
            "from core.cli import main\n"
            f"main(['--json', '--device', {device!r}])\n"
            "try:\n"
            "    kb = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
            "except OSError:\n"
            "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == 'darwin' else 1)\n"
            "print('PEAK_KB', kb)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
    return int(out.rsplit("PEAK_KB", 1)[1].split()[0]) / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def warm_up(cfg: TrainConfig) -> None:
    """One untimed forward/backward, so one-time library start-up (kernel selection, allocator,
    weight file in the page cache) lands on neither contestant."""
    device = resolve_device(cfg.device)
    model = models.build_model(cfg.model, 10, cfg.pretrained, seed=0).to(device)
    x = torch.randn(8, 3, cfg.image_size, cfg.image_size, device=device)
    model(x).sum().backward()
    model.to(memory_format=torch.channels_last)
    model(x.contiguous(memory_format=torch.channels_last)).sum().backward()
    with torch.inference_mode():
        model.eval()(x)
    _sync(device)


def engine_run(cfg: TrainConfig, data=None) -> dict:
    """One engine run, timed from the request; records when the first training point arrived."""
    first: list[float] = []
    t0 = time.perf_counter()

    def on_event(e: Event) -> None:
        if isinstance(e, BatchEnded) and not first:
            first.append(time.perf_counter() - t0)

    r = run_training(cfg, on_event=on_event, data=data)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "first_point_s": first[0] if first else None,
            "val_acc": r.final and r.final.val_acc, "timings": r.timings, "device": r.device,
            "cache": r.cache}


def baseline_run(cfg: TrainConfig) -> dict:
    with data_mod._raw_lock:
        data_mod._raw_cache.clear()  # the baseline loads its source images too
    gc.collect()
    t0 = time.perf_counter()
    b = run_baseline(cfg)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "val_acc": b.val_acc, "timings": b.timings}


def _best_run(runs: list[dict]) -> dict:
    """The fastest run (its own accuracy and breakdown, not a mix of runs): on a shared machine the
    slower repetitions measure other jobs' load, not the code."""
    return min(runs, key=lambda r: r["seconds"])


def compare(name: str, cfg: TrainConfig, repeat: int, log) -> dict:
    """Engine cold, baseline, engine warm, interleaved `repeat` times; the best of each reported."""
    n_images = cfg.per_class * 10 * cfg.epochs  # nominal training images over the run (MNIST: 10 classes)
    colds, warms, bases = [], [], []
    for _ in range(repeat):
        clear_caches()
        colds.append(engine_run(cfg))
        bases.append(baseline_run(cfg))
        warms.append(engine_run(replace(cfg, lr=cfg.lr * 0.5)))
    cold, warm, base = _best_run(colds), _best_run(warms), _best_run(bases)
    row = {
        "config": name, "trainable": list(cfg.trainable), "train_images": cfg.per_class * 10,
        "epochs": cfg.epochs,
        "engine_cold_s": round(cold["seconds"], 3), "engine_warm_s": round(warm["seconds"], 3),
        "baseline_s": round(base["seconds"], 3),
        "engine_cold_img_s": round(n_images / cold["seconds"], 1),
        "engine_warm_img_s": round(n_images / warm["seconds"], 1),
        "baseline_img_s": round(n_images / base["seconds"], 1),
        "speedup_cold": round(base["seconds"] / cold["seconds"], 2),
        "speedup_warm": round(base["seconds"] / warm["seconds"], 2),
        "engine_val_acc": round(cold["val_acc"], 4), "engine_warm_val_acc": round(warm["val_acc"], 4),
        "baseline_val_acc": round(base["val_acc"], 4),
        "acc_gap_points": round(abs(cold["val_acc"] - base["val_acc"]) * 100, 2),
        "engine_cold_timings": cold["timings"], "engine_warm_timings": warm["timings"],
        "baseline_timings": base["timings"], "first_point_s": cold["first_point_s"],
        "all_seconds": {"cold": [round(r["seconds"], 2) for r in colds],
                        "warm": [round(r["seconds"], 2) for r in warms],
                        "baseline": [round(r["seconds"], 2) for r in bases]},
    }
    log(f"  {name}: engine cold {row['engine_cold_s']:.2f} s, warm {row['engine_warm_s']:.2f} s, "
        f"baseline {row['baseline_s']:.2f} s -> {row['speedup_cold']}x cold, {row['speedup_warm']}x warm; "
        f"val acc {row['engine_val_acc']:.3f} vs {row['baseline_val_acc']:.3f}")
    return row


# ---- scaling --------------------------------------------------------------------------------------

def mnist_with_flips() -> RawDataset:
    """MNIST (5,000 images) three times: as is, mirrored left-right and mirrored top-bottom.

    15,000 images, 1,500 per class, so 10,000 training images (1,000 per class) fit next to the 50
    validation images per class. Mirrored digits are different pixels but the same labels: enough for
    timing, which is all the scaling run is for.
    """
    base = load_raw("mnist")
    imgs = np.stack([base.read(i) for i in range(len(base))])
    allx = np.ascontiguousarray(np.concatenate([imgs, imgs[:, :, ::-1], imgs[:, ::-1, :]]))
    labels = np.concatenate([base.labels] * 3)
    return RawDataset("mnist-flip3", list(base.class_names), labels, lambda i: allx[i])


def scaling(sizes: list[int], epochs: int, device: str, log) -> dict:
    """Engine cold time (data prep and caching included) against the number of training images."""
    out: dict[str, dict] = {}
    for name, trainable in (("head_only", ("head",)), ("partial", PARTIAL)):  # cold engine runs
        rows = []
        for n in sizes:
            clear_caches()
            cfg = TrainConfig(dataset="mnist", per_class=n // 10, image_size=64, epochs=epochs,
                              trainable=trainable, device=device)
            t0 = time.perf_counter()
            raw = mnist_with_flips()
            data = prepare(raw, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
            run = engine_run(cfg, data=data)
            seconds = time.perf_counter() - t0
            rows.append({"train_images": len(data.train_y), "seconds": round(seconds, 3),
                         "ms_per_image": round(1000 * seconds / len(data.train_y), 3),
                         "timings": run["timings"]})
            log(f"  scaling {name} {len(data.train_y):>6} images: {seconds:7.2f} s "
                f"({rows[-1]['ms_per_image']:.2f} ms/image)")
        res = {"points": rows}
        if len(rows) >= 2:
            # per-image cost at the largest size over that at the next size (1.0 = perfectly linear;
            # below 1 the fixed costs are still being amortised; above 1 the engine slows as data grows)
            res["per_image_ratio"] = round(rows[-1]["ms_per_image"] / rows[-2]["ms_per_image"], 3)
        if len(rows) >= 3:
            # marginal cost per extra image, largest interval over the previous one
            s = [(rows[i + 1]["seconds"] - rows[i]["seconds"]) / (rows[i + 1]["train_images"] - rows[i]["train_images"])
                 for i in range(len(rows) - 1)]
            res["marginal_ratio"] = round(s[-1] / s[-2], 3) if s[-2] > 0 else None
        ratio = res.get("marginal_ratio") or res.get("per_image_ratio")
        res["linear"] = bool(ratio is not None and ratio <= 1.3)
        out[name] = res
    return out


# ---- main -----------------------------------------------------------------------------------------

def _fmt_timings(t: dict) -> str:
    keys = [k for k in ("data_s", "model_s", "cache_s", "train_s", "eval_s") if k in t]
    return " ".join(f"{k[:-2]} {t[k]:.2f}" for k in keys)


def print_table(rows: list[dict], log) -> None:
    log("")
    log(f"{'config':<14}{'engine cold':>12}{'warm':>8}{'baseline':>10}{'x cold':>8}{'x warm':>8}"
        f"{'img/s cold':>11}{'img/s base':>11}{'acc eng':>9}{'acc base':>9}")
    for r in rows:
        log(f"{r['config']:<14}{r['engine_cold_s']:>11.2f}s{r['engine_warm_s']:>7.2f}s{r['baseline_s']:>9.2f}s"
            f"{r['speedup_cold']:>8.2f}{r['speedup_warm']:>8.2f}{r['engine_cold_img_s']:>11.0f}"
            f"{r['baseline_img_s']:>11.0f}{r['engine_val_acc']:>9.3f}{r['baseline_val_acc']:>9.3f}")
    log("phase breakdown (seconds):")
    for r in rows:
        log(f"  {r['config']:<13} engine cold: {_fmt_timings(r['engine_cold_timings'])} | "
            f"warm: {_fmt_timings(r['engine_warm_timings'])} | baseline: {_fmt_timings(r['baseline_timings'])}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke test: 2 epochs, 200 images, fewer configs")
    p.add_argument("--json-only", action="store_true", help="print only the final JSON line")
    p.add_argument("--device", default="auto", help="auto (default: a GPU when there is one), cpu, cuda, mps")
    p.add_argument("--repeat", type=int, default=1, help="interleaved repetitions per config (best of each)")
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling runs")
    p.add_argument("--scaling-epochs", type=int, default=2,
                   help="epochs of each scaling run (default 2: enough to show both the once-per-image "
                        "cache cost and the per-epoch training cost)")
    args = p.parse_args(argv)
    log = (lambda *a: None) if args.json_only else (lambda *a: print(*a, flush=True))

    configure_threads()
    device = resolve_device(args.device)
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    epochs, per_class = (2, 20) if args.quick else (5, 50)
    base_cfg = TrainConfig(dataset="mnist", per_class=per_class, image_size=64, epochs=epochs, device=args.device)
    all_groups = tuple(models.group_names(base_cfg.model))
    configs = [("head_only", replace(base_cfg, trainable=("head",))),
               ("partial", replace(base_cfg, trainable=PARTIAL)),
               ("full", replace(base_cfg, trainable=all_groups))]
    if args.quick:
        configs = configs[:2]
    demo_cfg = replace(TrainConfig(), device=args.device)  # the Lab's opening run, as a learner starts it
    if args.quick:
        demo_cfg = replace(demo_cfg, epochs=2)

    log(f"Fine-Tuning Lab speed benchmark on {dev_name} ({torch.get_num_threads()} threads), "
        f"torch {torch.__version__}")
    log(f"configs: MNIST, {per_class * 10} training images, 64 px, {epochs} epochs, batch 32, Adam; "
        f"default demo: {demo_cfg.per_class * 10} images, {demo_cfg.epochs} epochs, trainable "
        f"{','.join(demo_cfg.trainable)}")
    t_all = time.perf_counter()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    warm_up(base_cfg)

    rows = [compare(name, cfg, args.repeat, log) for name, cfg in configs]
    demo = compare("default_demo", demo_cfg, args.repeat, log)
    rows.append(demo)
    print_table(rows, log)

    scale = {}
    if not args.no_scaling:
        log("")
        sizes = [100, 1000] if args.quick else [100, 1000, 10000]
        scale = scaling(sizes, 1 if args.quick else args.scaling_epochs, args.device, log)

    by = {r["config"]: r for r in rows}
    result = {
        "head_only_speedup_cold": by["head_only"]["speedup_cold"],
        "head_only_speedup_warm": by["head_only"]["speedup_warm"],
        "partial_speedup": by["partial"]["speedup_cold"],
        "partial_speedup_warm": by["partial"]["speedup_warm"],
        "full_speedup": by["full"]["speedup_cold"] if "full" in by else None,
        "full_speedup_warm": by["full"]["speedup_warm"] if "full" in by else None,
        "default_demo_seconds": demo["engine_cold_s"],
        "default_demo_warm_seconds": demo["engine_warm_s"],
        "default_demo_speedup": demo["speedup_cold"],
        "first_point_seconds": round(demo["first_point_s"], 3) if demo["first_point_s"] is not None else None,
        "peak_rss_mb": round(job_peak_rss_mb(args.device), 1),  # one job (the default demo), own process
        "bench_process_peak_rss_mb": round(peak_rss_mb(), 1),
        "accuracy_gap_points": max(r["acc_gap_points"] for r in rows),
        # signed: engine minus baseline per config (positive: the engine is more accurate)
        "accuracy_engine_minus_baseline_points": {
            r["config"]: round((r["engine_val_acc"] - r["baseline_val_acc"]) * 100, 2) for r in rows},
        "device": dev_name,
        "threads": torch.get_num_threads(),
        "quick": args.quick,
        "load_avg_1m": [load_start, os.getloadavg()[0] if hasattr(os, "getloadavg") else None],
        "repeat": args.repeat,
        "configs": {r["config"]: {k: r[k] for k in (
            "train_images", "epochs", "engine_cold_s", "engine_warm_s", "baseline_s", "engine_cold_img_s",
            "engine_warm_img_s", "baseline_img_s", "speedup_cold", "speedup_warm", "engine_val_acc",
            "baseline_val_acc", "engine_cold_timings", "baseline_timings")} for r in rows},
        "scaling": {name: {"seconds_by_images": {str(pt["train_images"]): pt["seconds"] for pt in s["points"]},
                           "ms_per_image": {str(pt["train_images"]): pt["ms_per_image"] for pt in s["points"]},
                           "per_image_ratio": s.get("per_image_ratio"), "marginal_ratio": s.get("marginal_ratio"),
                           "linear": s["linear"]} for name, s in scale.items()},
        "scaling_linear": all(s["linear"] for s in scale.values()) if scale else None,
        "bench_seconds": round(time.perf_counter() - t_all, 1),
    }
    log("")
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
