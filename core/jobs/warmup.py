"""What a server does once, before it opens its port: the imports and caches every learner's first
page would otherwise pay for, and the training workers' start.

Why: a cold server imported torch (5 s alone on the 2-core machine) inside the first learner's Lab
page, holding the interpreter lock every other learner's page needs. Under the 30-learner load test
(bench/load_test.py) the first Lab pages took 15 s and lesson pages behind them up to 5 s. Paid here,
before anyone can connect, nobody waits for it. serve.py calls this; tests that build pages with
AppTest do not, and get the same objects lazily.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


def _imports() -> None:
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    import core.content.lessons  # noqa: F401
    import core.lab.codegen  # noqa: F401
    import core.runs.analysis  # noqa: F401
    import core.runs.estimate  # noqa: F401
    import core.train.engine  # noqa: F401  (torch and torchvision)


def _cached_data() -> None:
    from core.content import lessons
    from core.models import backbones as models

    lessons.load_lessons()  # read and validated once per process (18 YAML files)
    for name in models.BACKBONES:
        models.group_names(name)


def _insight_imports() -> None:
    # scikit-learn and Captum for the Lab's "Why it works" (3 s here). Imported in the page's
    # background thread instead, they held the interpreter lock just as a run's results appeared.
    from core.runs import feature_map, gradcam

    feature_map.preload()
    gradcam.preload()


def _calibrate() -> None:
    # The run-time estimate's per-image costs, measured on this machine's device before the
    # workers start, so their warm-up does not share the CPU with the measurement.
    from core.runs import estimate
    from core.train.engine import resolve_device

    found = estimate.calibrate(resolve_device("auto").type)
    log.info("Run-time estimate calibrated: %s", found)


def _workers() -> None:
    from core.jobs import manager as jobs

    jobs.server_manager()


# In order. The workers come right after the imports: their own start runs beside what follows.
STEPS = (
    ("imports", _imports),
    ("calibrate", _calibrate),
    ("workers", _workers),
    ("cached_data", _cached_data),
    ("insight_imports", _insight_imports),
)


def warm_server() -> dict[str, float]:
    """Import the engine and the modules the pages use, read the lessons and the layer-group names every page
    reads, and start the job manager's workers (they import torch in their own
    processes, at their own priority, while the server starts, then warm up on the Lab's opening run:
    core.train.engine.warm_up). Returns seconds per step.

    A step that fails is logged and skipped: the page that needs it shows the problem to the learner
    (a Ray cluster that cannot be reached, say) instead of the server refusing to start."""
    seconds: dict[str, float] = {}
    for name, action in STEPS:
        t0 = time.perf_counter()
        try:
            action()
        except Exception:  # noqa: BLE001 - see the docstring: the page reports it
            log.warning("Warm-up step %r failed; the app starts without it", name, exc_info=True)
        seconds[name] = round(time.perf_counter() - t0, 2)
    return seconds
