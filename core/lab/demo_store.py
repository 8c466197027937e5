"""Finished classroom demos kept on disk, so a repeat replays at once instead of training again.

Why: "Run all" for pretrained-vs-scratch took 5 minutes on a 2-core CPU (issue 10); a teacher who
shows it twice, or to a second class, should not wait again. A stored demo is keyed by everything
that decides its numbers: each run's label and TrainConfig, and a version of the training code
(the sources of the engine, models, data and cache modules, and the torch version). Change any of
those and the old record is simply not found. Records live under ``$FTLAB_DATA_DIR/demo_results``
(default ``data/``), one JSON file each, so a server restart keeps them.

``python -m core.lab.demo_store`` (also ``./ftlab prepare-demos``) runs every demo that has no record
yet, before class. The page labels a replay as one, with when and where it was measured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from core import settings
from core.train.config import TrainConfig
from core.train.events import as_row

CODE_FILES = (
    "train/engine.py",
    "train/inputs.py",
    "train/evaluation.py",
    "train/optim.py",
    "train/freezing.py",
    "models/backbones.py",
    "data/datasets.py",
    "cache.py",
    "train/schedules.py",
)  # what decides a run's numbers
MAX_BATCH_POINTS = 400  # the loss chart thins to 300 points anyway; a record stays ~100 kB


@dataclass(frozen=True)
class StoredRun:
    label: str
    config: TrainConfig
    status: str
    message: str
    epochs: list
    batches: list
    start: dict
    seconds: float
    best_epoch: int | None = None


@dataclass(frozen=True)
class StoredDemo:
    preset_id: str
    measured_at: float  # unix time
    device: str
    runs: tuple[StoredRun, ...]

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.measured_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"measured {when} on the {self.device.upper()}, {duration(self.seconds)} of training"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def store_dir() -> Path:
    return settings.current().data_dir / "demo_results"


@lru_cache(maxsize=1)
def code_version() -> str:
    import torch

    h = hashlib.sha256(torch.__version__.encode())
    here = Path(__file__).resolve().parents[1]
    for name in CODE_FILES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def demo_key(runs) -> str:
    """The same runs with the same code give the same key, whatever the preset is called."""
    spec = [[label, cfg.to_dict()] for label, cfg in runs]
    text = json.dumps([spec, code_version()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _path(preset_id: str, runs) -> Path:
    return store_dir() / f"{preset_id}-{demo_key(runs)}.json"


def load(preset_id: str, runs) -> StoredDemo | None:
    """The stored record of these runs, or None (never measured, other code, unreadable file)."""
    path = _path(preset_id, runs)
    try:
        return _read(path, path.stat().st_mtime_ns)
    except OSError:
        return None


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int) -> StoredDemo | None:
    """Parsed once per file version: the Lab asks for every demo on each rerun (~10 ms a parse)."""
    try:
        raw = json.loads(path.read_text())
        return StoredDemo(
            raw["preset_id"],
            float(raw["measured_at"]),
            raw["device"],
            tuple(
                StoredRun(
                    r["label"],
                    TrainConfig.from_dict(r["config"]),
                    r["status"],
                    r["message"],
                    r["epochs"],
                    r["batches"],
                    r["start"],
                    float(r["seconds"]),
                    r.get("best_epoch"),
                )
                for r in raw["runs"]
            ),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _thin(batches: list) -> list:
    step = max(1, len(batches) // MAX_BATCH_POINTS)
    return [{k: b[k] for k in ("epoch", "step", "steps", "loss", "lrs") if k in b} for b in batches[::step]]


def save(preset_id: str, runs: list[StoredRun], device: str) -> Path:
    """Write a record atomically (a temp file, then a rename: a half-written file is never read)."""
    path = _path(preset_id, [(r.label, r.config) for r in runs])
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "preset_id": preset_id,
        "measured_at": time.time(),
        "device": device,
        "code": code_version(),
        "runs": [
            {
                "label": r.label,
                "config": r.config.to_dict(),
                "status": r.status,
                "message": r.message,
                "epochs": r.epochs,
                "batches": _thin(r.batches),
                "start": r.start,
                "seconds": round(r.seconds, 2),
                "best_epoch": r.best_epoch,
            }
            for r in runs
        ],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh, default=str)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600: a server run by another user must still read it
    os.replace(tmp, path)
    return path


COMPLETE = ("finished", "early_stopped")  # a stopped, diverged or failed demo is not worth replaying


def storable(statuses) -> bool:
    return all(s in COMPLETE for s in statuses)


def from_result(label: str, result) -> StoredRun:
    start = {
        "classes": list(result.class_names),
        "device": result.device,
        "cache": result.cache,
        "val_images": len(result.val_true),
    }  # the replay's 95% intervals need the validation size
    epochs, batches = [as_row(e) for e in result.epochs], [as_row(b) for b in result.batches]
    return StoredRun(
        label,
        result.config,
        result.reason,
        result.message,
        epochs,
        batches,
        start,
        result.timings.get("total_s", 0.0),
        result.best_epoch,
    )


def prepare(preset_ids=None, force: bool = False, out=sys.stdout) -> int:
    """Run and store every demo (or the given ones) that has no record for this code; returns how many ran."""
    from core.lab.presets import DEMO_IDS, PRESETS
    from core.train.engine import run_training

    ran = 0
    for pid in preset_ids or DEMO_IDS:
        runs = PRESETS[pid].runs
        stored = None if force else load(pid, runs)
        if stored is not None:
            print(f"{pid}: already stored ({stored.describe()})", file=out)
            continue
        print(f"{pid}: running {len(runs)} variant(s)…", file=out, flush=True)
        results = [(label, run_training(cfg)) for label, cfg in runs]
        done = [from_result(label, r) for label, r in results]
        if not storable(r.status for r in done):
            print(f"{pid}: not stored, a run ended as {[r.status for r in done]}", file=out)
            continue
        path = save(pid, done, results[0][1].device)
        summary = ", ".join(f"{r.label} {r.epochs[-1]['val_acc']:.1%}" for r in done)
        print(f"{pid}: stored in {duration(sum(r.seconds for r in done))} ({summary}) -> {path}", file=out)
        ran += 1
    return ran


def main(argv=None) -> int:
    from core.lab.presets import DEMO_IDS

    p = argparse.ArgumentParser(
        prog="python -m core.lab.demo_store",
        description="Pre-compute every classroom demo, so the Lab replays it at once.",
    )
    p.add_argument("--only", nargs="*", choices=DEMO_IDS, help="just these demos")
    p.add_argument("--force", action="store_true", help="measure again even when a record exists")
    args = p.parse_args(argv)
    prepare(args.only, args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
