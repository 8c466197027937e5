"""What moving training out of the web server's process costs and saves (issue 13, items 1 and 2).

For one config, each way of running a job (a thread of this process as before, a worker process,
optionally a Ray actor) is warmed with one run, then timed over `--repeats` runs through the real
JobManager. Printed per way: median wall time from submit to ended, the CPU time *this* process (the
"server") spent per job, and that CPU as a share of one core while the job ran. Also the bytes and
time to pickle what crosses the boundary: a RunResult with its model, and a PreparedData upload.

    python -m bench.job_boundary                   # thread vs worker process, the default Lab run
    python -m bench.job_boundary --ray 127.0.0.1:6379   # and on a running Ray head
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import time

from core.data.datasets import prepare
from core.jobs.manager import JobManager
from core.jobs.protocol import dumps
from core.jobs.workers import InProcess, ProcessPool
from core.train.config import TrainConfig
from core.train.engine import run_training

DEFAULT = TrainConfig(dataset="faces", per_class=20, val_per_class=20, image_size=64, epochs=3)
TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=10, epochs=1,
                   trainable=("head",), batch_size=4)


def time_jobs(backend, cfg: TrainConfig, repeats: int) -> dict:
    jm = JobManager(max_running=1, backend=backend)
    try:
        warm = jm.submit(cfg, owner="warm")  # pays the worker's start and torch's import
        assert warm.wait(600) and warm.snapshot().status == "finished", warm.snapshot().error
        walls, cpus, engine = [], [], []
        for i in range(repeats):
            cpu0, t0 = time.process_time(), time.perf_counter()
            job = jm.submit(cfg, owner=f"b{i}")
            assert job.wait(600) and job.snapshot().status == "finished", job.snapshot().error
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - cpu0)
            engine.append(job.snapshot().result.timings["total_s"])
        return {"wall_s": statistics.median(walls), "server_cpu_s": statistics.median(cpus),
                "engine_s": statistics.median(engine)}
    finally:
        jm.shutdown(wait=True, timeout=60)


def pickled(obj) -> tuple[float, float]:
    """(MB, ms) to pickle and unpickle `obj` once, as the worker pipe does."""
    t = time.perf_counter()
    blob = dumps(obj)
    pickle.loads(blob)
    return len(blob) / 1e6, (time.perf_counter() - t) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="a 1-epoch, 8-image run: shows the fixed cost per job")
    ap.add_argument("--ray", default="", help="address of a running Ray head to time as well")
    args = ap.parse_args()
    cfg = TINY if args.tiny else DEFAULT
    ways = {"thread in the server (before)": lambda: InProcess(run_training),
            "worker process (after)": lambda: ProcessPool(1)}
    if args.ray:
        from core.jobs.ray_pool import RayPool

        ways["Ray actor"] = lambda: RayPool(args.ray, 1)
    print(f"config: {cfg.dataset}, {cfg.image_size} px, {cfg.per_class}/class, {cfg.epochs} epochs, "
          f"groups {','.join(cfg.trainable)}; median of {args.repeats} after one warm-up run")
    base = None
    for name, make in ways.items():
        r = time_jobs(make(), cfg, args.repeats)
        base = base or r["wall_s"]
        print(f"{name:32s} wall {r['wall_s']:6.2f} s ({r['wall_s'] - base:+.2f} s)  engine {r['engine_s']:6.2f} s  "
              f"server CPU {r['server_cpu_s']:6.2f} s = {r['server_cpu_s'] / r['wall_s']:.0%} of a core")
    result = run_training(cfg)
    data = prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    for what, obj in (("RunResult with its model", result), ("PreparedData (an upload)", data)):
        mb, ms = pickled(obj)
        print(f"pickle + unpickle {what:26s} {mb:6.1f} MB  {ms:6.1f} ms")


if __name__ == "__main__":
    main()
