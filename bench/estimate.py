"""The Lab's run-time estimate against the measured time, for six setups, as on a fresh server.

What a fresh server does, in this one process: measure the device (core.runs.estimate.calibrate, as
core.jobs.warmup does before the workers start), warm up on the Lab's opening config (as each worker
does: data, weights, torch's first calls), then run each setup once with the engine and compare the
wall time of the run with the estimate the Lab showed before it. The target: within 1.5x either way.

    python -m bench.estimate [--epochs-full 8]

Prints one line per setup, the load average before and after (other work on a shared machine slows the
runs, not the estimate measured before them) and a JSON last line. Exit status 0 when every setup is
within the target.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

TARGET = 1.5


def setups(full_epochs: int):
    from core.models.backbones import group_names
    from core.train.config import LAB_DEFAULT

    every = tuple(group_names(LAB_DEFAULT.model))
    return [
        ("default (last two stages + head)", LAB_DEFAULT),
        ("head only", replace(LAB_DEFAULT, trainable=("head",))),
        (f"full fine-tune, {full_epochs} epochs", replace(LAB_DEFAULT, trainable=every, epochs=full_epochs)),
        ("default, augmented (no cache)", replace(LAB_DEFAULT, augment=True)),
        ("default at 96 px", replace(LAB_DEFAULT, image_size=96)),
        ("head only, 40 per class, batch 16", replace(LAB_DEFAULT, trainable=("head",), per_class=40, batch_size=16)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs-full", type=int, default=8, help="epochs of the full fine-tune")
    args = parser.parse_args(argv)
    from core.data.datasets import DATASETS
    from core.runs import estimate
    from core.train import engine
    from core.train.config import LAB_DEFAULT

    load_before = os.getloadavg()
    t = time.perf_counter()
    sp = estimate.calibrate("cpu")
    print(f"calibration: {time.perf_counter() - t:.2f} s: {sp}")
    engine.warm_up(LAB_DEFAULT)
    rows = []
    for name, cfg in setups(args.epochs_full):
        classes = DATASETS[cfg.dataset].num_classes
        est = estimate.estimate_config(cfg, cfg.per_class * classes, cfg.val_per_class * classes, "cpu").seconds
        t = time.perf_counter()
        result = engine.run_training(cfg)
        took = time.perf_counter() - t
        ratio = est / took
        phases = {k: round(v, 2) for k, v in result.timings.items() if k != "total_s"}
        rows.append({"setup": name, "estimate_s": round(est, 2), "measured_s": round(took, 2), "ratio": round(ratio, 2),
                     "phases_s": phases})
        print(f"{name:36s} estimate {est:6.1f} s  measured {took:6.1f} s  estimate/measured {ratio:.2f}  "
              f"({', '.join(f'{k} {v}' for k, v in phases.items())})", flush=True)
    load_after = os.getloadavg()
    ok = all(1 / TARGET <= r["ratio"] <= TARGET for r in rows)
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); "
          f"{'all within' if ok else 'NOT all within'} {TARGET}x")
    print(json.dumps({"rows": rows, "load_before": load_before, "load_after": load_after, "within_target": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
