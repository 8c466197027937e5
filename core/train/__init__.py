"""One fine-tune: the ``TrainConfig`` every setting is declared in (``config``), the loop (``engine``)
and the parts it calls (inputs, evaluation, optim, schedules, freezing), the LR range test, and the typed
events a run reports. It knows nothing of jobs, pages or learners.
"""

__all__ = [
    "config",
    "config_text",
    "engine",
    "evaluation",
    "events",
    "freezing",
    "inputs",
    "lr_finder",
    "optim",
    "schedules",
]
