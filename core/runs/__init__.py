"""What a finished run means: verdicts and mistakes (``analysis``), statistics, the time estimate made
before a run, export, feature maps and Grad-CAM, the hardest validation images, and the quiz generated from a run's own numbers.
"""

__all__ = [
    "analysis",
    "error_analysis",
    "estimate",
    "export",
    "feature_map",
    "gradcam",
    "held_out",
    "run_quiz",
    "stats",
]
