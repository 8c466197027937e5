"""What does ImageNet transfer do on solar-cell defects (ELPV)? Measured with the Lab's engine.

The reference pages' second use case is product inspection, whose images look nothing like
ImageNet photos. Each configuration is one Lab run (MobileNetV2, the Lab's default sizes: 20
training and 50 validation images per class, 64 px, 8 epochs, Adam 1e-3) over several seeds;
validation accuracy is printed with its mean, min and max. Needs `pip install elpv-dataset`.

    python -m bench.elpv_transfer             # seeds 0-2
    python -m bench.elpv_transfer --seeds 1 --per-class 100 --only 0 1 4   # rows by number

The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from statistics import mean

from core.lab.presets import MOBILENET_ALL
from core.train.config import TrainConfig
from core.train.engine import run_training
from core.train.inputs import configure_threads

CONFIGS = {  # label -> (pretrained, trainable groups)
    "pretrained, head only": (True, ("head",)),
    "pretrained, last stage + head": (True, ("stage6", "head")),
    "pretrained, all layers": (True, MOBILENET_ALL),
    "from scratch, last stage + head": (False, ("stage6", "head")),
    "from scratch, all layers": (False, MOBILENET_ALL),
}


def measure(base: TrainConfig, seeds: list[int], labels: list[str]) -> list[dict]:
    rows = []
    for label in labels:
        pretrained, trainable = CONFIGS[label]
        accs, t = [], time.perf_counter()
        for seed in seeds:
            cfg = replace(base, pretrained=pretrained, trainable=trainable, seed=seed)
            accs.append(run_training(cfg).final["val_acc"])
        rows.append({"config": label, "mean": round(mean(accs), 4), "min": min(accs), "max": max(accs),
                     "values": accs, "seconds": round(time.perf_counter() - t, 1)})
        print(f"{label:34} {mean(accs):6.1%} (min {min(accs):.1%}, max {max(accs):.1%}) "
              f"{rows[-1]['seconds']:6.1f} s", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--only", type=int, nargs="+", help="configurations by number, 0-4 (default: all)")
    args = ap.parse_args()
    labels = [list(CONFIGS)[i] for i in args.only] if args.only else list(CONFIGS)
    configure_threads()
    base = TrainConfig(dataset="elpv", per_class=args.per_class, image_size=args.size, epochs=args.epochs)
    rows = measure(base, list(range(args.seeds)), labels)
    print(json.dumps({"dataset": "elpv", "per_class": args.per_class, "val_per_class": base.val_per_class,
                      "size": args.size, "epochs": args.epochs, "seeds": args.seeds, "rows": rows}))


if __name__ == "__main__":
    main()
