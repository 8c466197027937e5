"""Command line for the engine: `python -m core.cli --dataset mnist --trainable head --epochs 5`.

For classroom preparation (check a demo before the lesson), scripts and benchmarks. Prints one line
per epoch and a summary; `--json` prints the summary as one JSON object on the last line instead.
"""
from __future__ import annotations

import argparse
import json
import sys

from core import models
from core.data import DATASETS, DataError
from core.engine import ConfigError, TrainConfig, run_training
from core.presets import PRESETS, preset_config
from core.weights import WeightsUnavailable


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m core.cli", description="Run one fine-tune and report it.")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a lab preset (flags below override it)")
    p.add_argument("--model", choices=sorted(models.BACKBONES), default=None)
    p.add_argument("--scratch", action="store_true", help="random initial weights instead of ImageNet")
    p.add_argument("--dataset", choices=sorted(DATASETS), default=None)
    p.add_argument("--per-class", type=int, default=None, help=f"training images per class (default {d.per_class})")
    p.add_argument("--val-per-class", type=int, default=None)
    p.add_argument("--size", type=int, default=None, help=f"input size in pixels (default {d.image_size})")
    p.add_argument("--trainable", default=None,
                   help="comma-separated layer groups to train, or 'all' (default: %s)" % ",".join(d.trainable))
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--augment", action="store_true")
    p.add_argument("--early-stopping", type=int, default=None, help="patience in epochs (0 = off)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda or mps")
    p.add_argument("--bn-train", action="store_true", help="leave frozen groups' BatchNorm in train mode")
    p.add_argument("--no-cache", action="store_true", help="do not cache frozen-prefix features")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    cfg = preset_config(args.preset) if args.preset else TrainConfig()
    overrides = {
        "model": args.model, "dataset": args.dataset, "per_class": args.per_class,
        "val_per_class": args.val_per_class, "image_size": args.size, "lr": args.lr,
        "optimizer": args.optimizer, "weight_decay": args.weight_decay, "epochs": args.epochs,
        "batch_size": args.batch_size, "early_stopping": args.early_stopping, "seed": args.seed,
        "device": args.device,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    if args.scratch:
        cfg.pretrained = False
    if args.augment:
        cfg.augment = True
    if args.bn_train:
        cfg.frozen_bn_eval = False
    if args.no_cache:
        cfg.use_cache = False
    if args.trainable:
        names = models.group_names(cfg.model)
        cfg.trainable = tuple(names) if args.trainable == "all" else tuple(
            s.strip() for s in args.trainable.split(",") if s.strip())
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)

        def show(event: dict) -> None:
            if args.json:
                return
            if event["type"] == "start":
                print(f"device {event['device']}: {event['train_images']} training / {event['val_images']} "
                      f"validation images, {event['trainable_params']:,} of {event['total_params']:,} "
                      f"parameters trainable. {event['cache']}")
                for note in event["notes"]:
                    print(f"note: {note}")
            elif event["type"] == "epoch":
                print(f"epoch {event['epoch']:>3}/{event['epochs']}  train loss {event['train_loss']:.3f} "
                      f"acc {event['train_acc']:.1%}  val loss {event['val_loss']:.3f} acc {event['val_acc']:.1%}"
                      f"  {event['images_per_s']:.0f} img/s  {event['elapsed']:.1f}s")

        result = run_training(cfg, on_event=show)
    except (ConfigError, DataError, WeightsUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = result.summary()
    summary["config"] = cfg.to_dict()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{result.reason}: {result.message} Final validation accuracy "
              f"{summary['val_acc'] if summary['val_acc'] is None else format(summary['val_acc'], '.1%')} "
              f"in {summary['seconds']}s on {summary['device']}.")
    return 0 if result.reason != "diverged" else 3


if __name__ == "__main__":
    sys.exit(main())
