"""Run every classroom demo and print its measured effect and run time on this machine.

python -m bench.demos   (tests/test_demos.py asserts the same effects with margins)
"""
from __future__ import annotations

import json
import time

from core.engine import configure_threads, resolve_device
from core.presets import DEMO_IDS, PRESETS, run_preset


def main() -> None:
    configure_threads()
    out = {"device": str(resolve_device("auto")), "demos": {}}
    for pid in DEMO_IDS:
        t = time.perf_counter()
        runs = run_preset(pid)
        seconds = round(time.perf_counter() - t, 1)
        rows = {label: {"val_acc": round(100 * r.final["val_acc"], 1), "train_acc": round(100 * r.final["train_acc"], 1),
                        "val_loss": round(r.final["val_loss"], 3), "epochs_run": len(r.epochs), "reason": r.reason,
                        "seconds": r.timings["total_s"]} for label, r in runs}
        out["demos"][pid] = {"seconds": seconds, "runs": rows}
        print(f"{PRESETS[pid].title}  ({seconds} s)")
        for label, row in rows.items():
            print(f"    {label:32} val {row['val_acc']:5.1f}%  train {row['train_acc']:5.1f}%  "
                  f"val loss {row['val_loss']:.3f}  {row['epochs_run']} epochs ({row['reason']}), {row['seconds']} s")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
