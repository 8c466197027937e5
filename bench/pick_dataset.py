"""Which offline dataset shows the lessons' claims most clearly? Measured, not guessed.

For each offline dataset, with the lab's engine and MobileNetV2 at 64 px, seeded:
  transfer   pretrained minus from-scratch validation accuracy (all layers train, 20 images/class)
  high_lr    lr 1e-3 minus lr 0.1 validation accuracy (all layers, pretrained)
  overfit    train minus validation accuracy with 5 images/class, all layers, 20 epochs
Chooses the largest transfer gap among datasets where the other two effects are clear (>= 30 and
>= 10 points). Prints a table and, last, one JSON line. Run: python -m bench.pick_dataset [--quick]
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from core.lab.presets import MOBILENET_ALL
from core.train.config import TrainConfig
from core.train.engine import run_training

CANDIDATES = ("mnist", "textures", "faces", "digits")


def measure(dataset: str, epochs: int) -> dict:
    base = TrainConfig(dataset=dataset, per_class=20, val_per_class=30, image_size=64, epochs=epochs,
                       trainable=MOBILENET_ALL, seed=0)
    t = time.perf_counter()
    pre = run_training(base).final.val_acc
    scratch = run_training(replace(base, pretrained=False)).final.val_acc
    high = run_training(replace(base, lr=0.1)).final.val_acc
    tiny = run_training(replace(base, per_class=5, epochs=2 * epochs + 4, batch_size=16)).final
    return {"dataset": dataset, "pretrained": pre, "scratch": scratch, "transfer": pre - scratch,
            "high_lr": pre - high, "overfit": tiny.train_acc - tiny.val_acc,
            "seconds": round(time.perf_counter() - t, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs")
    args = ap.parse_args()
    rows = []
    print(f"{'dataset':10} {'pretrained':>10} {'scratch':>8} {'transfer':>9} {'high_lr':>8} {'overfit':>8} {'s':>6}")
    for name in CANDIDATES:
        r = measure(name, 4 if args.quick else 8)
        rows.append(r)
        print(f"{name:10} {r['pretrained']:10.1%} {r['scratch']:8.1%} {r['transfer']:+9.1%} "
              f"{r['high_lr']:+8.1%} {r['overfit']:+8.1%} {r['seconds']:6.1f}", flush=True)
    # The app's central claim is that pretrained features beat learning from scratch on small data,
    # so the default is the dataset with the largest transfer gap among those where the other two
    # lessons also show clearly (a too-high LR costs >= 30 points, tiny data overfits by >= 10).
    clear = [r for r in rows if r["high_lr"] >= 0.30 and r["overfit"] >= 0.10] or rows
    best = max(clear, key=lambda r: r["transfer"])
    print(json.dumps({"chosen": best["dataset"], "rows": rows}))


if __name__ == "__main__":
    main()
