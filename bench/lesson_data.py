"""Measure what the lesson figures show: three training curves (healthy, overfitting, lr too high)
and the BatchNorm statistics of the lab's BatchNorm run.

python -m bench.lesson_data [NAME ...]   (writes lessons/lesson_data.json; 2 minutes on a busy
2-core CPU; give names, e.g. healthy or bn-stats, to re-record only those and keep the others)

The diagrams read that file, so every point they show is a real engine run of a lab preset or a
real forward pass, never a sketch; reading it keeps a page view instant. tests/test_lesson_diagrams.py
checks that each stored config still equals its preset's and that the statistics match fresh ones:
when a preset changes, run this again.
"""
from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from core.lab.lesson_figures import bn_batch_stats
from core.lab.presets import PRESETS
from core.train.engine import run_training
from core.train.events import as_row
from core.train.inputs import configure_threads

OUT = Path(__file__).resolve().parents[1] / "lessons" / "lesson_data.json"
# (curve name, preset id, run label): the preset's own runs, so the Lab reproduces each curve.
CURVES = (
    ("healthy", "head-only", "head only"),
    ("overfitting", "overfit-tiny", "no remedy"),
    ("lr too high", "lr-too-high", "lr 0.1"),
)
KEYS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")


def preset_run(preset_id: str, label: str):
    """The TrainConfig of one labelled run of a preset (KeyError names what exists)."""
    runs = dict(PRESETS[preset_id].runs)
    if label not in runs:
        raise KeyError(f"preset {preset_id!r} has no run {label!r}; it has {list(runs)}")
    return runs[label]


def record(name: str, preset_id: str, label: str) -> dict:
    cfg = preset_run(preset_id, label)
    result = run_training(cfg)
    rows = [as_row(e) for e in result.epochs]
    epochs = [{k: (round(e[k], 4) if isinstance(e[k], float) else e[k]) for k in KEYS} for e in rows]
    return {"name": name, "preset": preset_id, "run": label, "config": cfg.to_dict(),
            "reason": result.reason, "seconds": result.timings["total_s"], "epochs": epochs}


def main(only: list[str]) -> None:
    configure_threads()
    names = [c[0] for c in CURVES] + ["bn-stats"]
    unknown = set(only) - set(names)
    if unknown:
        raise SystemExit(f"unknown name(s) {sorted(unknown)}; choose from {names}")
    old = json.loads(OUT.read_text()) if only and OUT.is_file() else {}
    kept = {c["name"]: c for c in old.get("curves", [])}
    redo = lambda name, have: not only or name in only or not have  # noqa: E731
    curves = [record(*c) if redo(c[0], c[0] in kept) else kept[c[0]] for c in CURVES]
    bn = asdict(bn_batch_stats()) if redo("bn-stats", "bn_stats" in old) else old["bn_stats"]
    out = {"made_by": "python -m bench.lesson_data", "torch": torch.__version__, "machine": platform.machine(),
           "seconds": round(sum(c["seconds"] for c in curves), 1), "curves": curves, "bn_stats": bn}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    for c in curves:
        last = c["epochs"][-1]
        print(f"{c['name']:12} {len(c['epochs'])} epochs ({c['reason']}, {c['seconds']} s)  "
              f"train {100 * last['train_acc']:.1f}%  val {100 * last['val_acc']:.1f}%")
    print(f"bn-stats     {bn['layer']}, running means {[round(m, 3) for m in bn['running_mean']]}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
