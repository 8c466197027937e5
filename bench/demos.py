"""Run every classroom demo over several seeds: each claim's effect with its spread, and run times.

    python -m bench.demos                      # seeds 0-2: mean, min and max of every claim
    python -m bench.demos --seeds 6            # seeds 0-5
    python -m bench.demos --only overfit-tiny  # one demo

A claim's margin is visible here: `tests/test_demos.py` asserts the mean over each demo's
`claim_seeds` against `Claim.at_least`, which must sit below the lowest value seen over seeds (seeded
runs agree on one CPU only; different seeds differ far more than different CPUs do). The last line
is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import time
from statistics import mean

from core.lab.presets import DEMO_IDS, PRESETS, run_preset
from core.train.inputs import configure_threads, resolve_device


def run_seeds(pid: str, seeds: list[int]) -> tuple[list[dict], list[float]]:
    per_seed, seconds = [], []
    for seed in seeds:
        t = time.perf_counter()
        per_seed.append(dict(run_preset(pid, seed=seed)))
        seconds.append(time.perf_counter() - t)
    return per_seed, seconds


def claim_rows(pid: str, per_seed: list[dict]) -> list[dict]:
    rows = []
    for claim in PRESETS[pid].claims:
        values = [claim.measure(runs) for runs in per_seed]
        rows.append({"says": claim.says, "unit": claim.unit, "at_least": claim.at_least,
                     "mean": round(mean(values), 3), "min": round(min(values), 3), "max": round(max(values), 3),
                     "values": [round(v, 3) for v in values],
                     "mean_holds": mean(values) >= claim.at_least,
                     "seeds_below": sum(v < claim.at_least for v in values)})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="run seeds 0..N-1 (default 3)")
    ap.add_argument("--only", choices=list(PRESETS), action="append",
                    help="demo id (repeatable); any preset id works (one without claims reports its accuracy)")
    args = ap.parse_args(argv)
    configure_threads()
    seeds = list(range(args.seeds))
    out = {"device": str(resolve_device("auto")), "seeds": seeds, "demos": {}}
    for pid in args.only or DEMO_IDS:
        per_seed, seconds = run_seeds(pid, seeds)
        rows = claim_rows(pid, per_seed)
        out["demos"][pid] = {"seconds_per_seed": [round(s, 1) for s in seconds], "claims": rows,
                             "val_acc": {label: [round(100 * r[label].final.val_acc, 1) for r in per_seed]
                                         for label in per_seed[0]},
                             "val_acc_by_epoch": {label: [[round(100 * e.val_acc, 1) for e in r[label].epochs]
                                                          for r in per_seed] for label in per_seed[0]}}
        print(f"{PRESETS[pid].title}  (per seed: {', '.join(f'{s:.0f} s' for s in seconds)})")
        for label, accs in out["demos"][pid]["val_acc"].items():
            print(f"    {label:30} val acc {min(accs):5.1f}-{max(accs):5.1f}% over {len(seeds)} seeds")
        for row in rows:
            flag = "ok" if row["mean_holds"] else "FAILS"
            print(f"    claim: {row['says']}\n        mean {row['mean']:.3g} (min {row['min']:.3g}, max "
                  f"{row['max']:.3g}) {row['unit']}; threshold {row['at_least']:g}: {flag}, "
                  f"{row['seeds_below']} of {len(seeds)} seeds below it")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
