"""Record the three training curves the lessons draw side by side: healthy, overfitting, lr too high.

python -m bench.lesson_curves [NAME ...]   (writes lessons/lesson_curves.json; 2 minutes on a busy
2-core CPU; give curve names, e.g. healthy, to re-record only those and keep the others)

The lesson diagram reads that file, so every point it shows is a real engine run of a lab preset,
never a sketch. tests/test_lesson_diagrams.py checks that each stored config still equals its
preset's config: when a preset changes, run this again.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import torch

from core.engine import configure_threads, run_training
from core.presets import PRESETS

OUT = Path(__file__).resolve().parents[1] / "lessons" / "lesson_curves.json"
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
    epochs = [{k: (round(e[k], 4) if isinstance(e[k], float) else e[k]) for k in KEYS} for e in result.epochs]
    return {"name": name, "preset": preset_id, "run": label, "config": cfg.to_dict(),
            "reason": result.reason, "seconds": result.timings["total_s"], "epochs": epochs}


def main(only: list[str]) -> None:
    configure_threads()
    unknown = set(only) - {c[0] for c in CURVES}
    if unknown:
        raise SystemExit(f"unknown curve(s) {sorted(unknown)}; choose from {[c[0] for c in CURVES]}")
    kept = {c["name"]: c for c in json.loads(OUT.read_text())["curves"]} if only and OUT.is_file() else {}
    curves = [record(*c) if not only or c[0] in only or c[0] not in kept else kept[c[0]] for c in CURVES]
    out = {"made_by": "python -m bench.lesson_curves", "torch": torch.__version__, "machine": platform.machine(),
           "seconds": round(sum(c["seconds"] for c in curves), 1), "curves": curves}  # the runs' own total_s
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    for c in curves:
        last = c["epochs"][-1]
        print(f"{c['name']:12} {len(c['epochs'])} epochs ({c['reason']}, {c['seconds']} s)  "
              f"train {100 * last['train_acc']:.1f}%  val {100 * last['val_acc']:.1f}%")
    print(f"wrote {OUT} in {out['seconds']} s")


if __name__ == "__main__":
    main(sys.argv[1:])
