"""The Lab page's views, one module per part of the page: setup, live run and history, charts, results,
insight (feature maps, Grad-CAM), classroom demos, code for this setup, the run quiz, and the session
and link state they share.
"""

__all__ = ["charts", "code", "demos", "insight", "live", "results", "run_quiz", "setup", "state"]
