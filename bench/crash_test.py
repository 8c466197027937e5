"""Crash test of the progress database: kill -9 a writer in the middle of its writes.

A child process writes quiz answers through ProgressStore in a loop and prints each row's id right
after its transaction committed. The parent reads those ids, kills the child with SIGKILL at a
random moment, reopens the database and checks that (1) ``PRAGMA integrity_check`` says ok and
(2) every id the child reported as committed is in the file. Several rounds run on one file, so
later rounds also start from a database whose last writer died mid-transaction.

    python -m bench.crash_test [--rounds 5] [--seconds 3]

The last line is a JSON summary. tests/test_bad_crash.py runs a 2-second version.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(db: str, learner: str) -> None:
    """Write forever; print the id of each committed row (flushed, so the parent sees it)."""
    sys.path.insert(0, str(ROOT))
    from core.classroom.progress import ProgressStore

    store = ProgressStore(db)
    i = 0
    print("ready", flush=True)
    while True:
        i += 1
        qid = f"{learner}-q{i}"
        store.record_quiz_answer(learner, qid, "an answer " * (1 + i % 20), i % 3 == 0)
        # committed: the id is what we can look for afterwards
        print(qid, flush=True)


def one_round(db: str, seconds: float, learner: str, rng: random.Random) -> dict:
    # The writer stands for a whole class, far past one learner's hourly cap on kept answers.
    env = {**os.environ, "FTLAB_MAX_ANSWERS_PER_HOUR": str(10**9)}
    proc = subprocess.Popen([sys.executable, "-m", "bench.crash_test", "--child", db, learner], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    reported: list[str] = []

    def reader() -> None:
        for line in proc.stdout:
            reported.append(line.strip())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.monotonic() + 60  # the child imports core first; bounded wait for "ready"
    while "ready" not in reported and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if "ready" not in reported:
        proc.kill()
        raise RuntimeError(f"the writer did not start: {proc.stderr.read()[-2000:]}")
    time.sleep(seconds * rng.uniform(0.6, 1.0))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    t.join(10)
    committed = [r for r in reported if r and r != "ready"]
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        present = {r[0] for r in conn.execute("SELECT question_id FROM quiz_answers WHERE learner = ?",
                                              (learner,))}
    finally:
        conn.close()
    missing = [c for c in committed if c not in present]
    return {"learner": learner, "committed_reported": len(committed), "rows_in_db": len(present),
            "missing": len(missing), "missing_examples": missing[:5], "integrity": integrity,
            "killed_by": -proc.returncode if proc.returncode and proc.returncode < 0 else proc.returncode}


def run(rounds: int = 3, seconds: float = 2.0, db: str | None = None, seed: int = 0) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="ftlab-crash-") as tmp:
        path = db or os.path.join(tmp, "progress.sqlite3")
        results = [one_round(path, seconds, f"crash{r}", rng) for r in range(rounds)]
    ok = all(r["integrity"] == "ok" and r["missing"] == 0 and r["committed_reported"] > 0 for r in results)
    return {"ok": ok, "rounds": rounds, "seconds_per_round": seconds,
            "committed_total": sum(r["committed_reported"] for r in results),
            "missing_total": sum(r["missing"] for r in results), "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--child", nargs=2, metavar=("DB", "LEARNER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    summary = run(args.rounds, args.seconds)
    for r in summary["results"]:
        print(f"{r['learner']}: {r['committed_reported']} commits reported before kill -9, "
              f"{r['missing']} missing, integrity {r['integrity']}")
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
