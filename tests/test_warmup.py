"""The warm start that serve.py does before the server listens (core.jobs.warmup): torch and the pages'
modules imported, the training workers started (warming up on the Lab's opening config), and a step
that fails only logged."""
import json
import subprocess
import sys
from pathlib import Path

from core.jobs import manager as jobs
from core.jobs import warmup

ROOT = Path(__file__).resolve().parents[1]

# In a fresh interpreter, as the server does it: what is imported, and the pool's workers.
SCRIPT = """
import json, sys
from core.jobs import manager as jobs, warmup
steps = warmup.warm_server()
manager = jobs.server_manager()
alive = [p.is_alive() for p in (w.process for w in manager.backend._all)]
same = manager is jobs.server_manager()
from core.train.config import LAB_DEFAULT
warms_default = manager.backend._warm_up == LAB_DEFAULT
from core.runs import estimate
speeds = estimate.speeds("cpu")
manager.shutdown(wait=True, timeout=30)
print(json.dumps({"steps": steps, "modules": [m for m in ("torch", "torchvision", "sklearn", "captum", "plotly")
                                               if m in sys.modules], "alive": alive, "same": same,
                  "warms_default": warms_default, "speeds_source": speeds.source,
                  "train_img_s": speeds.train_img_s}))
"""


def test_warm_start_imports_the_engine_and_starts_the_workers():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "FTLAB_MAX_JOBS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(report["steps"]) == {"imports", "calibrate", "workers", "cached_data", "insight_imports"}
    # the run-time estimate's speeds are this machine's, measured at start (core.runs.estimate.calibrate)
    assert report["speeds_source"].startswith("measured") and report["train_img_s"] > 0
    assert report["modules"] == ["torch", "torchvision", "sklearn", "captum", "plotly"]
    assert report["alive"] == [True]
    assert report["same"]
    assert report["warms_default"]  # the workers warm up on the run the Lab opens with (core.train.engine.warm_up)


def test_a_failing_step_is_logged_and_the_rest_still_runs(monkeypatch, caplog):
    def unreachable():
        raise ConnectionError("no Ray head at 10.0.0.9:6379")

    monkeypatch.setattr(jobs, "server_manager", unreachable)
    steps = warmup.warm_server()
    assert set(steps) == {"imports", "calibrate", "workers", "cached_data", "insight_imports"}
    assert "Warm-up step 'workers' failed" in caplog.text
